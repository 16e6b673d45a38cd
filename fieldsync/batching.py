"""A pushed batch applied in chunks: one transaction per chunk, set-based bookkeeping per chunk.

Why: applied one transaction per change, a control with 12 findings and 2 photos cost ~65 SQL
statements and a commit (~17 changes/s), most of them the same for every change of the batch: the
vocabularies read again, the published layer rows upserted and their tile caches purged change by
change, the audit trail and change log written row by row, the catalogue's layers looked up.

How (the answers and the committed data are the same as change by change):
- the changes of a batch are applied in chunks of CHUNK_SIZE, each chunk in one transaction, each
  change in a savepoint of it (push._process_change's own `atomic`): a rejected change or a
  conflict still rolls back that change alone, and an applied change is committed with its chunk;
- while a chunk runs, the published rows to refresh (publication.publish), the audit entries and
  the change-log rows (journal.record) of each change are collected; those of a change that did
  not end "applied" are dropped (its savepoint was rolled back). At the end of the chunk, in the
  same transaction, the published rows are refreshed by one INSERT … SELECT per layer, the tile
  caches purged once per layer over the chunk's area, the audit entries and the change-log rows
  inserted in one statement each, the change-log lock (journal) taken only then, for the commit;
- vocabularies (checklist items, grid, periods) are read once per chunk (`cached`).
- a deadlock or serialization failure of a chunk rolls it back and applies it again (RETRIES
  times), since nothing of it was committed; then Busy is raised (nothing of the chunk written;
  the same batch sent again resumes after the chunks committed before it).

A batch interrupted by a crash keeps its committed chunks; its replay resumes after them
(push._known_change answers the changes already stored).
"""
import contextlib
import logging
import time
import uuid

from django.db import DatabaseError, IntegrityError, transaction

from . import chunk as context  # (a local "chunk" is a slice of the batch here)
from . import history, publication, records, retry
from .models import SyncChange
from .retry import Replay

log = logging.getLogger(__name__)

CHUNK_SIZE = 100
RETRIES = retry.RETRIES



class _Pending:
    """What one change (or a chunk's kept changes) asks to be written at the end of the chunk."""

    def __init__(self):
        self.published = {}    # layer name: ids of its rows to refresh (fieldsync.publication)
        self.audit = []        # AuditEntry instances, unsaved
        self.changelog = []    # ChangeLog instances, unsaved, in the order of the changes
        self.sync_changes = []  # SyncChange rows of the applied changes, unsaved
        self.rows = {}         # a record type's pending rows: name: {key: value} (later wins)

    def merge(self, other):
        for layer, ids in other.published.items():
            self.published.setdefault(layer, set()).update(ids)
        self.audit += other.audit
        self.changelog += other.changelog
        self.sync_changes += other.sync_changes
        for name, rows in other.rows.items():
            self.rows.setdefault(name, {}).update(rows)


class Unit:
    """The chunk being applied: its pending writes and its read-only caches."""

    def __init__(self, defer=True):
        self.defer = defer  # write the records' rows at the end (chunk.deferring)
        self.kept = _Pending()
        self.change = _Pending()
        self.cache = {}
        self.prepared = {}  # records looked up and locked for the whole chunk (chunk.take)
        self.unknown_change_ids = set()  # change ids no SyncChange had when the chunk began
        self.named = set()  # what the changes since the last flush named (see _apply_chunk)

    def publish(self, rows):
        for layer, ids in rows.items():
            self.change.published.setdefault(layer, set()).update(ids)

    def journal(self, audit_entry, changelog_entry):
        self.change.audit.append(audit_entry)
        self.change.changelog.append(changelog_entry)

    def pending(self, name):
        """This change's pending rows of one kind ({key: value}; see records.*.write_pending)."""
        return self.change.rows.setdefault(name, {})

    def kept_rows(self, name):
        """The pending rows of one kind that the chunk's applied changes left (not written yet)."""
        return self.kept.rows.get(name, {})

    def end_change(self, applied):
        if applied:
            self.kept.merge(self.change)
        self.change = _Pending()

    def flush(self):
        """Write what the chunk's applied changes asked for (inside the chunk's transaction): each
        record type's rows, in the registry's order, then the sync changes, the published rows
        and the journal."""
        pending, self.kept = self.kept, _Pending()
        self.named = set()
        token = context.enter(None)  # the writes below are the real ones
        try:
            for record_type in records.REGISTRY.values():
                record_type.write_pending(pending.rows, self)
            if pending.sync_changes:
                try:
                    SyncChange.objects.bulk_create(pending.sync_changes)
                except IntegrityError as error:
                    # A concurrent batch stored one of these change ids meanwhile: the chunk
                    # starts again and answers that change as already received.
                    raise Replay("change id stored concurrently") from error
            if pending.published:
                publication.publish(pending.published)
            history.write(pending.audit, pending.changelog)
        finally:
            context.leave(token)


def stored_change(change_id):
    """The SyncChange of this change id, or None. Within a chunk, the ids are looked up once for
    the whole chunk; an id met a second time (the same change twice in a batch) is read again. A
    concurrent batch storing the same id meanwhile is caught by the unique key, as before."""
    unit = context.current()
    if unit is not None and change_id in unit.unknown_change_ids:
        unit.unknown_change_ids.discard(change_id)
        return None
    return SyncChange.objects.filter(id=change_id).select_related("batch").first()


def _change_ids(chunk):
    ids = set()
    for _position, change in chunk:
        try:
            ids.add(uuid.UUID(str(change["change_id"])))
        except (TypeError, KeyError, ValueError, AttributeError):
            continue
    return ids


@contextlib.contextmanager
def _unit(defer):
    unit = Unit(defer)
    token = context.enter(unit)
    try:
        yield unit
    finally:
        context.leave(token)


class Busy(Exception):
    """A chunk kept losing deadlocks or serialization failures: nothing of it was committed; the
    same batch sent again resumes after the chunks committed before it."""


def apply_changes(changes, process, applied_status="applied", prepare=None, names=None):
    """[process(position, change) for each change], chunk by chunk as described above.
    `process` returns the change's answer dict; its "status" tells whether it was applied.
    `prepare(changes)`, called first in each chunk's transaction, may look up and lock the
    records the chunk names, in one query per kind (chunk.prepare / chunk.take). `names(change)`
    is the set of identifiers (change id, records) a change names: a change naming one that an
    earlier change of the chunk named has the pending rows written first (outside its
    savepoint), so that it reads them as they are."""
    results = []
    for start in range(0, len(changes), CHUNK_SIZE):
        chunk = list(enumerate(changes[start:start + CHUNK_SIZE], start))
        attempt, defer = 0, True
        while True:
            try:
                results += _apply_chunk(chunk, process, applied_status, prepare, names, defer)
                break
            except Exception as error:  # noqa: BLE001 - re-raised unless retryable
                sqlstate = retry.retryable_sqlstate(error)
                if sqlstate is None and defer and isinstance(error, DatabaseError):
                    # The database refused a row written at the end of the chunk (a value the
                    # validation let through): apply the chunk again writing each change's rows
                    # in its own savepoint, so that only the change at fault is rejected.
                    log.warning("sync chunk %d-%d: %s; applied again change by change",
                                chunk[0][0], chunk[-1][0], error)
                    defer = False
                    continue
                if sqlstate is None:
                    raise
                if attempt == RETRIES:
                    raise Busy() from error
                attempt += 1
                log.warning("sync chunk %d-%d rolled back (%s: %s), applying it again",
                            chunk[0][0], chunk[-1][0], sqlstate, error)
                time.sleep(retry.pause(attempt))
    return results


def _apply_chunk(chunk, process, applied_status, prepare, names, defer=True):
    answers = []
    with transaction.atomic(), _unit(defer) as unit:
        ids = _change_ids(chunk)
        unit.unknown_change_ids = ids - set(
            SyncChange.objects.filter(id__in=ids).values_list("id", flat=True))
        if prepare is not None:
            prepare([change for _position, change in chunk])
        for position, change in chunk:
            named = names(change) if names is not None else set()
            if named & unit.named:
                unit.flush()
            unit.named |= named
            answer = process(position, change)
            unit.end_change(answer.get("status") == applied_status)
            answers.append(answer)
        unit.flush()
    return answers
