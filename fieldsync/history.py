"""The audit trail and the change log that pull cursors read.

Both are written inside the transaction of the change they record, so neither can mention a
change that was rolled back, nor miss one that was committed. During a sync push they are
collected per change and written once per chunk of the batch, in the chunk's transaction
(fieldsync.batching): one INSERT for the audit entries, one for the change-log rows.
"""
from django.db import connection

from . import chunk
from .models import AuditEntry, ChangeLog

# Any constant: serialises change-log writers so ids commit in increasing order.
_CHANGELOG_LOCK = 0x5350414E43  # "SPANC"


def record(user, action, entity, entity_uuid, version, device=None, change=None, details=None):
    entry = AuditEntry(user=user, device=device, action=action, entity=entity,
                       entity_uuid=entity_uuid, version=version, change=change,
                       details=details or {})
    unit = chunk.current()
    if unit is not None:
        unit.journal(entry, ChangeLog(entity=entity, entity_uuid=entity_uuid, version=version))
        return
    entry.save()
    log(entity, entity_uuid, version)


def log(entity, entity_uuid, version):
    # Without the lock, a transaction holding id 10 could commit after one holding id 11; a
    # device pulling in between would move its cursor to 11 and never see 10. The lock is taken
    # just before the insert and released at commit, so it is held only for the commit itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGELOG_LOCK])
    ChangeLog.objects.create(entity=entity, entity_uuid=entity_uuid, version=version)


def write(audit_entries, changelog_entries):
    """Insert entries collected by a chunk of a push (in order, changelog under the lock)."""
    if audit_entries:
        AuditEntry.objects.bulk_create(audit_entries)
    if changelog_entries:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGELOG_LOCK])
        ChangeLog.objects.bulk_create(changelog_entries)
