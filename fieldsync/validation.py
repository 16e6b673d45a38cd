"""Validation of pushed batches and changes, with reasons in French.

ChangeSerializer (DRF) is the reference: the envelope of a change here, its `data` by its record
type's serializer (fieldsync.records). Building a DRF serializer per change (and per finding, per
photo) cost about a fifth of a push's time, so `validate_change` first checks a change in one pass
over the parsed JSON and returns exactly what ChangeSerializer would (same types, same trimming);
whatever it cannot vouch for — an error, or a value in a form the plain path does not read (a
date as 20261202, a UUID without hyphens, a record type without one-pass validation) — goes
through ChangeSerializer, which words the errors: the reasons and limits are the serializers'
own, in one place.
"""
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import records, serializers as fields
from .serializers import MAX_VERSION, StrictSerializer, Unsure, WireInteger, max_batch_changes


class ChangeSerializer(StrictSerializer):
    change_id = serializers.UUIDField()
    entity = serializers.ChoiceField(choices=sorted(records.REGISTRY))
    op = serializers.ChoiceField(choices=records.ops())
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
        record_type = records.get(attrs["entity"])
        if attrs["op"] not in record_type.ops:
            errors["op"] = [_t("Opération « %(op)s » impossible sur « %(entity)s ».")
                            % {"op": attrs["op"], "entity": attrs["entity"]}]
        if attrs["op"] in ("update", "supersede") and not attrs.get("base_version"):
            errors["base_version"] = [
                _t("La version de base est obligatoire pour une modification.")]
        if attrs.get("resubmits") and attrs["op"] == "create":
            errors["resubmits"] = [_t("Une création ne renvoie aucun conflit.")]
        data_serializer = record_type.data_serializer(data=attrs["data"])
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


CHANGE_KEYS = frozenset(ChangeSerializer._declared_fields)


def _fast(raw):
    if type(raw) is not dict or not raw.keys() <= CHANGE_KEYS:
        raise Unsure
    entity, op, data = raw.get("entity"), raw.get("op"), raw.get("data")
    record_type = records.REGISTRY.get(entity) if type(entity) is str else None
    if record_type is None or op not in record_type.ops or type(data) is not dict:
        raise Unsure
    change = {"change_id": fields.uuid(raw.get("change_id")), "entity": entity, "op": op,
              "id": fields.uuid(raw.get("id"))}
    if "base_version" in raw:
        base = raw["base_version"]
        if base is not None and (type(base) is not int or not 1 <= base <= MAX_VERSION):
            raise Unsure
        change["base_version"] = base
    if op != "create" and not change.get("base_version"):
        raise Unsure
    if "resubmits" in raw:
        if op == "create":
            raise Unsure
        change["resubmits"] = fields.uuid(raw["resubmits"])
    change["data"] = record_type.fast_data(data)
    return change


def validate_change(raw):
    """(validated change, []) or (None, reasons in French): ChangeSerializer's answer, in one
    pass over the dicts when the change is plainly valid."""
    try:
        return _fast(raw), []
    except Unsure:
        pass
    serializer = ChangeSerializer(data=raw)
    if serializer.is_valid():
        return serializer.validated_data, []
    return None, flatten_errors(serializer.errors)
