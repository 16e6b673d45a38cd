"""The sync wire's fields: the limits, the DRF serializers' strict base classes, and the checks
of the one-pass validation (fieldsync.validation) that mirror DRF's fields exactly.

Unknown fields are refused rather than ignored: a client that believes it sent a value must not
be told "applied" while the server dropped it.
"""
import datetime
import re
import uuid as uuid_module

from django.conf import settings
from django.utils.translation import gettext as _t
from rest_framework import serializers

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


class PhotoRefSerializer(StrictSerializer):
    """A photo announced in a record's data: its SHA-256, size and type (the bytes follow by
    PUT /api/sync/photos/<sha256>/). max_bytes: the record type's limit."""
    max_bytes = staticmethod(max_photo_bytes)

    sha256 = serializers.CharField(max_length=64)
    size = WireInteger(min_value=1, max_value=2 ** 63 - 1)
    content_type = serializers.ChoiceField(choices=PHOTO_TYPES, required=False)
    caption = serializers.CharField(max_length=300, allow_blank=True, required=False)

    def validate_sha256(self, value):
        value = value.lower()
        if not SHA256_RE.match(value):
            raise serializers.ValidationError(
                _t("Empreinte SHA-256 invalide : 64 caractères hexadécimaux attendus."))
        return value

    def validate_size(self, value):
        if value > self.max_bytes():
            raise serializers.ValidationError(
                _t("Photo trop volumineuse : %(size)d octets, %(max)d au plus.")
                % {"size": value, "max": self.max_bytes()})
        return value


# --- the one-pass checks -------------------------------------------------------------------------
# Each returns the value DRF's field would give, or raises Unsure when it cannot vouch for it (an
# error, or a form it does not read): the serializer then decides, and words the error.
class Unsure(Exception):
    pass


UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")  # DRF's SlugField
SURROGATE_RE = re.compile("[\ud800-\udfff\x00]")  # refused by DRF's CharField


def uuid(value):
    if type(value) is not str or not UUID_RE.match(value):
        raise Unsure
    return uuid_module.UUID(value)


def text(value, max_length, allow_blank=False):
    if type(value) is not str:
        raise Unsure
    value = value.strip()
    if (not value and not allow_blank) or len(value) > max_length or SURROGATE_RE.search(value):
        raise Unsure
    return value


def slug(value, max_length=50):
    value = text(value, max_length)
    if not SLUG_RE.match(value):
        raise Unsure
    return value


def choice(value, choices):
    if type(value) is not str or value not in choices:
        raise Unsure
    return value


def date(value, earliest, latest):
    if value is None:
        return None
    if type(value) is not str or not DATE_RE.match(value):
        raise Unsure
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise Unsure from None
    if not earliest <= day <= latest:
        raise Unsure
    return day


def as_uuid(value):
    """The UUID a DRF UUIDField would read from this value (a string in any of its forms, or an
    integer), or None; for the look-ups made before validating (fieldsync.batching)."""
    try:
        if isinstance(value, uuid_module.UUID):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return uuid_module.UUID(int=value)
        return uuid_module.UUID(hex=value) if isinstance(value, str) else None
    except ValueError:
        return None
