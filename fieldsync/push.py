"""Processing of a pushed batch: store it raw, apply each change on its own, answer per change.

Atomicity is per change (the issue asks that one invalid change spares the others): each change
runs in its own savepoint with its SyncChange row, inside the transaction of its chunk of the
batch (fieldsync.batching); its audit entry, change-log entry and published layer rows are
written at the end of the chunk if it was applied, so it is applied entirely or not at all. Changes are applied in batch order, so a
control may refer to an installation created earlier in the same batch.

Idempotency: the batch is keyed by its UUID and its answer kept; each change by its UUID
(a unique key). Replaying a batch returns the stored answer; a change already applied through
another batch answers "duplicate". A batch interrupted by a crash is resumed after its last
committed chunk.
"""
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import batching, editing, publication, wire
from .changes import ChangeSerializer, flatten_errors
from .journal import record
from .models import ChangeStatus, Device, SyncBatch, SyncChange


class BatchRefused(Exception):
    """The whole request is refused (nothing stored): an HTTP status and French reasons."""

    def __init__(self, status, *reasons):
        super().__init__("; ".join(reasons))
        self.status = status
        self.reasons = list(reasons)


def payload_digest(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _device(user, device_id):
    device = Device.objects.filter(id=device_id).first()
    if device is None or device.user_id != user.pk or not device.active:
        raise BatchRefused(403, _t("Appareil inconnu, désactivé ou enregistré pour un autre "
                                   "utilisateur : enregistrez-le d'abord (POST /api/sync/devices/)."))
    return device


def _store_batch(user, device, batch_id, payload):
    digest = payload_digest(payload)
    try:
        with transaction.atomic():
            return SyncBatch.objects.create(id=batch_id, user=user, device=device,
                                            payload=payload, payload_sha256=digest)
    except IntegrityError:
        batch = SyncBatch.objects.get(id=batch_id)
    if batch.user_id != user.pk or batch.payload_sha256 != digest:
        raise BatchRefused(409, _t("Ce lot a déjà été reçu avec un autre contenu : un nouveau lot "
                                   "doit porter un nouvel identifiant."))
    return batch


def process(user, batch_id, device_id, changes, payload):
    """Answer for a batch whose envelope is valid. Returns the answer dict."""
    device = _device(user, device_id)
    batch = _store_batch(user, device, batch_id, payload)
    if batch.response is not None:
        return batch.response  # a replay: the same answers, nothing applied again
    # In chunks of one transaction each, bookkeeping set-based per chunk (fieldsync.batching).
    results = batching.apply_changes(
        changes, lambda position, change: _process_change(batch, position, change),
        applied_status=ChangeStatus.APPLIED)
    summary = {status: sum(1 for r in results if r["status"] == status) for status in ChangeStatus}
    response = {"batch_id": str(batch.id), "received_at": batch.received_at.isoformat(),
                "summary": summary, "results": results}
    batch.response = response
    batch.processed_at = timezone.now()
    batch.save(update_fields=["response", "processed_at"])
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    if summary[ChangeStatus.APPLIED]:
        publication.refresh_metadata()
    return response


def _process_change(batch, position, raw):
    serializer = ChangeSerializer(data=raw)
    valid = serializer.is_valid()
    change_id = serializer.validated_data["change_id"] if valid else _change_id_of(raw)
    if change_id is None:
        return {"position": position, "change_id": None, "status": ChangeStatus.REJECTED,
                "reasons": flatten_errors(serializer.errors)}
    existing = batching.stored_change(change_id)  # looked up once per chunk
    if existing is not None:
        return _known_change(batch, existing, position)
    if not valid:
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.REJECTED,
                              {"reasons": flatten_errors(serializer.errors)})
    change = serializer.validated_data
    try:
        with transaction.atomic():
            return _apply(batch, position, raw, change)
    except editing.Rejected as error:
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.REJECTED,
                              {"reasons": error.reasons}, change)
    except editing.Conflict as conflict:
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.CONFLICT, {
            "reasons": [_t("Conflit : l'objet a changé sur le serveur depuis la version %(base)s "
                           "(version actuelle : %(version)s). Rien n'a été écrasé ; reprenez la "
                           "saisie sur la version du serveur ou attendez l'arbitrage du "
                           "responsable.") % {"base": change.get("base_version"),
                                              "version": conflict.version}],
            "server_version": conflict.version, "server_record": conflict.record,
        }, change)
    except IntegrityError:
        # The same change id arrived concurrently through another batch, which won.
        existing = SyncChange.objects.filter(id=change_id).first()
        if existing is None:
            raise
        return _known_change(batch, existing, position)


def _change_id_of(raw):
    try:
        return ChangeSerializer().fields["change_id"].to_internal_value(raw["change_id"])
    except Exception:  # noqa: BLE001 - any malformed id means "no usable key"
        return None


def _known_change(batch, existing, position):
    if existing.batch_id == batch.id and existing.position == position:
        return existing.answer  # a resumed batch: the answer given the first time
    return {**existing.answer, "status": ChangeStatus.DUPLICATE,
            "original_status": existing.status,
            "reasons": [_t("Modification déjà reçue (lot %(batch)s) : rien n'a été refait.")
                        % {"batch": existing.batch_id}]}


def _base_answer(position, change_id, raw):
    answer = {"position": position, "change_id": str(change_id)}
    if isinstance(raw, dict):
        answer.update({"entity": raw.get("entity"), "op": raw.get("op"), "id": raw.get("id")})
    return answer


def _store_outcome(batch, position, raw, change_id, status, extra, change=None):
    answer = {**_base_answer(position, change_id, raw), "status": status, **extra}
    try:
        with transaction.atomic():
            SyncChange.objects.create(
                id=change_id, batch=batch, position=position,
                entity=(change or {}).get("entity", "")[:20], op=(change or {}).get("op", "")[:20],
                entity_uuid=(change or {}).get("id"), base_version=(change or {}).get("base_version"),
                data=raw if isinstance(raw, dict) else {"raw": raw}, status=status, answer=answer,
                resolution=SyncChange.Resolution.OPEN if status == ChangeStatus.CONFLICT else "",
            )
    except IntegrityError:
        existing = SyncChange.objects.get(id=change_id)
        return _known_change(batch, existing, position)
    return answer


def _apply(batch, position, raw, change):
    user, device = batch.user, batch.device
    entity, op, uuid = change["entity"], change["op"], change["id"]
    base, data = change.get("base_version"), change["data"]
    answer = _base_answer(position, change["change_id"], raw)
    extra_logs = []
    if entity == "installation":
        obj = (editing.create_installation(user, uuid, data) if op == "create"
               else editing.update_installation(user, uuid, base, data))
        out = wire.installation_out(obj, user)
    else:
        if op == "create":
            obj = editing.create_control(user, uuid, data)
        elif op == "update":
            obj = editing.update_control(user, uuid, base, data)
        else:
            obj, old = editing.supersede_control(user, uuid, base, data)
            extra_logs.append(old)
        out = wire.control_out(obj, user)
        answer["missing_photos"] = editing.missing_photos(obj)
    answer.update({"status": ChangeStatus.APPLIED, "version": obj.version, "record": out})
    sync_change = SyncChange.objects.create(
        id=change["change_id"], batch=batch, position=position, entity=entity, op=op,
        entity_uuid=uuid, base_version=base, data=raw, status=ChangeStatus.APPLIED, answer=answer)
    record(user, f"{entity}.{op}", entity, uuid, obj.version, device=device, change=sync_change)
    for old in extra_logs:
        record(user, "control.superseded", "control", old.uuid, old.version, device=device,
               change=sync_change, details={"superseded_by": str(uuid)})
    # The inspector re-sent the record on the server's version: earlier conflicts are settled.
    SyncChange.objects.filter(
        entity_uuid=uuid, status=ChangeStatus.CONFLICT, resolution=SyncChange.Resolution.OPEN,
        batch__user=user,
    ).update(resolution=SyncChange.Resolution.RESUBMITTED, resolved_at=timezone.now())
    return answer
