"""The control, a field record type: an inspection of an installation (findings, photos,
verdict), in the field workflow planned → assigned → in progress → submitted → validated.

Updated by the inspector it is assigned to on its version; corrected once transmitted by a new
control that supersedes it (op "supersede"); published as the `spanc_controles` layer (its
installation's row shows its verdict); its photos count once received for it (fieldsync.photos).

Lock order: its installation first (records.installation), then the control rows by id, then the
sync bookkeeping rows (SyncChange), and the change-log advisory lock last (fieldsync.history). A
control's writer needs its installation anyway: the deferred foreign key of a control updated
twice in one transaction takes a KEY SHARE lock on the installation at COMMIT, and the published
installation row is rewritten with the control's verdict; taking the installation first makes two
writers of the same installation queue instead of deadlocking.

During a push, a chunk's controls, findings and photos are written at its end (write_pending),
one statement per table (fieldsync.batching).
"""
import re

from django.db import connection
from django.db.models import CharField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User

from .. import chunk, publication, scope, serializers as fields, verdict
from ..models import (
    Campaign, ChecklistItem, Control, ControlKind, ControlPhoto, ControlStatus, Finding,
    FindingResult, PhotoBlob, SyncChange,
)
from ..retry import Replay
from ..serializers import (
    EARLIEST_DATE, MAX_FINDINGS, MAX_PHOTOS, PHOTO_TYPES, SALE_DATE_MAX_YEARS_AHEAD, SHA256_RE,
    StrictSerializer, Unsure, max_photo_bytes,
)
from ..verdict import add_years
from . import installation as installation_type
from .base import Conflict, RecordType, Rejected


# --- wire schema ---------------------------------------------------------------------------------
class FindingSerializer(StrictSerializer):
    item = serializers.SlugField(max_length=50)
    result = serializers.ChoiceField(choices=FindingResult.choices)
    comment = serializers.CharField(max_length=500, allow_blank=True, required=False)


class PhotoRefSerializer(fields.PhotoRefSerializer):
    taken_at = serializers.DateTimeField(required=False, allow_null=True)


class ControlDataSerializer(StrictSerializer):
    installation = serializers.UUIDField(required=False)
    kind = serializers.SlugField(max_length=50, required=False)
    status = serializers.ChoiceField(choices=[("in_progress", _("en cours")),
                                              ("submitted", _("transmis"))], required=False)
    visit_date = serializers.DateField(required=False, allow_null=True)
    sale_date = serializers.DateField(required=False, allow_null=True)
    findings = FindingSerializer(many=True, required=False, max_length=MAX_FINDINGS)
    comments = serializers.CharField(max_length=10000, allow_blank=True, required=False)
    photos = PhotoRefSerializer(many=True, required=False, max_length=MAX_PHOTOS)
    supersedes = serializers.UUIDField(required=False)

    def validate_visit_date(self, value):
        if value and value > timezone.localdate():
            raise serializers.ValidationError(_t("La date de visite est dans le futur."))
        if value and value < EARLIEST_DATE:
            raise serializers.ValidationError(_t("La date de visite est trop ancienne."))
        return value

    def validate_sale_date(self, value):
        if value and value < EARLIEST_DATE:
            raise serializers.ValidationError(_t("La date de la vente est trop ancienne."))
        if value and value > add_years(timezone.localdate(), SALE_DATE_MAX_YEARS_AHEAD):
            raise serializers.ValidationError(
                _t("La date de la vente est à plus de %(years)d ans.")
                % {"years": SALE_DATE_MAX_YEARS_AHEAD})
        return value

    def validate_photos(self, value):
        seen = set()
        for photo in value:
            if photo["sha256"] in seen:
                raise serializers.ValidationError(
                    _t("La photo %(sha)s… figure deux fois dans le contrôle.")
                    % {"sha": photo["sha256"][:12]})
            seen.add(photo["sha256"])
        return value

    def validate_findings(self, value):
        items = [finding["item"] for finding in value]
        if len(items) != len(set(items)):
            raise serializers.ValidationError(_t("Un point de contrôle figure deux fois."))
        return value


# The one-pass validation of a control's data (fieldsync.validation): exactly what
# ControlDataSerializer gives, or Unsure.
CONTROL_KEYS = frozenset(ControlDataSerializer._declared_fields)
FINDING_KEYS = frozenset(FindingSerializer._declared_fields)
PHOTO_KEYS = frozenset(PhotoRefSerializer._declared_fields)
RESULTS = frozenset(FindingResult.values)
CONTROL_STATUSES = frozenset({"in_progress", "submitted"})
_TAKEN_AT = serializers.DateTimeField(required=False, allow_null=True)


def _fast_findings(value):
    if type(value) is not list or len(value) > MAX_FINDINGS:
        raise Unsure
    out, seen = [], set()
    for finding in value:
        if type(finding) is not dict or not finding.keys() <= FINDING_KEYS:
            raise Unsure
        item = fields.slug(finding.get("item"))
        clean = {"item": item, "result": fields.choice(finding.get("result"), RESULTS)}
        if "comment" in finding:
            clean["comment"] = fields.text(finding["comment"], 500, allow_blank=True)
        if item in seen:
            raise Unsure
        seen.add(item)
        out.append(clean)
    return out


def _fast_photos(value):
    if type(value) is not list or len(value) > MAX_PHOTOS:
        raise Unsure
    out, seen, largest = [], set(), max_photo_bytes()
    for photo in value:
        if type(photo) is not dict or not photo.keys() <= PHOTO_KEYS:
            raise Unsure
        sha = fields.text(photo.get("sha256"), 64).lower()
        size = photo.get("size")
        if not SHA256_RE.match(sha) or sha in seen or type(size) is not int \
                or not 1 <= size <= largest:
            raise Unsure
        seen.add(sha)
        clean = {"sha256": sha, "size": size}
        if "content_type" in photo:
            clean["content_type"] = fields.choice(photo["content_type"], PHOTO_TYPES)
        if "caption" in photo:
            clean["caption"] = fields.text(photo["caption"], 300, allow_blank=True)
        if "taken_at" in photo:
            try:
                clean["taken_at"] = _TAKEN_AT.run_validation(photo["taken_at"])
            except serializers.ValidationError:
                raise Unsure from None
        out.append(clean)
    return out


def fast_data(data):
    if not data.keys() <= CONTROL_KEYS:
        raise Unsure
    clean, today = {}, timezone.localdate()
    for name, value in data.items():
        if name in ("installation", "supersedes"):
            clean[name] = fields.uuid(value)
        elif name == "kind":
            clean[name] = fields.slug(value)
        elif name == "status":
            clean[name] = fields.choice(value, CONTROL_STATUSES)
        elif name == "visit_date":
            clean[name] = fields.date(value, EARLIEST_DATE, today)
        elif name == "sale_date":
            clean[name] = fields.date(value, EARLIEST_DATE,
                                add_years(today, SALE_DATE_MAX_YEARS_AHEAD))
        elif name == "findings":
            clean[name] = _fast_findings(value)
        elif name == "photos":
            clean[name] = _fast_photos(value)
        else:  # comments
            clean[name] = fields.text(value, 10000, allow_blank=True)
    return clean


# The data validated in one pass, per entity (the others go through their serializer).


def _iso(value):
    return value.isoformat() if value else None


def out(control, user=None):
    superseded_by = getattr(control, "superseded_by", None)
    return {
        "id": str(control.uuid),
        "version": control.version,
        "installation": str(control.installation.uuid),
        "kind": control.kind.code,
        "campaign": control.campaign.name if control.campaign_id else None,
        "status": control.status,
        "inspector": control.inspector.username if control.inspector_id else None,
        "visit_date": _iso(control.visit_date),
        "sale_date": _iso(control.sale_date),
        "findings": [
            {"item": f.item.code, "result": f.result, "comment": f.comment}
            for f in control.findings.all()
        ],
        "conclusion": control.conclusion.code if control.conclusion_id else None,
        "works_required": control.works_required,
        "works_deadline": control.works_deadline.code if control.works_deadline_id else None,
        "works_due_on": _iso(control.works_due_on),
        "next_control_on": _iso(control.next_control_on),
        "comments": control.comments,
        "photos": [
            {"sha256": p.blob.sha256, "size": p.blob.size, "content_type": p.blob.content_type,
             "caption": p.caption, "verified": p.proven}
            for p in control.photos.all()
        ],
        "supersedes": str(control.supersedes.uuid) if control.supersedes_id else None,
        "superseded_by": str(superseded_by.uuid) if superseded_by else None,
        "rejection_reason": control.rejection_reason,
        "editable": bool(user) and scope.may_edit_control(user, control) and not control.frozen
        and superseded_by is None,
    }


CONTROL_PREFETCH = ["findings__item", "photos__blob"]
CONTROL_RELATED = ["installation__commune", "kind", "campaign", "inspector", "conclusion",
                   "works_deadline", "supersedes", "superseded_by"]


# --- published layer ----------------------------------------------------------------------------
CONTROL_COLUMNS = [
    ("uuid", "uuid"), ("installation", "uuid"), ("code_insee", "varchar(5)"), ("commune", "text"),
    ("nature", "text"), ("statut", "varchar(20)"), ("date_visite", "date"),
    ("controleur", "text"), ("conclusion", "varchar(50)"), ("conclusion_libelle", "text"),
    ("travaux_obligatoires", "boolean"), ("echeance_travaux", "date"),
    ("prochain_controle", "date"), ("version", "integer"), ("couleur", "varchar(7)"),
]

# Each control chain shows its current version only.
CONTROL_SELECT = """
SELECT ctl.id, ctl.uuid, i.uuid, c.insee, c.name, k.label, ctl.status, ctl.visit_date,
       nullif(trim(u.first_name || ' ' || u.last_name), ''), cc.code, cc.label,
       ctl.works_required, ctl.works_due_on, ctl.next_control_on, ctl.version,
       coalesce(cc.color, '#777777'), i.location
FROM fieldsync_control ctl
JOIN fieldsync_installation i ON i.id = ctl.installation_id
JOIN territory_commune c ON c.id = i.commune_id
JOIN fieldsync_controlkind k ON k.id = ctl.kind_id
LEFT JOIN fieldsync_conclusion cc ON cc.id = ctl.conclusion_id
LEFT JOIN accounts_user u ON u.id = ctl.inspector_id
WHERE NOT EXISTS (SELECT 1 FROM fieldsync_control n WHERE n.supersedes_id = ctl.id)
  AND {where}
"""

LAYER = publication.register(publication.PublishedLayer(
    name="spanc_controles",
    title="Contrôles SPANC",
    abstract="Contrôles des installations d'ANC (dernière version de chacun) : nature, "
             "état, date de visite, conclusion et échéances.",
    columns=CONTROL_COLUMNS, select=CONTROL_SELECT, key="ctl.id",
    # A control's verdict shows on its installation's row; its rows show its installation's.
    also={installation_type.LAYER.name:
          "SELECT installation_id FROM fieldsync_control WHERE id = ANY(%s)"},
    follows={installation_type.LAYER.name:
             "SELECT id FROM fieldsync_control WHERE installation_id = ANY(%s)"},
    # A correction hides the version it supersedes.
    hidden_by="SELECT supersedes_id FROM fieldsync_control "
              "WHERE id = ANY(%s) AND supersedes_id IS NOT NULL"))


# --- a chunk's look-ups --------------------------------------------------------------------------
def prepare_chunk(user, control_uuids, installation_uuids, photo_sha256s=(),
                  skip_installations=()):
    """Look up in the user's scope and lock, in one query each, the controls (updated or
    corrected) and the installations (given a new control) that a chunk of a push names, instead
    of a few queries per change. The lock order is kept: the installations first, by id, then
    the controls, by id. The caller names only records that no other change of the chunk
    modifies beforehand, and controls of the installations a change of the chunk modifies
    (`skip_installations`) are left out: a prepared control is taken once (chunk.take); the
    installations are shared by the chunk's new controls, which never modify them. The photos
    the chunk announces are read at once too, with those the user already holds."""
    if photo_sha256s:
        blobs = {b.sha256: b for b in shared_blobs(photo_sha256s)}
        chunk.prepare("blobs", blobs)
        chunk.prepare("blobs_read", set(photo_sha256s))  # the others are new
        verified = {sha for sha, blob in blobs.items() if blob.verified}
        held = held_photos(user, verified) if verified else set()
        chunk.prepare("held", held)
        chunk.prepare("not_held", verified - held)
    controls = [(pk, installation_id) for pk, installation_id, installation_uuid in
                scope.controls(user).filter(uuid__in=list(control_uuids))
                .values_list("pk", "installation_id", "installation__uuid")
                if installation_uuid not in skip_installations]
    installation_pks = set(installation_type.field_area(user).filter(uuid__in=list(installation_uuids))
                           .values_list("pk", flat=True))
    if not controls and not installation_pks:
        return
    installations = {i.pk: i for i in installation_type.lock_installations(
        installation_pks | {installation_id for _pk, installation_id in controls})}
    for installation in installations.values():
        if installation.pk in installation_pks:
            chunk.prepare(("installation", installation.uuid), installation)
    locked = list(Control.objects.select_for_update().filter(pk__in=[pk for pk, _i in controls])
                  .order_by("pk"))
    # A separate statement after the lock: its snapshot sees a correction committed meanwhile.
    replaced = set(Control.objects.filter(supersedes__in=[c.pk for c in locked])
                   .values_list("supersedes_id", flat=True))
    for control in locked:
        control.installation = installations[control.installation_id]
        control.prepared_successor = control.pk in replaced
        chunk.prepare(("control", control.uuid), control)


# --- apply ---------------------------------------------------------------------------------------
def _checklist(kind):
    """{code: ChecklistItem} of a control kind (read once per chunk of a push)."""
    return chunk.cached(("checklist", kind.pk), lambda: {
        i.code: i for i in ChecklistItem.objects.filter(active=True, control_kinds=kind)})


def _keep_written(control, name, rows):
    """Remember the rows just written as the control's `name` relation, so that the verdict and
    the answer read them without querying them back (Django's prefetch cache)."""
    if not hasattr(control, "_prefetched_objects_cache"):
        control._prefetched_objects_cache = {}
    control._prefetched_objects_cache.pop(name, None)
    queryset = getattr(control, name).all()  # the relation's queryset, its result given
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    control._prefetched_objects_cache[name] = queryset


def _set_findings(control, findings):
    items = _checklist(control.kind)
    unknown = [f["item"] for f in findings if f["item"] not in items]
    if unknown:
        raise Rejected(*[_t("Point de contrôle inconnu pour un « %(kind)s » : « %(code)s ».")
                         % {"kind": control.kind.label, "code": code} for code in unknown])
    rows = [Finding(control=control, item=items[f["item"]], result=f["result"],
                    comment=f.get("comment", "")) for f in findings]
    unit = chunk.deferring()
    if unit is not None:  # written with the chunk's others (write_pending)
        unit.pending("control.findings")[control.pk] = rows
    else:
        Finding.objects.filter(control=control).delete()
        rows = Finding.objects.bulk_create(rows)
    _keep_written(control, "findings", rows)


def _blobs(photos):
    """{sha256: PhotoBlob} of the announced photos. During a push, the chunk's known photos are
    read once (prepare_chunk) and new ones are written with the chunk (unsaved here); otherwise
    the new ones are inserted at once (INSERT … ON CONFLICT DO NOTHING RETURNING)."""
    new = {}
    for photo in photos:
        new.setdefault(photo["sha256"], PhotoBlob(
            sha256=photo["sha256"], size=photo["size"],
            content_type=photo.get("content_type", "image/jpeg")))
    unit = chunk.deferring()
    if unit is None:
        _insert_new_blobs(list(new.values()))
        blobs = {sha: blob for sha, blob in new.items() if blob.pk is not None}
        known = [sha for sha in new if sha not in blobs]
        if known:
            blobs.update((b.sha256, b) for b in shared_blobs(known))
        return blobs
    known = unit.prepared.setdefault("blobs", {})
    read = unit.prepared.setdefault("blobs_read", set())
    unread = [sha for sha in new
              if sha not in read and sha not in unit.kept_rows("control.blobs")]
    if unread:  # photos the chunk did not name (a correction's copied photos)
        known.update((b.sha256, b) for b in shared_blobs(unread))
        read.update(unread)
    blobs = {}
    for sha, blob in new.items():
        blobs[sha] = (known.get(sha) or unit.kept_rows("control.blobs").get(sha)
                     or unit.pending("control.blobs").get(sha))
        if blobs[sha] is None:
            blobs[sha] = unit.pending("control.blobs")[sha] = blob
    return blobs


def shared_blobs(sha256s):
    """The announced photos among these SHA-256, read FOR SHARE (in id order) until the end of
    the transaction that links them to controls.

    Why: whether a new link counts as received (ControlPhoto.proven) is decided from the photo's
    state as read here. An upload that completes the photo locks its row FOR UPDATE and, in its
    transaction, marks the uploader's links received; without this lock, a push that read the
    photo as not yet verified could write its links after that update and commit them as
    missing — the uploader was told "verified" and the control could never be validated. With
    it, the upload waits for the push to commit (and then marks its links), or the push waits
    for the upload and reads the photo verified."""
    sha256s = sorted(set(sha256s))
    if not sha256s:
        return []
    return list(PhotoBlob.objects.raw(
        f"SELECT * FROM {PhotoBlob._meta.db_table} WHERE sha256 = ANY(%s) ORDER BY id FOR SHARE",
        [sha256s]))


def _insert_new_blobs(blobs):
    """INSERT … ON CONFLICT DO NOTHING RETURNING: sets id and created_at of the blobs inserted,
    leaves without an id those already announced (before, or by a concurrent transaction)."""
    if not blobs:
        return
    now = timezone.now()
    table = PhotoBlob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (sha256, size, content_type, received, verified, created_at) "
            "SELECT * FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[], %s::bigint[], "
            "%s::boolean[], %s::timestamptz[]) ON CONFLICT (sha256) DO NOTHING "
            "RETURNING id, sha256",
            [[b.sha256 for b in blobs], [b.size for b in blobs], [b.content_type for b in blobs],
             [b.received for b in blobs], [b.verified for b in blobs], [now] * len(blobs)])
        ids = dict((sha, pk) for pk, sha in cursor.fetchall())
    for blob in blobs:
        if blob.sha256 in ids:
            blob.pk, blob.created_at = ids[blob.sha256], now
            blob._state.adding, blob._state.db = False, connection.alias


def held_photos(user, sha256s):
    """The SHA-256 among these that the user already holds: verified photos shown, received, on a
    control the user may read. Only those count as present when the user announces them again;
    knowing another control's SHA-256 is not having the photo (the bytes must be uploaded)."""
    return set(ControlPhoto.objects.filter(
        proven=True, blob__sha256__in=list(sha256s), control__in=scope.controls(user).values("pk"))
        .values_list("blob__sha256", flat=True))


def _held(user, sha256s):
    unit = chunk.current()
    if unit is None:
        return held_photos(user, sha256s)
    held = unit.prepared.setdefault("held", set())
    unread = set(sha256s) - held - unit.prepared.setdefault("not_held", set())
    if unread:
        found = held_photos(user, unread)
        held |= found
        unit.prepared["not_held"] |= unread - found
    return held | set(unit.kept_rows("control.held"))


def _set_photos(control, photos, user):
    links = []
    blobs = _blobs(photos) if photos else {}
    verified = [sha for sha, blob in blobs.items() if blob.verified]
    held = _held(user, verified) if verified else set()
    for photo in photos:
        blob = blobs[photo["sha256"]]
        if blob.size != photo["size"]:
            # The size announced by someone else is theirs: not given back.
            raise Rejected(_t("La photo %(sha)s… a déjà été annoncée avec une autre taille.")
                           % {"sha": photo["sha256"][:12]})
        links.append(ControlPhoto(control=control, blob=blob, caption=photo.get("caption", ""),
                                  taken_at=photo.get("taken_at"),
                                  proven=blob.verified and blob.sha256 in held))
    unit = chunk.deferring()
    if unit is not None:  # written with the chunk's others (write_pending)
        unit.pending("control.photos")[control.pk] = links
        unit.pending("control.held").update(
            (link.blob.sha256, True) for link in links if link.proven)
    else:
        ControlPhoto.objects.filter(control=control).delete()
        links = ControlPhoto.objects.bulk_create(links)
    _keep_written(control, "photos", links)


def _write_controls(controls):
    """One UPDATE of every column of these controls (as their save() would), from arrays."""
    fields = [f for f in Control._meta.concrete_fields if not f.primary_key]
    for control in controls:
        for field in fields:
            if getattr(field, "auto_now", False):
                field.pre_save(control, add=False)
    columns = ", ".join(f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}"
                        for f in fields)
    # Arrays of the unsized types: an explicit cast to varchar(n) would truncate silently, while
    # the assignment to the column refuses a value too long (22001), as save() would.
    arrays = ", ".join(f"unnest(%s::{re.sub(r'[(].*[)]', '', f.db_type(connection))}[]) AS "
                       f"{connection.ops.quote_name(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Control._meta.db_table} AS t SET {columns} "
            f"FROM (SELECT unnest(%s::bigint[]) AS id, {arrays}) AS v WHERE t.id = v.id",
            [[c.pk for c in controls]] + [
                [f.get_db_prep_save(getattr(c, f.attname), connection) for c in controls]
                for f in fields])


def write_pending(findings, photos, blobs, controls=()):
    """Write what a chunk's applied changes set (called by fieldsync.batching in the chunk's
    transaction): the controls in one UPDATE, the new photos in one INSERT, then per kind one
    DELETE of the controls' previous rows and one INSERT of the new ones. A photo announced
    meanwhile by a concurrent transaction with another size makes the chunk start again
    (retry.Replay): it is then refused like any photo announced before with another size."""
    if controls:
        _write_controls(list(controls))
    if blobs:
        _insert_new_blobs(list(blobs.values()))
        unsaved = {sha: blob for sha, blob in blobs.items() if blob.pk is None}
        for existing in shared_blobs(unsaved):
            if existing.size != unsaved[existing.sha256].size:
                raise Replay(f"photo {existing.sha256} announced meanwhile with another size")
            blob = unsaved[existing.sha256]
            blob.pk, blob.created_at = existing.pk, existing.created_at
            blob.verified, blob.received = existing.verified, existing.received
    if findings:
        Finding.objects.filter(control__in=list(findings)).delete()
        Finding.objects.bulk_create([row for rows in findings.values() for row in rows])
    if photos:
        ControlPhoto.objects.filter(control__in=list(photos)).delete()
        ControlPhoto.objects.bulk_create([link for links in photos.values() for link in links])


def _evaluate_and_transition(control, target_status):
    written = getattr(control, "_prefetched_objects_cache", {}).get("findings")
    findings = [(f.item, f.result) for f in (
        written if written is not None else control.findings.select_related("item"))]
    if control.visit_date and findings:
        verdict.evaluate(control, findings)
    if target_status == ControlStatus.SUBMITTED:
        reasons = []
        if not control.visit_date:
            reasons.append(_t("Date de visite manquante : un contrôle transmis doit en avoir une."))
        expected = set(_checklist(control.kind))
        missing = sorted(expected - {item.code for item, _ in findings})
        if missing:
            reasons.append(_t("Points de contrôle sans réponse : %(codes)s.")
                           % {"codes": ", ".join(missing)})
        if control.conclusion is None and not reasons:
            reasons.append(_t("Aucune conclusion ne correspond dans la grille de l'annexe II."))
        if reasons:
            raise Rejected(*reasons)
        control.status = ControlStatus.SUBMITTED
        control.submitted_at = timezone.now()
    elif control.status in (ControlStatus.PLANNED, ControlStatus.ASSIGNED,
                            ControlStatus.IN_PROGRESS):
        control.status = ControlStatus.IN_PROGRESS


def _shared_relations(control):
    """Kind, campaign and inspector of the control, read once per chunk of a push (the controls
    of a batch share a few of each) instead of once per control."""
    if chunk.current() is None:
        return
    for field, model in (("kind", ControlKind), ("campaign", Campaign), ("inspector", User)):
        pk = getattr(control, f"{field}_id")
        if pk is not None and not Control._meta.get_field(field).is_cached(control):
            setattr(control, field, chunk.cached(
                (field, pk), lambda model=model, pk=pk: model.objects.get(pk=pk)))


def _apply_control_data(user, control, data):
    _shared_relations(control)
    # No control supersedes this one (every caller checked it, or it is new): the answer's
    # "superseded_by" needs no query.
    Control._meta.get_field("superseded_by").set_cached_value(control, None)
    for field in ("visit_date", "sale_date"):
        if field in data:
            setattr(control, field, data[field])
    if "comments" in data:
        control.comments = data["comments"]
    if control.pk is None:  # findings and photos need its id; saved again below anyway
        control.save()
    if "findings" in data:
        _set_findings(control, data["findings"])
    if "photos" in data:
        _set_photos(control, data["photos"], user)
    _evaluate_and_transition(control, data.get("status"))
    unit = chunk.deferring()
    if unit is not None and not control._state.adding:
        unit.pending("control.controls")[control.pk] = control  # written with the chunk's
    else:
        control.save()
    publication.publish({LAYER.name: [control.pk]})  # and its installation's row (also)
    return control


def create(user, uuid, data):
    if not (user.is_gis_admin or user.role in scope.SPANC_ROLES):
        raise Rejected(_t("Vous n'avez pas le droit de créer un contrôle."))
    if "supersedes" in data:
        raise Rejected(_t("data.supersedes : Utilisez l'opération « supersede » pour corriger "
                          "un contrôle transmis."))
    if Control.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Un contrôle porte déjà cet identifiant."))
    reasons = [_t("data.%(field)s : Ce champ est obligatoire pour une création.")
               % {"field": f} for f in ("installation", "kind") if f not in data]
    if reasons:
        raise Rejected(*reasons)
    installation = installation_type.scoped(user, data["installation"], shared=True)
    kind = chunk.cached(("kind", data["kind"]), lambda: ControlKind.objects.filter(
        code=data["kind"], active=True).first())
    if kind is None:
        raise Rejected(_t("Nature de contrôle inconnue : « %(code)s ».") % {"code": data["kind"]})
    control = Control(uuid=uuid, installation=installation, kind=kind, inspector=user,
                      status=ControlStatus.IN_PROGRESS)
    return _apply_control_data(user, control, data)


def _locked_control(user, uuid):
    prepared = chunk.take(("control", uuid))
    if prepared is not None:
        return prepared
    found = scope.controls(user).filter(uuid=uuid).values_list("pk", "installation_id").first()
    if found is None:
        raise Rejected(_t("Contrôle inconnu ou hors de vos attributions."))
    pk, installation_id = found
    installation_type.lock_installation(installation_id)  # the lock order: installation first
    # Lock without joins: after waiting for a concurrent writer, PostgreSQL re-checks the locked
    # row only, so joined columns could be stale; relations are read fresh after the lock.
    return Control.objects.select_for_update().get(pk=pk)


def _successor(control):
    """The correction that replaced this control, or None (known without a query when the
    chunk prepared the control)."""
    if getattr(control, "prepared_successor", None) is False:
        return None
    return Control.objects.filter(supersedes=control).first()


def update(user, uuid, base_version, data, as_manager=False):
    control = _locked_control(user, uuid)
    if not (as_manager or scope.may_edit_control(user, control)):
        raise Rejected(_t("Ce contrôle ne vous est pas attribué."))
    installation_type.check_version(TYPE, control, base_version, user)
    if _successor(control) is not None:
        raise Rejected(_t("Ce contrôle a été remplacé par une correction : modifiez la "
                          "correction."))
    if control.frozen:
        raise Rejected(_t("Ce contrôle est transmis (%(status)s) : il ne peut plus être modifié ; "
                          "envoyez une correction (opération « supersede »).")
                       % {"status": control.get_status_display()})
    fixed = sorted(set(data) & {"installation", "kind", "supersedes"})
    if fixed:
        raise Rejected(*[_t("data.%(field)s : Ne peut pas être modifié après la création.")
                         % {"field": f} for f in fixed])
    if control.status == ControlStatus.PLANNED:
        raise Rejected(_t("Ce contrôle n'est pas encore attribué."))
    control.version += 1
    return _apply_control_data(user, control, data)


def supersede(user, uuid, base_version, data, inspector=None):
    """A correction of a transmitted control: a new control that replaces it; the old is kept.
    inspector: whom the correction is assigned to (the user who sends it, by default)."""
    if "supersedes" not in data:
        raise Rejected(_t("data.supersedes : Indiquez le contrôle corrigé."))
    old = _locked_control(user, data["supersedes"])
    if not (scope.may_edit_control(user, old) or scope.manages_commune(
            user, old.installation.commune_id)):
        raise Rejected(_t("Ce contrôle ne vous est pas attribué."))
    successor = _successor(old)
    if successor is not None:
        raise Conflict(TYPE.entity, out(successor, user), successor.version)
    installation_type.check_version(TYPE, old, base_version, user)
    if not old.frozen:
        raise Rejected(_t("Ce contrôle n'est pas encore transmis : modifiez-le directement."))
    if Control.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Un contrôle porte déjà cet identifiant."))
    fixed = sorted(set(data) & {"installation", "kind"})
    if fixed:
        raise Rejected(*[_t("data.%(field)s : Une correction garde celui du contrôle corrigé.")
                         % {"field": f} for f in fixed])
    control = Control(uuid=uuid, installation=old.installation, kind=old.kind,
                      campaign=old.campaign, inspector=inspector or user,
                      status=ControlStatus.IN_PROGRESS,
                      supersedes=old, visit_date=old.visit_date, sale_date=old.sale_date,
                      comments=old.comments)
    control.save()
    data = dict(data)
    data.pop("supersedes")
    data.setdefault("findings", [{"item": f.item.code, "result": f.result, "comment": f.comment}
                                 for f in old.findings.select_related("item")])
    data.setdefault("photos", [{"sha256": p.blob.sha256, "size": p.blob.size,
                                "content_type": p.blob.content_type, "caption": p.caption,
                                "taken_at": p.taken_at}
                               for p in old.photos.select_related("blob")])
    _apply_control_data(user, control, data)
    publication.publish({LAYER.name: [old.pk]})
    return control, old


def chain_end(pk):
    """The last control of the chain of corrections that starts at this control (itself when
    nothing corrects it)."""
    control = Control.objects.get(pk=pk)
    while True:
        successor = Control.objects.filter(supersedes=control).first()
        if successor is None:
            return control
        control = successor


def missing_photos(control):
    written = getattr(control, "_prefetched_objects_cache", {}).get("photos")
    if written is not None:
        return sorted(p.blob.sha256 for p in written if not p.proven)
    return list(control.photos.filter(proven=False)
                .values_list("blob__sha256", flat=True).order_by("blob__sha256"))



def missing_photos_of(controls):
    """{control uuid (str): its missing photos' SHA-256, sorted} for a queryset of controls,
    in one query (those without a missing photo map to [])."""
    missing = {str(u): [] for u in controls.values_list("uuid", flat=True)}
    for control_uuid, sha256 in (ControlPhoto.objects.filter(
            control__in=controls.values("pk"), proven=False)
            .values_list("control__uuid", "blob__sha256").order_by("blob__sha256")):
        missing[str(control_uuid)].append(sha256)
    return missing


class ControlRecord(RecordType):
    entity = "control"
    members = "controls"
    position = 20
    ops = ("create", "update", "supersede")
    model = Control
    data_serializer = ControlDataSerializer

    def fast_data(self, data):
        return fast_data(data)

    def out(self, obj, user):
        return out(obj, user)

    def visible(self, user):
        return scope.controls(user)

    def load(self, user, uuid):
        return (self.visible(user).filter(uuid=uuid).select_related(*CONTROL_RELATED)
                .prefetch_related(*CONTROL_PREFETCH).first())

    def apply(self, user, op, uuid, base_version, data, as_manager=False):
        if op == "create":
            return create(user, uuid, data), []
        if op == "update":
            return update(user, uuid, base_version, data, as_manager=as_manager), []
        control, old = supersede(user, uuid, base_version, data)
        return control, [old]

    def answer(self, obj):
        return {"missing_photos": missing_photos(obj)}

    def refreshed(self, user, uuids):
        # Photos uploaded since are no longer missing (one query for the whole batch); a control
        # gone out of scope keeps its stored answer.
        return {uuid: {"missing_photos": missing}
                for uuid, missing in missing_photos_of(self.visible(user).filter(
                    uuid__in=list(uuids))).items()}

    @staticmethod
    def _data(raw):
        return raw.get("data") if isinstance(raw.get("data"), dict) else {}

    def names(self, raw):
        data = self._data(raw)
        return [raw.get("id"), data.get("supersedes"), data.get("installation")]

    def modifies(self, raw):
        targets = [(self.entity, raw.get("id"))]
        if raw.get("op") == "supersede":
            targets.append((self.entity, self._data(raw).get("supersedes")))
        return targets

    def prepare(self, user, raws, modified):
        """The controls that one change only names (updated or corrected), the installations
        that receive new controls, unless a change of the chunk modifies that installation, and
        the photos announced (prepare_chunk)."""
        installations_modified = {uuid for entity, uuid in modified
                                  if entity == installation_type.TYPE.entity}
        controls, new_on, photos = set(), set(), set()
        for raw in raws:
            data, op = self._data(raw), raw.get("op")
            if isinstance(data.get("photos"), list):
                photos |= {str(p["sha256"]).lower() for p in data["photos"]
                           if isinstance(p, dict) and isinstance(p.get("sha256"), str)}
            if op == "create":
                new_on.add(fields.as_uuid(data.get("installation")))
            target = fields.as_uuid(data.get("supersedes") if op == "supersede" else raw.get("id"))
            if op in ("update", "supersede") and modified.get((self.entity, target)) == 1:
                controls.add(target)
        prepare_chunk(user, controls - {None}, new_on - installations_modified - {None}, photos,
                      skip_installations=installations_modified)

    def write_pending(self, rows, unit):
        blobs = rows.get("control.blobs", {})
        write_pending(rows.get("control.findings", {}), rows.get("control.photos", {}), blobs,
                      rows.get("control.controls", {}).values())
        unit.prepared.setdefault("blobs", {}).update(blobs)  # saved now
        unit.prepared.setdefault("held", set()).update(rows.get("control.held", {}))

    # A conflict about a correction (op "supersede") names the correction the tablet made (its
    # id), which the server never created: it is about the control it corrects, and settled on
    # the last correction of that control's chain (docs/sync-protocol.md § 6.6).
    @staticmethod
    def _corrected(change):
        data = change.data.get("data") if isinstance(change.data, dict) else None
        return fields.as_uuid(data.get("supersedes")) if isinstance(data, dict) else None

    def conflicts_visible(self, user):
        # Compared as text (never a cast of the stored JSON, which could fail on a row).
        corrected = (SyncChange.objects.filter(entity=self.entity, op="supersede",
                                               status="conflict")
                     .annotate(corrected=Lower(KT("data__data__supersedes")))
                     .filter(corrected__in=self.visible(user).annotate(
                         text=Cast("uuid", CharField())).values("text")).values("pk"))
        return super().conflicts_visible(user) | Q(pk__in=corrected)

    def conflict_subject(self, user, change):
        if change.op != "supersede":
            return super().conflict_subject(user, change)
        corrected = self._corrected(change)
        found = self.visible(user).filter(uuid=corrected).values_list("pk", flat=True).first()
        if found is None:
            return None
        return self.load(user, chain_end(found).uuid)

    def resubmits(self, conflict, targets):
        """A correction in conflict is resent by a change of any control of the chain of the
        control it corrected (§ 6.6: the tablet corrects, or completes, the chain's last one)."""
        if conflict.op != "supersede" or super().resubmits(conflict, targets):
            return super().resubmits(conflict, targets)
        control = Control.objects.filter(uuid=self._corrected(conflict)).first()
        while control is not None:
            if control.uuid in targets:
                return True
            control = Control.objects.filter(supersedes=control).first()
        return False

    def lock_conflict(self, change):
        if change.op != "supersede":
            return super().lock_conflict(change)
        corrected = Control.objects.filter(uuid=self._corrected(change)).values_list(
            "pk", "installation_id").first()
        if corrected:  # the installation first, then the chain's controls in id order
            installation_type.lock_installation(corrected[1])
            list(Control.objects.select_for_update().filter(
                installation_id=corrected[1]).order_by("pk").values_list("pk", flat=True))

    def take_client(self, manager, change, data):
        if change.op != "supersede":
            if "supersedes" in data and data["supersedes"] == Control.objects.filter(
                    uuid=change.entity_uuid).values_list("supersedes__uuid", flat=True).first():
                data = {k: v for k, v in data.items() if k != "supersedes"}  # unchanged
            return super().take_client(manager, change, data)
        if Control.objects.filter(uuid=change.entity_uuid).exists():
            raise Rejected(_t("la tablette a renvoyé cette correction depuis (contrôle "
                              "%(uuid)s).") % {"uuid": change.entity_uuid})
        corrected = scope.controls(manager).filter(uuid=self._corrected(change)).first()
        if corrected is None:
            raise Rejected(_t("Contrôle inconnu ou hors de vos attributions."))
        last = chain_end(corrected.pk)
        inspector = change.batch.user
        if last.pk == corrected.pk or last.frozen:
            # Nobody corrected it meanwhile (its version moved), or the chain's last correction
            # is transmitted: the field's correction corrects the chain's last control, with the
            # tablet's id, assigned to the inspector who sent it.
            control, old = supersede(manager, change.entity_uuid, last.version,
                                     {**data, "supersedes": last.uuid}, inspector=inspector)
            return control, [old]
        # The chain's last correction is still open: the field version is applied to it.
        data = {k: v for k, v in data.items() if k != "supersedes"}
        return update(manager, last.uuid, last.version, data, as_manager=True), []

    def lock_for_resolution(self, uuid):
        target = Control.objects.filter(uuid=uuid).values_list("pk", "installation_id").first()
        if target:
            installation_type.lock_installation(target[1])
            Control.objects.select_for_update().filter(pk=target[0]).first()

    def photo_links(self, user, sha256):
        return [ControlPhoto.objects.filter(blob__sha256=sha256,
                                            control__in=scope.controls(user).values("pk"))]

    def photo_held(self, user, sha256, path):
        # Only his own controls (assigned to him): another's control needs its own proof.
        for links in self.photo_links(user, sha256):
            links.filter(proven=False, control__inspector=user).update(proven=True)

    def package(self, user, assignments):
        installations = installation_type.Installation.objects.filter(
            pk__in=assignments.values("installation"))
        history = Control.objects.filter(installation__in=installations).exclude(
            pk__in=assignments)
        return {self.members: self.serialise(assignments, user),
                "previous_controls": self.serialise(history, user)}

    def serialise(self, queryset, user):
        queryset = queryset.select_related(*CONTROL_RELATED).prefetch_related(*CONTROL_PREFETCH)
        return [out(control, user) for control in queryset]


TYPE = ControlRecord()
