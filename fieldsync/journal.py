"""The audit trail and the change log that pull cursors read.

Both are written inside the transaction of the change they record, so neither can mention a
change that was rolled back, nor miss one that was committed.
"""
from django.db import connection

from .models import AuditEntry, ChangeLog

# Any constant: serialises change-log writers so ids commit in increasing order.
_CHANGELOG_LOCK = 0x5350414E43  # "SPANC"


def record(user, action, entity, entity_uuid, version, device=None, change=None, details=None):
    AuditEntry.objects.create(user=user, device=device, action=action, entity=entity,
                              entity_uuid=entity_uuid, version=version, change=change,
                              details=details or {})
    log(entity, entity_uuid, version)


def log(entity, entity_uuid, version):
    # Without the lock, a transaction holding id 10 could commit after one holding id 11; a
    # device pulling in between would move its cursor to 11 and never see 10. The lock is taken
    # just before the insert and released at commit, so it is held only for the commit itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHANGELOG_LOCK])
    ChangeLog.objects.create(entity=entity, entity_uuid=entity_uuid, version=version)
