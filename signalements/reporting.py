"""Making a report: checking what the reporter sent, finding possible duplicates, storing the report
with its photos in one transaction, and "supporting" an existing one instead.

Every entry point (the web page, Open311, the field app) goes through create_report(), so the same
checks and limits apply everywhere and nothing is ever half-written: a refused photo, a point
outside the territory or a bad field refuses the whole report before anything is stored.
"""
import hashlib
import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.contrib.postgres.search import TrigramSimilarity
from django.core.validators import EmailValidator, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from . import notifications, publication
from .models import (
    Category, EventKind, FieldType, Report, ReportEvent, ReportPhoto, Source, Status, Support,
)
from .photos import MAX_PHOTOS, PhotoError, clean_photo
from .routing import PlacementError, check_placement, route

MAX_DESCRIPTION = 4000       # Open311's limit
MAX_SHORT_TEXT = 300
DUPLICATE_DAYS = 90          # open reports of the last 90 days are candidates
DUPLICATE_LIMIT = 5


class ReportError(ValueError):
    """A refused report: ``errors`` maps a field name to its message (French first)."""

    def __init__(self, errors, status=400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


@dataclass
class Submission:
    category: Category
    longitude: float
    latitude: float
    description: str
    attributes: dict = field(default_factory=dict)
    address: str = ""
    photos: list = field(default_factory=list)          # raw bytes of each uploaded file
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    reporter: object = None                             # an authenticated user, or None
    source: str = Source.WEB
    device_id: str = ""
    client_key: str = ""                                # same key twice: the first report
    uuid: object = None                                 # chosen by the field app's device


def parse_coordinate(value, name, low, high):
    """A finite float within [low, high], or ReportError."""
    try:
        number = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise ReportError({name: _("Coordonnée invalide : un nombre est attendu.")}) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ReportError({name: _("Coordonnée hors limites (%(low)s à %(high)s).")
                           % {"low": low, "high": high}})
    return number


def storage_point(longitude, latitude):
    point = Point(longitude, latitude, srid=4326)
    point.transform(settings.CAPGEO_STORAGE_SRID)
    return point


def clean_attributes(category, raw):
    """The typed values of the category's fields, or ReportError naming each bad field."""
    values, errors = {}, {}
    for spec in category.fields.all():
        value = raw.get(spec.code)
        if isinstance(value, list) and spec.datatype != FieldType.MULTI:
            value = value[0] if value else None
        empty = value is None or value == "" or value == []
        if empty:
            if spec.required:
                errors[spec.code] = _("« %(label)s » est obligatoire.") % {"label": spec.label}
            continue
        keys = [str(choice[0]) for choice in spec.choices or []]
        if spec.datatype in (FieldType.STRING, FieldType.TEXT):
            limit = MAX_SHORT_TEXT if spec.datatype == FieldType.STRING else MAX_DESCRIPTION
            value = str(value).strip()
            if len(value) > limit:
                errors[spec.code] = _("« %(label)s » : %(limit)d caractères au plus.") % {
                    "label": spec.label, "limit": limit}
                continue
        elif spec.datatype == FieldType.NUMBER:
            try:
                value = float(str(value).replace(",", "."))
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                errors[spec.code] = _("« %(label)s » : un nombre est attendu.") % {
                    "label": spec.label}
                continue
        elif spec.datatype == FieldType.DATETIME:
            try:
                parsed = parse_datetime(str(value))
            except ValueError:
                parsed = None
            if parsed is None:
                errors[spec.code] = _("« %(label)s » : date et heure attendues "
                                      "(AAAA-MM-JJTHH:MM).") % {"label": spec.label}
                continue
            value = parsed.isoformat()
        elif spec.datatype == FieldType.SINGLE:
            if str(value) not in keys:
                errors[spec.code] = _("« %(label)s » : choix inconnu.") % {"label": spec.label}
                continue
            value = str(value)
        elif spec.datatype == FieldType.MULTI:
            chosen = [str(v) for v in (value if isinstance(value, list) else [value])]
            if any(v not in keys for v in chosen):
                errors[spec.code] = _("« %(label)s » : choix inconnu.") % {"label": spec.label}
                continue
            value = chosen
        values[spec.code] = value
    if errors:
        raise ReportError(errors)
    return values


def check_submission(sub):
    """Every check that does not write: (point, commune, attributes) or ReportError."""
    errors = {}
    category = sub.category
    if category is None or not category.active or category.children.filter(active=True).exists():
        raise ReportError({"category": _("Type de signalement inconnu ; choisissez-en un dans "
                                         "la liste.")})
    description = (sub.description or "").strip()
    if not description:
        errors["description"] = _("Décrivez le problème en quelques mots.")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Description trop longue (%(limit)d caractères au plus).") % {
            "limit": MAX_DESCRIPTION}
    for name, value, limit in (("address", sub.address, MAX_SHORT_TEXT),
                               ("contact_name", sub.contact_name, 200),
                               ("contact_phone", sub.contact_phone, 40),
                               ("contact_email", sub.contact_email, 254)):
        if value and len(value) > limit:
            errors[name] = _("%(limit)d caractères au plus.") % {"limit": limit}
    if sub.contact_email and "contact_email" not in errors:
        try:
            EmailValidator()(sub.contact_email)
        except ValidationError:
            errors["contact_email"] = _("Adresse électronique invalide.")
    if not category.anonymous_allowed and not sub.reporter and not sub.contact_email:
        errors["contact_email"] = _("Ce type de signalement demande une adresse électronique "
                                    "pour vous recontacter.")
    if len(sub.photos) > MAX_PHOTOS:
        errors["photos"] = _("%(count)d photos au plus.") % {"count": MAX_PHOTOS}
    try:
        longitude = parse_coordinate(sub.longitude, "long", -180, 180)
        latitude = parse_coordinate(sub.latitude, "lat", -89, 90)
    except ReportError as error:
        errors.update(error.errors)
        raise ReportError(errors) from None
    point = storage_point(longitude, latitude)
    try:
        commune = check_placement(category, point)
    except PlacementError as error:
        errors["location"] = str(error)
        commune = None
    try:
        attributes = clean_attributes(category, sub.attributes or {})
    except ReportError as error:
        errors.update(error.errors)
    if errors:
        raise ReportError(errors)
    return point, commune, attributes


def create_report(sub):
    """Check, store, publish and notify; returns the Report (or the earlier one for a repeated
    client_key). Raises ReportError with every problem found, before writing anything."""
    if sub.client_key:
        earlier = Report.objects.filter(client_key=sub.client_key).first()
        if earlier is not None:
            return earlier
    point, commune, attributes = check_submission(sub)
    photos = []
    for raw in sub.photos:
        try:
            photos.append(clean_photo(raw))
        except PhotoError as error:
            raise ReportError({"photos": str(error)}) from None
    service = route(sub.category, point, commune)
    if service is None:
        raise ReportError({"category": _("Aucun service ne traite encore ce type de signalement "
                                         "ici ; prévenez votre mairie.")})
    due_on = None
    days = sub.category.resolution_days or (sub.category.parent.resolution_days
                                            if sub.category.parent_id else None)
    if days:
        due_on = timezone.localdate() + timedelta(days=days)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                category=sub.category, service=service, commune=commune, location=point,
                address=(sub.address or "").strip(), description=sub.description.strip(),
                attributes=attributes, reporter=sub.reporter if sub.reporter else None,
                contact_name=(sub.contact_name or "").strip(),
                contact_email=(sub.contact_email or "").strip(),
                contact_phone=(sub.contact_phone or "").strip(),
                source=sub.source, device_id=sub.device_id or "", client_key=sub.client_key or "",
                due_on=due_on, **({"uuid": sub.uuid} if sub.uuid else {}),
            )
            for data, width, height in photos:
                ReportPhoto.objects.create(report=report, data=data, width=width, height=height)
            ReportEvent.objects.create(report=report, kind=EventKind.CREATED, public=True,
                                       actor=sub.reporter, after=Status.NEW,
                                       text=_("Signalement reçu, transmis à : %(service)s.")
                                       % {"service": service.name})
            publication.publish(report.pk)
            transaction.on_commit(lambda: notifications.report_created(report.pk))
    except IntegrityError:
        # The same client_key sent twice at once: the other request stored it.
        earlier = Report.objects.filter(client_key=sub.client_key).first() \
            if sub.client_key else None
        if earlier is None:
            raise
        return earlier
    return report


def find_duplicates(category, point, text="", limit=DUPLICATE_LIMIT):
    """Open reports of the same or a related category (or a sibling sub-category) within the
    category's radius, of the last DUPLICATE_DAYS days, nearest and most similar first.

    Each result carries ``distance_m`` and ``similarity`` (pg_trgm, 0 to 1, of the descriptions).
    """
    related = set(category.related.values_list("pk", flat=True)) | {category.pk}
    if category.parent_id:
        related |= set(Category.objects.filter(parent_id=category.parent_id)
                       .values_list("pk", flat=True))
    radius = category.duplicate_radius_m or 50
    since = timezone.now() - timedelta(days=DUPLICATE_DAYS)
    queryset = (Report.objects
                .filter(status__in=Status.open_values(), category__in=related,
                        created_at__gte=since, location__dwithin=(point, D(m=radius)))
                .annotate(distance=Distance("location", point))
                .select_related("category", "category__parent", "commune"))
    if text and text.strip():
        queryset = queryset.annotate(similarity=TrigramSimilarity("description", text.strip()))
        queryset = queryset.order_by(F("similarity").desc(), "distance")
    else:
        queryset = queryset.order_by("distance")
    results = list(queryset[:limit])
    for report in results:
        report.distance_m = round(report.distance.m)
        report.similarity = round(getattr(report, "similarity", 0) or 0, 2)
    return results


def fingerprint(request_or_key):
    """A salted hash identifying a supporter (account or address): supports once per person,
    without storing the address itself."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{request_or_key}".encode()).hexdigest()


def support(report, who, user=None):
    """Count one "me too" on an open report; False if this person already supported it."""
    if not report.is_open:
        raise ReportError({"report": _("Ce signalement est clos ; faites-en un nouveau si le "
                                       "problème est revenu.")})
    with transaction.atomic():
        _, created = Support.objects.get_or_create(report=report, fingerprint=fingerprint(who))
        if not created:
            return False
        Report.objects.filter(pk=report.pk).update(supports=F("supports") + 1,
                                                   updated_at=timezone.now())
        ReportEvent.objects.create(report=report, kind=EventKind.SUPPORTED, actor=user)
        publication.publish(report.pk)
    return True


def visible_to_public(queryset=None):
    queryset = queryset if queryset is not None else Report.objects.all()
    return queryset.filter(~Q(status__in=[Status.REJECTED, Status.DUPLICATE]))

