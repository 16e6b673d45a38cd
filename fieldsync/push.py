"""Processing of a pushed batch: store it raw, apply each change on its own, answer per change.

Atomicity is per change (the issue asks that one invalid change spares the others): each change
runs in its own savepoint with its SyncChange row, inside the transaction of its chunk of the
batch (fieldsync.batching); its audit entry, change-log entry and published layer rows are
written at the end of the chunk if it was applied, so it is applied entirely or not at all.
Changes are applied in batch order, so a control may refer to an installation created earlier in
the same batch.

Idempotency: the batch is keyed by its UUID and its answer kept; each change by its UUID
(a unique key). Replaying a batch returns the stored answer; a change already received through
another batch, from the same user with the same content, answers "duplicate" with its
`original_status` and the record's *current* state; a change id reused by another user or with
other content is rejected (the new edit is never silently dropped). A batch interrupted by a
crash is resumed after its last committed chunk.

Concurrency: a chunk that loses a deadlock or a serialization failure (SQLSTATE 40P01, 40001) is
rolled back and applied again, a bounded number of times (fieldsync.batching); the lock order of
the records (fieldsync.records.control) keeps that rare. Past the last try the request answers
503 `busy` (the chunks before are committed; resend the same batch).

PostgreSQL refuses the NUL character in text and jsonb: a change holding one is rejected with its
path, and the stored copy of the batch has it replaced by U+FFFD (its digest is the one of the
bytes received).
"""
import hashlib
import json
import logging

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import batching, chunk, publication, records
from .history import record
from .records.base import Conflict, Rejected
from .serializers import as_uuid
from .validation import ChangeSerializer, validate_change
from .models import ChangeStatus, Device, SyncBatch, SyncChange

logger = logging.getLogger(__name__)

NUL = "\x00"
REPLACEMENT = "\ufffd"


class BatchRefused(Exception):
    """The whole request is refused (nothing stored): an HTTP status and French reasons."""

    def __init__(self, status, *reasons, code=None):
        super().__init__("; ".join(reasons))
        self.status = status
        self.reasons = list(reasons)
        self.code = code


# A chunk kept losing deadlocks: nothing of it was written; resend the same batch.
Busy = batching.Busy


def payload_digest(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def nul_paths(value, path=""):
    """Paths ("data.comments", "changes.3.id", …) of the strings and keys holding a NUL."""
    found = []
    if isinstance(value, str):
        if NUL in value:
            found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}".strip(".")
            if NUL in str(key):
                found.append(child.replace(NUL, REPLACEMENT))
            found += nul_paths(item, child.replace(NUL, REPLACEMENT))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}.{index}".strip("."))
    return found


def without_nul(value):
    """A copy PostgreSQL can store: NUL replaced by U+FFFD in every string and key."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {str(k).replace(NUL, REPLACEMENT): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def device_for(user, device_id):
    """The user's active device, or BatchRefused(403) with a code the client acts on:
    device_unknown (register it), device_other_user, device_deactivated (stop: never register
    again)."""
    device = Device.objects.filter(id=device_id).first()
    if device is None:
        raise BatchRefused(403, _t("Appareil inconnu : enregistrez-le d'abord "
                                   "(POST /api/sync/devices/)."), code="device_unknown")
    if device.user_id != user.pk:
        raise BatchRefused(403, _t("Cet appareil est enregistré pour un autre utilisateur."),
                           code="device_other_user")
    if not device.active:
        raise BatchRefused(403, deactivated_message(), code="device_deactivated")
    return device


def deactivated_message():
    return _t("Cet appareil a été désactivé par un administrateur (perte, vol…) : il ne peut plus "
              "synchroniser ni télécharger de données. Ne le réenregistrez pas : adressez-vous à "
              "votre responsable SPANC.")


def _store_batch(user, device, batch_id, payload):
    digest = payload_digest(payload)
    stored = without_nul(payload) if nul_paths(payload) else payload
    try:
        with transaction.atomic():
            return SyncBatch.objects.create(id=batch_id, user=user, device=device,
                                            payload=stored, payload_sha256=digest)
    except IntegrityError:
        batch = SyncBatch.objects.get(id=batch_id)
    if batch.user_id != user.pk or batch.payload_sha256 != digest:
        raise BatchRefused(409, _t("Ce lot a déjà été reçu avec un autre contenu : un nouveau lot "
                                   "doit porter un nouvel identifiant."))
    return batch


def process(user, batch_id, device_id, changes, payload):
    """Answer for a batch whose envelope is valid. Returns the answer dict."""
    device = device_for(user, device_id)
    batch = _store_batch(user, device, batch_id, payload)
    if batch.response is not None:
        return refreshed(user, batch.response)  # a replay: nothing applied again
    # In chunks of one transaction each, bookkeeping set-based per chunk (fieldsync.batching).
    results = batching.apply_changes(  # raises Busy past the last retry
        changes, lambda position, change: _process_change(batch, position, change),
        applied_status=ChangeStatus.APPLIED, prepare=lambda changes: _prepare(user, changes),
        names=_names)
    summary = {status: sum(1 for r in results if r["status"] == status) for status in ChangeStatus}
    response = without_nul({"batch_id": str(batch.id), "received_at": batch.received_at.isoformat(),
                            "summary": summary, "results": results})
    batch.response = response
    batch.processed_at = timezone.now()
    batch.save(update_fields=["response", "processed_at"])
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    if summary[ChangeStatus.APPLIED]:
        publication.refresh_metadata()
    return refreshed(user, response)  # a resumed batch holds stored answers of before the crash


def _record_type(raw):
    entity = raw.get("entity") if isinstance(raw, dict) else None
    return records.REGISTRY.get(entity) if isinstance(entity, str) else None


def _names(raw):
    """The identifiers a change names: its change id and the records it reads or writes."""
    record_type = _record_type(raw)
    if record_type is None:
        return set()
    return {as_uuid(value) for value in [raw.get("change_id"), *record_type.names(raw)]} - {None}


def _prepare(user, changes):
    """Look up and lock the chunk's records at once, type by type (RecordType.prepare), telling
    each what the chunk's changes modify and how often."""
    modified, by_type = {}, {}
    for raw in changes:
        record_type = _record_type(raw)
        if record_type is None:
            continue
        by_type.setdefault(record_type.entity, []).append(raw)
        for entity, identifier in record_type.modifies(raw):
            key = (entity, as_uuid(identifier))
            modified[key] = modified.get(key, 0) + 1
    for entity, raws in by_type.items():
        records.get(entity).prepare(user, raws, modified)


def refreshed(user, response):
    """A stored answer replayed: the same, except what its record types recompute (a control's
    `missing_photos`: photos uploaded since are no longer listed, so a client never re-sends or
    keeps what the server holds)."""
    wanted = {}
    for result in response["results"]:
        if result.get("id") and result.get("entity") in records.REGISTRY:
            wanted.setdefault(result["entity"], set()).add(result["id"])
    fresh = {}
    for entity, uuids in wanted.items():
        fresh.update(((entity, uuid), members)
                     for uuid, members in records.get(entity).refreshed(user, uuids).items())
    if not fresh:
        return response
    results = []
    for result in response["results"]:
        members = fresh.get((result.get("entity"), result.get("id")), {})
        results.append({**result, **{k: v for k, v in members.items() if k in result}})
    return {**response, "results": results}


def _process_change(batch, position, raw):
    nul = nul_paths(raw)
    if nul:
        raw = without_nul(raw)
        reasons = [_t("%(path)s : le caractère NUL (U+0000) est interdit.")
                   % {"path": path or "modification"} for path in nul[:20]]
        valid = False
    change = None
    if not nul:
        change, reasons = validate_change(raw)  # one pass over the dicts when plainly valid
        valid = change is not None
    change_id = change["change_id"] if valid else _change_id_of(raw)
    if change_id is None:
        return {"position": position, "change_id": None, "status": ChangeStatus.REJECTED,
                "reasons": reasons}
    existing = batching.stored_change(change_id)  # looked up once per chunk
    if existing is not None:
        return _known_change(batch, existing, position, raw)
    if not valid:
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.REJECTED,
                              {"reasons": reasons})
    try:
        return _apply_once(batch, position, raw, change)
    except DatabaseError as error:
        if (sqlstate(error) or "")[:2] not in ("22", "23"):
            raise  # a deadlock or serialization failure: the whole chunk is applied again
        # A value the database refuses (data exception, integrity) that the validation let
        # through: deterministic, so reject this change (its savepoint is rolled back) rather
        # than fail the batch on every retry and block every change after it.
        logger.exception("Modification %s refusée par la base de données", change_id)
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.REJECTED, {
            "reasons": [_t("Valeur refusée par la base de données (%(code)s) : rien n'a "
                           "été écrit ; corrigez la saisie, ou signalez-le si elle est "
                           "correcte.") % {"code": sqlstate(error)}]}, change)


def sqlstate(error):
    cause = error.__cause__
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def _apply_once(batch, position, raw, change):
    change_id = change["change_id"]
    try:
        with transaction.atomic():
            return _apply(batch, position, raw, change)
    except Rejected as error:
        return _store_outcome(batch, position, raw, change_id, ChangeStatus.REJECTED,
                              {"reasons": error.reasons}, change)
    except Conflict as conflict:
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
        existing = SyncChange.objects.filter(id=change_id).select_related("batch").first()
        if existing is None:
            raise
        return _known_change(batch, existing, position, raw)


def _change_id_of(raw):
    try:
        return ChangeSerializer().fields["change_id"].to_internal_value(raw["change_id"])
    except Exception:  # noqa: BLE001 - any malformed id means "no usable key"
        return None


def _known_change(batch, existing, position, raw):
    if existing.batch_id == batch.id and existing.position == position:
        return existing.answer  # a resumed batch: the answer given the first time
    answer = _base_answer(position, existing.id, raw)
    if existing.batch.user_id != batch.user_id or payload_digest(existing.data) != \
            payload_digest(raw if isinstance(raw, dict) else {"raw": raw}):
        return {**answer, "status": ChangeStatus.REJECTED, "reasons": [
            _t("Cet identifiant de modification (change_id) a déjà servi à une autre "
               "modification : rien n'a été appliqué. Renvoyez-la avec un nouvel identifiant.")]}
    return {**answer, **current_state(batch.user, existing), "status": ChangeStatus.DUPLICATE,
            "original_status": existing.status, "original_batch": str(existing.batch_id),
            "reasons": [_t("Modification déjà reçue (lot %(batch)s) : rien n'a été refait.")
                        % {"batch": existing.batch_id}] + existing.answer.get("reasons", [])}


def current_state(user, change):
    """What a duplicate answers besides its original status: the record as it is *now* (photos
    verified since are no longer missing), and for a conflict its resolution."""
    state = {}
    if change.status == ChangeStatus.CONFLICT:
        state["resolution"] = change.resolution or SyncChange.Resolution.OPEN
    if change.status not in (ChangeStatus.APPLIED, ChangeStatus.CONFLICT) or not change.entity_uuid:
        return state
    record_type = records.get(change.entity)
    obj = record_type.load(user, change.entity_uuid)
    if obj is None:
        return state  # gone out of the user's scope since: nothing to show
    out = record_type.out(obj, user)
    if change.status == ChangeStatus.APPLIED:
        state.update({"version": obj.version, "record": out, **record_type.answer(obj)})
    else:
        state.update({"server_version": obj.version, "server_record": out})
    return state


def _base_answer(position, change_id, raw):
    answer = {"position": position, "change_id": str(change_id)}
    if isinstance(raw, dict):
        answer.update({"entity": raw.get("entity"), "op": raw.get("op"), "id": raw.get("id")})
    return answer


def _store_outcome(batch, position, raw, change_id, status, extra, change=None):
    answer = without_nul({**_base_answer(position, change_id, raw), "status": status, **extra})
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
        existing = SyncChange.objects.select_related("batch").get(id=change_id)
        return _known_change(batch, existing, position, raw)
    return answer


def _apply(batch, position, raw, change):
    user, device = batch.user, batch.device
    entity, op, uuid = change["entity"], change["op"], change["id"]
    base, data = change.get("base_version"), change["data"]
    answer = _base_answer(position, change["change_id"], raw)
    record_type = records.get(entity)
    if not record_type.admits(user):
        raise Rejected(_t("Vous n'avez pas le droit d'envoyer ce type d'enregistrement "
                          "(« %(entity)s »).") % {"entity": entity})
    obj, superseded = record_type.apply(user, op, uuid, base, data)
    out = record_type.out(obj, user)
    answer.update(record_type.answer(obj))
    answer.update({"status": ChangeStatus.APPLIED, "version": obj.version, "record": out})
    # The lock order: records (above), then SyncChange rows, then the change log (record()).
    resubmitted = _close_resubmitted(user, change)
    if resubmitted:
        answer["resubmits"] = resubmitted
    sync_change = SyncChange(
        id=change["change_id"], batch=batch, position=position, entity=entity, op=op,
        entity_uuid=uuid, base_version=base, data=raw, status=ChangeStatus.APPLIED, answer=answer)
    unit = chunk.deferring()
    if unit is not None:  # written with the chunk's others (batching), like its journal
        unit.change.sync_changes.append(sync_change)
    else:
        sync_change.save(force_insert=True)
    record(user, f"{entity}.{op}", entity, uuid, obj.version, device=device, change=sync_change)
    for old in superseded:
        record(user, f"{entity}.superseded", entity, old.uuid, old.version, device=device,
               change=sync_change, details={"superseded_by": str(uuid)})
    return answer


def _close_resubmitted(user, change):
    """The conflict this change resends on the server's version (`resubmits`), and only that one,
    leaves the manager's list. Another change to the same record closes nothing."""
    conflict_id = change.get("resubmits")
    if not conflict_id:
        return None
    record_type = records.get(change["entity"])
    targets = {as_uuid(identifier) for _entity, identifier in record_type.modifies(change)}
    conflict = (SyncChange.objects.select_for_update(of=("self",))
                .filter(id=conflict_id, status=ChangeStatus.CONFLICT, batch__user=user,
                        entity=change["entity"]).first())
    if conflict is None or not record_type.resubmits(conflict, targets):
        raise Rejected(_t("resubmits : ce n'est pas l'un de vos conflits sur cet objet."))
    if conflict.resolution == SyncChange.Resolution.OPEN:
        conflict.resolution = SyncChange.Resolution.RESUBMITTED
        conflict.resolved_at = timezone.now()
        conflict.save(update_fields=["resolution", "resolved_at"])
    return str(conflict.id)
