"""The report (signalement), a field record type: an agent of a commune's or the
intercommunality's service reports a problem in public space from the field app, offline.

Created through the same code as the web form and Open311 (signalements.reporting.create_report:
the same checks, the same routing to the service, the same e-mail to it, the same published
layers), with the UUID chosen by the tablet: a batch sent again is a replay, a change sent again
a duplicate, never a second report. Updated on its version (description, address, the type's
fields, more photos) by its author or its service while it is open; its type and its place are
fixed at creation (a report elsewhere is a new report). Its photos come by the resumable upload
(fieldsync.photos), are linked by RecordPhoto until received, then re-encoded without any
metadata (signalements.photos) into the report's photos.

Who may push and pull reports: the members of an active service (signalements.Service.members)
and GIS administrators. What they see: the reports of their services (as in the processing
queue) and those they made themselves, never a reporter's contact.
"""
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _t
from rest_framework import serializers

from signalements import publication as report_layers
from signalements.models import (
    Category, EventKind, ReportEvent, Report, ReportPhoto, ReportScope, Service, Source, Status,
)
from signalements.photos import MAX_PHOTOS, MAX_UPLOAD_BYTES, PhotoError, clean_photo
from signalements.processing import reports_for
from signalements.reporting import (
    MAX_DESCRIPTION, MAX_SHORT_TEXT, ReportError, Submission, clean_attributes, create_report,
)
from signalements.routing import categories_for

from .. import geojson
from ..models import RecordPhoto
from ..serializers import PhotoRefSerializer, StrictSerializer, max_photo_bytes
from .base import Conflict, RecordType, Rejected
from .installation import PointSerializer

FIXED_FIELDS = ("category", "geometry")
RECENT_DAYS = 30  # closed reports of the agent stay on the tablet this long


# --- wire schema ---------------------------------------------------------------------------------
def max_report_photo_bytes():
    return min(max_photo_bytes(), MAX_UPLOAD_BYTES)


class ReportPhotoRefSerializer(PhotoRefSerializer):
    max_bytes = staticmethod(max_report_photo_bytes)


class SignalementDataSerializer(StrictSerializer):
    geometry = PointSerializer(required=False)
    category = serializers.SlugField(max_length=60, required=False)
    description = serializers.CharField(max_length=MAX_DESCRIPTION, required=False)
    address = serializers.CharField(max_length=MAX_SHORT_TEXT, allow_blank=True, required=False)
    attributes = serializers.DictField(required=False)
    photos = ReportPhotoRefSerializer(many=True, required=False, max_length=MAX_PHOTOS)

    def validate_photos(self, value):
        if len({photo["sha256"] for photo in value}) != len(value):
            raise serializers.ValidationError(_t("Une photo figure deux fois dans le "
                                                 "signalement."))
        return value


# --- who and what ---------------------------------------------------------------------------------
def _active(user):
    return bool(user and user.is_authenticated and user.is_active)


def services(user):
    """The active services the user is an agent of (all of them for a GIS administrator)."""
    if not _active(user):
        return Service.objects.none()
    found = Service.objects.filter(active=True)
    return found if user.is_gis_admin else found.filter(members=user)


def visible(user):
    """The reports of the user's services (the processing queue's) and those he made."""
    if not _active(user):
        return Report.objects.none()
    return Report.objects.filter(Q(pk__in=reports_for(user).values("pk")) | Q(reporter=user))


def may_edit(user, report):
    return report.reporter_id == user.pk or reports_for(user).filter(pk=report.pk).exists()


def categories(user):
    """The report types the user's territory offers: every type of an intercommunal service's
    agent, else the types that may be reported in one of his services' communes."""
    leaves = categories_for().select_related("parent").prefetch_related(
        "fields", "communes", "parent__communes")
    mine = services(user)
    communes = set(mine.values_list("commune_id", flat=True))
    everywhere = user.is_gis_admin or None in communes
    found = []
    for category in leaves:
        scoped = category.parent if category.scope == ReportScope.TERRITORY \
            and category.parent_id else category
        allowed = [c.insee for c in scoped.communes.all()] \
            if scoped.scope == ReportScope.COMMUNES else None
        if not everywhere and allowed is not None and not (
                communes & {c.pk for c in scoped.communes.all()}):
            continue
        found.append({
            "code": category.code, "label": str(category), "group": category.group,
            "anonymous_allowed": category.anonymous_allowed,
            "communes": allowed,
            "zone_layer": scoped.zone_layer.name if scoped.scope == ReportScope.ZONE
            and scoped.zone_layer_id else None,
            "fields": [{"code": f.code, "label": f.label, "datatype": f.datatype,
                        "required": f.required, "choices": f.choices, "help": f.help_text}
                       for f in category.fields.all()],
        })
    return found


# --- the record on the wire -----------------------------------------------------------------------
def _photos_of(uuids):
    """{record uuid: [photo]} of the RecordPhoto links of these reports, in one query."""
    found = {}
    for link in (RecordPhoto.objects.filter(entity=TYPE.entity, record_uuid__in=list(uuids))
                 .select_related("blob").order_by("id")):
        found.setdefault(link.record_uuid, []).append({
            "sha256": link.blob.sha256, "size": link.blob.size,
            "content_type": link.blob.content_type, "caption": link.caption,
            "verified": link.proven})
    return found


def out(report, user, photos=None):
    if photos is None:
        photos = _photos_of([report.uuid]).get(report.uuid, [])
    return {
        "id": str(report.uuid),
        "version": report.version,
        "reference": report.reference,
        "category": report.category.code,
        "category_label": str(report.category),
        "commune": report.commune.insee,
        "geometry": geojson.geometry_out(report.location),
        "address": report.address,
        "description": report.description,
        "attributes": report.attributes,
        "status": report.status,
        "status_label": report.get_status_display(),
        "status_reason": report.status_reason,
        "service": report.service.name,
        "created_at": report.created_at.isoformat(),
        "photos": photos,
        "editable": bool(user) and report.is_open and may_edit(user, report),
    }


def missing_photos(uuids):
    """{uuid (str): SHA-256 of its photos not received yet, sorted} (one query)."""
    missing = {str(u): [] for u in uuids}
    for record_uuid, sha in (RecordPhoto.objects.filter(
            entity=TYPE.entity, record_uuid__in=list(uuids), proven=False)
            .values_list("record_uuid", "blob__sha256").order_by("blob__sha256")):
        missing[str(record_uuid)].append(sha)
    return missing


# --- apply ---------------------------------------------------------------------------------------
# The reporting code's error keys, as paths of the change.
ERROR_PATHS = {"category": "data.category", "description": "data.description",
               "address": "data.address", "photos": "data.photos", "long": "data.geometry",
               "lat": "data.geometry", "location": "data.geometry"}


def _rejected(error):
    return Rejected(*[f"{ERROR_PATHS.get(key, 'data.attributes.' + key)} : {message}"
                      for key, message in error.errors.items()])


def _check_photo_count(report, new):
    held = ReportPhoto.objects.filter(report=report).count()
    waiting = RecordPhoto.objects.filter(entity=TYPE.entity, record_uuid=report.uuid,
                                         proven=False).count()
    known = set(RecordPhoto.objects.filter(entity=TYPE.entity, record_uuid=report.uuid)
                .values_list("blob__sha256", flat=True))
    added = len([p for p in new if p["sha256"] not in known])
    if held + waiting + added > MAX_PHOTOS:
        raise Rejected(_t("data.photos : %(count)d photos au plus par signalement.")
                       % {"count": MAX_PHOTOS})


def create(user, uuid, data):
    if Report.objects.filter(uuid=uuid).exists():
        raise Rejected(_t("Un signalement porte déjà cet identifiant."))
    missing = [f for f in ("category", "geometry", "description") if f not in data]
    if missing:
        raise Rejected(*[_t("data.%(field)s : Ce champ est obligatoire pour une création.")
                         % {"field": f} for f in missing])
    longitude, latitude = data["geometry"]["coordinates"][:2]
    submission = Submission(
        category=Category.objects.filter(code=data["category"]).first(),
        longitude=longitude, latitude=latitude, description=data["description"],
        attributes=data.get("attributes") or {}, address=data.get("address", ""),
        reporter=user, source=Source.FIELD, uuid=uuid)
    try:
        report = create_report(submission)  # routed, published, its service told at commit
    except ReportError as error:
        raise _rejected(error) from None
    if data.get("photos"):
        TYPE.announce_photos(uuid, data["photos"])
    return report


def update(user, uuid, base_version, data):
    pk = visible(user).filter(uuid=uuid).values_list("pk", flat=True).first()
    if pk is None:
        raise Rejected(_t("Signalement inconnu ou hors de vos attributions."))
    report = (Report.objects.select_for_update(of=("self",))
              .select_related("category", "commune", "service").get(pk=pk))
    if not may_edit(user, report):
        raise Rejected(_t("Seuls son auteur et son service peuvent modifier ce signalement."))
    if base_version != report.version:
        raise Conflict(TYPE.entity, out(report, user), report.version)
    fixed = sorted(set(data) & set(FIXED_FIELDS))
    if fixed:
        raise Rejected(*[_t("data.%(field)s : Ne peut pas être modifié après la création ; "
                            "faites un nouveau signalement.") % {"field": f} for f in fixed])
    if not report.is_open:
        raise Rejected(_t("Ce signalement est clos (%(status)s) : il ne peut plus être "
                          "modifié.") % {"status": report.get_status_display()})
    changed = []
    if "description" in data:
        description = data["description"].strip()
        if not description:
            raise Rejected(_t("data.description : Décrivez le problème en quelques mots."))
        report.description = description
        changed.append(_t("description"))
    if "address" in data:
        report.address = data["address"].strip()
        changed.append(_t("adresse"))
    if "attributes" in data:
        try:
            report.attributes = clean_attributes(report.category, data["attributes"])
        except ReportError as error:
            raise _rejected(error) from None
        changed.append(_t("précisions"))
    if data.get("photos"):
        _check_photo_count(report, data["photos"])
        TYPE.announce_photos(report.uuid, data["photos"])
        changed.append(_t("photos"))
    report.version += 1
    report.save()
    ReportEvent.objects.create(
        report=report, actor=user, kind=EventKind.UPDATED,
        text=_t("Modifié depuis l'application de terrain : %(what)s.")
        % {"what": ", ".join(changed) or _t("rien")})
    report_layers.publish(report.pk)
    return report


class SignalementRecord(RecordType):
    entity = "signalement"
    members = "signalements"
    position = 30
    ops = ("create", "update")
    model = Report
    data_serializer = SignalementDataSerializer

    def admits(self, user):
        return services(user).exists()

    def out(self, obj, user):
        return out(obj, user)

    def visible(self, user):
        return visible(user)

    def load(self, user, uuid):
        return self.visible(user).filter(uuid=uuid).select_related(
            "category__parent", "commune", "service").first()

    def apply(self, user, op, uuid, base_version, data, as_manager=False):
        if op == "create":
            return create(user, uuid, data), []
        return update(user, uuid, base_version, data), []

    def answer(self, obj):
        return {"missing_photos": missing_photos([obj.uuid])[str(obj.uuid)]}

    def refreshed(self, user, uuids):
        return {uuid: {"missing_photos": missing}
                for uuid, missing in missing_photos(
                    self.visible(user).filter(uuid__in=list(uuids))
                    .values_list("uuid", flat=True)).items()}

    def names(self, raw):
        return [raw.get("id")]

    def modifies(self, raw):
        return [(self.entity, raw.get("id"))]

    def lock_for_resolution(self, uuid):
        Report.objects.select_for_update().filter(uuid=uuid).first()

    def photo_received(self, user, sha256, path):
        """The photo now counts for the user's reports that announced it, and each of them
        receives it re-encoded without any metadata (a file that is not a readable photo is
        left out, said in the report's journal)."""
        links = RecordPhoto.objects.filter(entity=self.entity, blob__sha256=sha256, proven=False,
                                           record_uuid__in=self.visible(user).values("uuid"))
        uuids = list(links.values_list("record_uuid", flat=True))
        if not uuids:
            return
        links.update(proven=True)
        try:
            cleaned = clean_photo(path.read_bytes())
        except PhotoError as error:
            cleaned, reason = None, str(error)
        for report in Report.objects.filter(uuid__in=uuids):
            if cleaned is None:
                ReportEvent.objects.create(report=report, actor=user, kind=EventKind.PHOTO,
                                           text=_t("Photo de l'application de terrain écartée : "
                                                   "%(reason)s") % {"reason": reason})
                continue
            data, width, height = cleaned
            ReportPhoto.objects.create(report=report, data=data, width=width, height=height)
            ReportEvent.objects.create(report=report, actor=user, kind=EventKind.PHOTO,
                                       text=_t("Photo reçue de l'application de terrain."))

    def package(self, user, assignments):
        recent = timezone.now() - timedelta(days=RECENT_DAYS)
        mine = Report.objects.filter(reporter=user, source=Source.FIELD).filter(
            Q(status__in=Status.open_values()) | Q(updated_at__gte=recent))
        return {self.members: self.serialise(mine, user),
                "signalement_categories": categories(user)}

    def serialise(self, queryset, user):
        reports = list(queryset.select_related("category__parent", "commune", "service"))
        photos = _photos_of([r.uuid for r in reports])
        return [out(report, user, photos.get(report.uuid, [])) for report in reports]


TYPE = SignalementRecord()
