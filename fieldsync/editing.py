"""Applying one validated change to installations and controls: the domain's write path.

Shared by the sync push (a tablet's change) and the manager's conflict resolution. Each function
runs inside the caller's transaction and raises Rejected (reasons in French) or Conflict (the
server's current record) instead of writing anything partial.

Scope: every lookup goes through fieldsync.scope, and a record outside the user's scope answers
exactly like an unknown one (no conflict record, no owner, no write).

Lock order, the same everywhere (here, in management_actions and in the conflict resolution):
the installation row first, then its control rows (by id), then the sync bookkeeping rows
(SyncChange), and the change-log advisory lock last (fieldsync.journal). A control's writer needs
its installation anyway: the deferred foreign key of a control updated twice in one transaction
takes a KEY SHARE lock on the installation at COMMIT, and the published installation row is
rewritten with the control's verdict; taking the installation first makes two writers of the
same installation queue instead of deadlocking.
"""
import re

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _t

from accounts.models import User
from territory.models import Commune

from . import chunk, publication, rules, scope, wire, zones
from .models import (
    Campaign, ChecklistItem, Component, ComponentType, Control, ControlKind, ControlPhoto,
    ControlStatus, Finding, Installation, PhotoBlob,
)


class Rejected(Exception):
    def __init__(self, *reasons):
        super().__init__("; ".join(str(r) for r in reasons))
        self.reasons = [str(r) for r in reasons]


class Conflict(Exception):
    def __init__(self, entity, record, version):
        super().__init__(f"{entity} v{version}")
        self.entity = entity
        self.record = record
        self.version = version


def _check_version(entity, obj, base_version, user):
    if base_version != obj.version:
        record = (wire.installation_out(obj, user) if entity == "installation"
                  else wire.control_out(obj, user))
        raise Conflict(entity, record, obj.version)


def field_area(user):
    """Installations a field user may edit or attach a new control to (fieldsync.scope)."""
    return scope.field_installations(user)


def lock_installation(pk):
    """Take the installation's row lock (first in the lock order); returns the fresh row."""
    return Installation.objects.select_for_update().get(pk=pk)


def lock_installations(pks):
    """Lock several installations, in id order (two multi-row lockers never cross)."""
    return list(Installation.objects.select_for_update().filter(pk__in=list(pks)).order_by("pk"))


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
        blobs = {b.sha256: b for b in PhotoBlob.objects.filter(sha256__in=list(photo_sha256s))}
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
    installation_pks = set(field_area(user).filter(uuid__in=list(installation_uuids))
                           .values_list("pk", flat=True))
    if not controls and not installation_pks:
        return
    installations = {i.pk: i for i in lock_installations(
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


def _scoped_installation(user, uuid, shared=False):
    prepared = chunk.take(("installation", uuid), keep=True) if shared else None
    if prepared is not None:
        return prepared
    # The scope query may use DISTINCT or joins (not lockable): find the id, then lock the row.
    pk = field_area(user).filter(uuid=uuid).values_list("pk", flat=True).first()
    if pk is None:
        raise Rejected(_t("Installation inconnue ou hors de vos attributions."))
    return lock_installation(pk)


# --- installations ---------------------------------------------------------------------------
def _locate(user, geometry):
    point = wire.geometry_in(geometry)
    commune = Commune.objects.filter(geom__intersects=point).first()
    if commune is None:
        raise Rejected(_t("L'emplacement est hors du territoire de l'intercommunalité."))
    if not (user.is_gis_admin or user.commune_id in (None, commune.pk)):
        raise Rejected(_t("L'emplacement est hors de votre commune."))
    return point, commune


def _set_installation_fields(installation, data):
    for field in ("address", "parcels", "capacity_eh", "year_built"):
        if field in data:
            setattr(installation, field, data[field])
    owner = data.get("owner")
    if owner is not None:
        for key in ("name", "address", "phone", "email"):
            if key in owner:
                setattr(installation, f"owner_{key}", owner[key])


def _set_components(installation, components):
    types = {t.code: t for t in ComponentType.objects.filter(active=True)}
    unknown = sorted({c["type"] for c in components} - set(types))
    if unknown:
        raise Rejected(*[_t("Type de composant inconnu : « %(code)s ».") % {"code": code}
                         for code in unknown])
    for component in components:
        if types[component["type"]].approved_device and not component.get("approval_number"):
            raise Rejected(_t("Le dispositif agréé « %(label)s » demande son numéro "
                              "d'agrément.") % {"label": types[component["type"]].label})
    installation.components.all().delete()
    Component.objects.bulk_create([
        Component(installation=installation, type=types[c["type"]], order=index,
                  volume_m3=c.get("volume_m3"), approval_number=c.get("approval_number", ""),
                  comment=c.get("comment", ""))
        for index, c in enumerate(components)
    ])


def create_installation(user, uuid, data):
    if not (user.is_gis_admin or user.role in scope.SPANC_ROLES):
        raise Rejected(_t("Vous n'avez pas le droit de créer une installation."))
    if Installation.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Une installation porte déjà cet identifiant."))
    if "geometry" not in data:
        raise Rejected(_t("data.geometry : L'emplacement est obligatoire pour une création."))
    point, commune = _locate(user, data["geometry"])
    installation = Installation(uuid=uuid, location=point, commune=commune, created_by=user)
    _set_installation_fields(installation, data)
    zones.compute_zones(installation)
    installation.save()
    if "components" in data:
        _set_components(installation, data["components"])
    publication.publish(installation_ids=[installation.pk])
    return installation


def update_installation(user, uuid, base_version, data):
    installation = _scoped_installation(user, uuid)
    _check_version("installation", installation, base_version, user)
    if "owner" in data and not scope.sees_owner(user, installation):
        raise Rejected(_t("Vous n'avez pas accès aux données du propriétaire."))
    _set_installation_fields(installation, data)
    if "geometry" in data:
        installation.location, installation.commune = _locate(user, data["geometry"])
        zones.compute_zones(installation)
    installation.version += 1
    installation.save()
    if "components" in data:
        _set_components(installation, data["components"])
    publication.publish(installation_ids=[installation.pk],
                        control_ids=installation.controls.values_list("pk", flat=True))
    return installation


# --- controls --------------------------------------------------------------------------------
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
        unit.change.findings[control.pk] = rows
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
            blobs.update((b.sha256, b) for b in PhotoBlob.objects.filter(sha256__in=known))
        return blobs
    known = unit.prepared.setdefault("blobs", {})
    read = unit.prepared.setdefault("blobs_read", set())
    unread = [sha for sha in new if sha not in read and sha not in unit.kept.blobs]
    if unread:  # photos the chunk did not name (a correction's copied photos)
        known.update((b.sha256, b) for b in PhotoBlob.objects.filter(sha256__in=unread))
        read.update(unread)
    blobs = {}
    for sha, blob in new.items():
        blobs[sha] = known.get(sha) or unit.kept.blobs.get(sha) or unit.change.blobs.get(sha)
        if blobs[sha] is None:
            blobs[sha] = unit.change.blobs[sha] = blob
    return blobs


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
    return held | unit.kept.held


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
        unit.change.photos[control.pk] = links
        unit.change.held |= {link.blob.sha256 for link in links if link.proven}
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
    transaction): the new photos in one INSERT, then per kind one DELETE of the controls'
    previous rows and one INSERT of the new ones. A photo announced meanwhile by a concurrent
    transaction with another size makes the chunk start again (batching.Replay): it is then
    refused like any photo announced before with another size."""
    from .batching import Replay

    if controls:
        _write_controls(list(controls))
    if blobs:
        _insert_new_blobs(list(blobs.values()))
        unsaved = {sha: blob for sha, blob in blobs.items() if blob.pk is None}
        for existing in PhotoBlob.objects.filter(sha256__in=list(unsaved)):
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
        rules.evaluate(control, findings)
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
        unit.change.controls[control.pk] = control  # written with the chunk's others
    else:
        control.save()
    publication.publish(installation_ids=[control.installation_id], control_ids=[control.pk])
    return control


def create_control(user, uuid, data):
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
    installation = _scoped_installation(user, data["installation"], shared=True)
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
    lock_installation(installation_id)  # the lock order: installation, then control
    # Lock without joins: after waiting for a concurrent writer, PostgreSQL re-checks the locked
    # row only, so joined columns could be stale; relations are read fresh after the lock.
    return Control.objects.select_for_update().get(pk=pk)


def _successor(control):
    """The correction that replaced this control, or None (known without a query when the
    chunk prepared the control)."""
    if getattr(control, "prepared_successor", None) is False:
        return None
    return Control.objects.filter(supersedes=control).first()


def update_control(user, uuid, base_version, data, as_manager=False):
    control = _locked_control(user, uuid)
    if not (as_manager or scope.may_edit_control(user, control)):
        raise Rejected(_t("Ce contrôle ne vous est pas attribué."))
    _check_version("control", control, base_version, user)
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


def supersede_control(user, uuid, base_version, data):
    """A correction of a transmitted control: a new control that replaces it; the old is kept."""
    if "supersedes" not in data:
        raise Rejected(_t("data.supersedes : Indiquez le contrôle corrigé."))
    old = _locked_control(user, data["supersedes"])
    if not (scope.may_edit_control(user, old) or scope.manages_commune(
            user, old.installation.commune_id)):
        raise Rejected(_t("Ce contrôle ne vous est pas attribué."))
    successor = _successor(old)
    if successor is not None:
        raise Conflict("control", wire.control_out(successor, user), successor.version)
    _check_version("control", old, base_version, user)
    if not old.frozen:
        raise Rejected(_t("Ce contrôle n'est pas encore transmis : modifiez-le directement."))
    if Control.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Un contrôle porte déjà cet identifiant."))
    fixed = sorted(set(data) & {"installation", "kind"})
    if fixed:
        raise Rejected(*[_t("data.%(field)s : Une correction garde celui du contrôle corrigé.")
                         % {"field": f} for f in fixed])
    control = Control(uuid=uuid, installation=old.installation, kind=old.kind,
                      campaign=old.campaign, inspector=user, status=ControlStatus.IN_PROGRESS,
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
    publication.publish(control_ids=[old.pk])
    return control, old


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
