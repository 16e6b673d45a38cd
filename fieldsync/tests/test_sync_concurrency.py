"""Two tablets pushing at the same time, on real concurrent transactions: nothing is lost, no
change is applied twice, and the change log commits in cursor order.

Runs on committed data (transactional test); the database is restored afterwards for the tests
that follow (the snapshot restore, conftest.py).
"""
import threading
import uuid

import pytest
from django.db import connections

from fieldsync.models import AuditEntry, ChangeLog, Control, SyncChange

from .conftest import Tablet, control_change


@pytest.mark.django_db(transaction=True)
def test_two_tablets_pushing_at_once_lose_nothing(campaign):
    tablets = [Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")]
    controls = tablets[0].package()["controls"]
    assert len(controls) == 2
    # A edits control 1, B edits control 2, and both send the same edit of control 1's comments
    # under one shared change id (a change copied between devices): applied exactly once.
    shared = control_change(controls[0], status="in_progress")
    batches = [
        [shared],
        [control_change(controls[1], status="in_progress"), dict(shared)],
    ]
    answers, errors = [None, None], []
    barrier = threading.Barrier(2)

    def push(index):
        try:
            barrier.wait()
            answers[index] = tablets[index].push(batches[index])[0]
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=push, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert all(answer.status_code == 200 for answer in answers)
    statuses = sorted(r["status"] for a in answers for r in a.json()["results"])
    assert statuses == ["applied", "applied", "duplicate"]
    assert SyncChange.objects.filter(status="applied").count() == 2
    for control in controls:
        assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1
    assert AuditEntry.objects.filter(action="control.update").count() == 2
    # Every accepted change is in the log, after the cursor the package gave.
    logged = set(ChangeLog.objects.values_list("entity_uuid", flat=True))
    assert {uuid.UUID(c["id"]) for c in controls} <= logged
