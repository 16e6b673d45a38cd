"""Validation of pushed batches and changes (DRF serializers), with reasons in French.

Unknown fields are refused rather than ignored: a client that believes it sent a value must not
be told "applied" while the server dropped it.
"""
import datetime
import re
import uuid as uuid_module

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import FindingResult
from .rules import add_years

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
# Versions are PostgreSQL integers: every integer of the wire is bounded before it reaches SQL.
MAX_VERSION = 2 ** 31 - 1
EARLIEST_DATE = datetime.date(1990, 1, 1)
SALE_DATE_MAX_YEARS_AHEAD = 3   # a sale diagnosis is valid three years (CSP L1331-11-1)
MAX_COMPONENTS = 50
MAX_FINDINGS = 200
MAX_PHOTOS = 100


def max_batch_changes():
    return getattr(settings, "FIELDSYNC_MAX_BATCH_CHANGES", 1000)


def max_photo_bytes():
    return getattr(settings, "FIELDSYNC_MAX_PHOTO_BYTES", 20 * 1024 * 1024)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_t("Champ inconnu.")] for name in unknown})
        return super().to_internal_value(data)


class WireInteger(serializers.IntegerField):
    """A JSON integer, bounded: neither a string ("3"), nor a boolean, nor a number with a
    fraction (3.0 included), which DRF's IntegerField would coerce."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(_t("Un nombre entier est attendu."), code="invalid")
        return super().to_internal_value(data)


class PointSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2,
                                        max_length=3)

    def validate_coordinates(self, value):
        lon, lat = value[0], value[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise serializers.ValidationError(
                _t("Coordonnées hors limites : longitude puis latitude en WGS84 attendues."))
        return value


class OwnerSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    address = serializers.CharField(max_length=300, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=30, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)


class ComponentSerializer(StrictSerializer):
    type = serializers.SlugField(max_length=50)
    volume_m3 = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0,
                                         required=False, allow_null=True)
    approval_number = serializers.CharField(max_length=50, allow_blank=True, required=False)
    comment = serializers.CharField(max_length=300, allow_blank=True, required=False)


class InstallationDataSerializer(StrictSerializer):
    geometry = PointSerializer(required=False)
    address = serializers.CharField(max_length=300, allow_blank=True, required=False)
    parcels = serializers.ListField(child=serializers.CharField(max_length=20), max_length=50,
                                    required=False)
    owner = OwnerSerializer(required=False)
    capacity_eh = WireInteger(min_value=1, max_value=20000, required=False, allow_null=True)
    year_built = WireInteger(min_value=1900, required=False, allow_null=True)
    components = ComponentSerializer(many=True, required=False, max_length=MAX_COMPONENTS)

    def validate_year_built(self, value):
        if value is not None and value > timezone.localdate().year:
            raise serializers.ValidationError(_t("L'année de mise en service est dans le futur."))
        return value


class FindingSerializer(StrictSerializer):
    item = serializers.SlugField(max_length=50)
    result = serializers.ChoiceField(choices=FindingResult.choices)
    comment = serializers.CharField(max_length=500, allow_blank=True, required=False)


class PhotoRefSerializer(StrictSerializer):
    sha256 = serializers.CharField(max_length=64)
    size = WireInteger(min_value=1, max_value=2 ** 63 - 1)
    content_type = serializers.ChoiceField(choices=PHOTO_TYPES, required=False)
    caption = serializers.CharField(max_length=300, allow_blank=True, required=False)
    taken_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_sha256(self, value):
        value = value.lower()
        if not SHA256_RE.match(value):
            raise serializers.ValidationError(
                _t("Empreinte SHA-256 invalide : 64 caractères hexadécimaux attendus."))
        return value

    def validate_size(self, value):
        if value > max_photo_bytes():
            raise serializers.ValidationError(
                _t("Photo trop volumineuse : %(size)d octets, %(max)d au plus.")
                % {"size": value, "max": max_photo_bytes()})
        return value


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


ENTITY_OPS = {
    "installation": {"create", "update"},
    "control": {"create", "update", "supersede"},
}


class ChangeSerializer(StrictSerializer):
    change_id = serializers.UUIDField()
    entity = serializers.ChoiceField(choices=sorted(ENTITY_OPS))
    op = serializers.ChoiceField(choices=["create", "update", "supersede"])
    id = serializers.UUIDField(help_text=_("Identifiant de l'objet, créé par le terminal pour "
                                           "une création."))
    base_version = WireInteger(
        min_value=1, max_value=MAX_VERSION, required=False, allow_null=True,
        help_text=_("Version du serveur sur laquelle la modification a été faite."))
    resubmits = serializers.UUIDField(
        required=False, help_text=_("change_id du conflit que cette modification renvoie sur la "
                                    "version du serveur : ce conflit, et lui seul, est clos."))
    data = serializers.DictField(help_text=_("Champs de l'objet (voir docs/sync-protocol.md)."))

    def validate(self, attrs):
        errors = {}
        if attrs["op"] not in ENTITY_OPS[attrs["entity"]]:
            errors["op"] = [_t("Opération « %(op)s » impossible sur « %(entity)s ».")
                            % {"op": attrs["op"], "entity": attrs["entity"]}]
        if attrs["op"] in ("update", "supersede") and not attrs.get("base_version"):
            errors["base_version"] = [
                _t("La version de base est obligatoire pour une modification.")]
        if attrs.get("resubmits") and attrs["op"] == "create":
            errors["resubmits"] = [_t("Une création ne renvoie aucun conflit.")]
        data_serializer = (InstallationDataSerializer if attrs["entity"] == "installation"
                           else ControlDataSerializer)(data=attrs["data"])
        if not data_serializer.is_valid():
            errors["data"] = data_serializer.errors
        if errors:
            raise serializers.ValidationError(errors)
        attrs["data"] = data_serializer.validated_data
        return attrs


class BatchSerializer(StrictSerializer):
    """The envelope only: each change is validated on its own, so one bad change spares the rest."""
    batch_id = serializers.UUIDField()
    device_id = serializers.UUIDField()
    changes = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    def validate_changes(self, value):
        if len(value) > max_batch_changes():
            raise serializers.ValidationError(
                _t("Lot trop gros : %(count)d modifications, %(max)d au plus par lot ; "
                   "découpez-le en plusieurs lots.") % {"count": len(value),
                                                         "max": max_batch_changes()})
        return value


def flatten_errors(errors, prefix=""):
    """DRF's nested errors → ["data.findings.0.item : Ce champ est obligatoire.", …]."""
    reasons = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            label = key if key != "non_field_errors" else ""
            reasons += flatten_errors(value, f"{prefix}.{label}".strip(".") if label else prefix)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, (dict, list)):
                reasons += flatten_errors(value, f"{prefix}.{index}".strip("."))
            else:
                reasons.append(f"{prefix} : {value}" if prefix else str(value))
    else:
        reasons.append(f"{prefix} : {errors}" if prefix else str(errors))
    return reasons


# --- the fast path: one pass over plain dicts --------------------------------------------------
# Building a DRF serializer per change (and per finding, per photo) cost about a fifth of a push's
# time. `validate_change` checks a change in one pass over the parsed JSON and returns exactly what
# ChangeSerializer would (same types, same trimming); whatever it cannot vouch for — an error, or a
# value in a form the plain path does not read (a date as 20261202, a UUID without hyphens, an
# installation's data) — goes through ChangeSerializer, which words the errors: the reasons and
# limits are the serializers' own, in one place.
class _Unsure(Exception):
    pass


UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")  # DRF's SlugField
SURROGATE_RE = re.compile("[\ud800-\udfff\x00]")  # refused by DRF's CharField
CHANGE_KEYS = frozenset(ChangeSerializer._declared_fields)
CONTROL_KEYS = frozenset(ControlDataSerializer._declared_fields)
FINDING_KEYS = frozenset(FindingSerializer._declared_fields)
PHOTO_KEYS = frozenset(PhotoRefSerializer._declared_fields)
RESULTS = frozenset(FindingResult.values)
CONTROL_STATUSES = frozenset({"in_progress", "submitted"})
OPS = frozenset({"create", "update", "supersede"})
_TAKEN_AT = serializers.DateTimeField(required=False, allow_null=True)


def _uuid(value):
    if type(value) is not str or not UUID_RE.match(value):
        raise _Unsure
    return uuid_module.UUID(value)


def _text(value, max_length, allow_blank=False):
    if type(value) is not str:
        raise _Unsure
    value = value.strip()
    if (not value and not allow_blank) or len(value) > max_length or SURROGATE_RE.search(value):
        raise _Unsure
    return value


def _slug(value, max_length=50):
    value = _text(value, max_length)
    if not SLUG_RE.match(value):
        raise _Unsure
    return value


def _choice(value, choices):
    if type(value) is not str or value not in choices:
        raise _Unsure
    return value


def _date(value, earliest, latest):
    if value is None:
        return None
    if type(value) is not str or not DATE_RE.match(value):
        raise _Unsure
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise _Unsure from None
    if not earliest <= day <= latest:
        raise _Unsure
    return day


def _findings(value):
    if type(value) is not list or len(value) > MAX_FINDINGS:
        raise _Unsure
    out, seen = [], set()
    for finding in value:
        if type(finding) is not dict or not finding.keys() <= FINDING_KEYS:
            raise _Unsure
        item = _slug(finding.get("item"))
        clean = {"item": item, "result": _choice(finding.get("result"), RESULTS)}
        if "comment" in finding:
            clean["comment"] = _text(finding["comment"], 500, allow_blank=True)
        if item in seen:
            raise _Unsure
        seen.add(item)
        out.append(clean)
    return out


def _photos(value):
    if type(value) is not list or len(value) > MAX_PHOTOS:
        raise _Unsure
    out, seen, largest = [], set(), max_photo_bytes()
    for photo in value:
        if type(photo) is not dict or not photo.keys() <= PHOTO_KEYS:
            raise _Unsure
        sha = _text(photo.get("sha256"), 64).lower()
        size = photo.get("size")
        if not SHA256_RE.match(sha) or sha in seen or type(size) is not int \
                or not 1 <= size <= largest:
            raise _Unsure
        seen.add(sha)
        clean = {"sha256": sha, "size": size}
        if "content_type" in photo:
            clean["content_type"] = _choice(photo["content_type"], PHOTO_TYPES)
        if "caption" in photo:
            clean["caption"] = _text(photo["caption"], 300, allow_blank=True)
        if "taken_at" in photo:
            try:
                clean["taken_at"] = _TAKEN_AT.run_validation(photo["taken_at"])
            except serializers.ValidationError:
                raise _Unsure from None
        out.append(clean)
    return out


def _control_data(data):
    if not data.keys() <= CONTROL_KEYS:
        raise _Unsure
    clean, today = {}, timezone.localdate()
    for name, value in data.items():
        if name in ("installation", "supersedes"):
            clean[name] = _uuid(value)
        elif name == "kind":
            clean[name] = _slug(value)
        elif name == "status":
            clean[name] = _choice(value, CONTROL_STATUSES)
        elif name == "visit_date":
            clean[name] = _date(value, EARLIEST_DATE, today)
        elif name == "sale_date":
            clean[name] = _date(value, EARLIEST_DATE,
                                add_years(today, SALE_DATE_MAX_YEARS_AHEAD))
        elif name == "findings":
            clean[name] = _findings(value)
        elif name == "photos":
            clean[name] = _photos(value)
        else:  # comments
            clean[name] = _text(value, 10000, allow_blank=True)
    return clean


# The data validated in one pass, per entity (the others go through their serializer).
FAST_DATA = {"control": _control_data}


def _fast(raw):
    if type(raw) is not dict or not raw.keys() <= CHANGE_KEYS:
        raise _Unsure
    entity, op, data = raw.get("entity"), raw.get("op"), raw.get("data")
    if entity not in FAST_DATA or op not in ENTITY_OPS[entity] or type(data) is not dict:
        raise _Unsure
    change = {"change_id": _uuid(raw.get("change_id")), "entity": entity, "op": op,
              "id": _uuid(raw.get("id"))}
    if "base_version" in raw:
        base = raw["base_version"]
        if base is not None and (type(base) is not int or not 1 <= base <= MAX_VERSION):
            raise _Unsure
        change["base_version"] = base
    if op != "create" and not change.get("base_version"):
        raise _Unsure
    if "resubmits" in raw:
        if op == "create":
            raise _Unsure
        change["resubmits"] = _uuid(raw["resubmits"])
    change["data"] = FAST_DATA[entity](data)
    return change


def validate_change(raw):
    """(validated change, []) or (None, reasons in French): ChangeSerializer's answer, in one
    pass over the dicts when the change is plainly valid."""
    try:
        return _fast(raw), []
    except _Unsure:
        pass
    serializer = ChangeSerializer(data=raw)
    if serializer.is_valid():
        return serializer.validated_data, []
    return None, flatten_errors(serializer.errors)
