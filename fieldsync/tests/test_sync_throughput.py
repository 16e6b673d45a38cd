"""Throughput of the sync push (issue 11, item 9) without timing anything: a pushed control costs
a bounded number of SQL statements, changes are applied in chunks whose bookkeeping is written
set-based yet exactly as change by change, and a tablet may have its batch applied in the
background (Prefer: respond-async). Speed itself is measured by bench/bench_sync.py."""
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from fieldsync import batching, campaigns
from fieldsync.models import (
    AuditEntry, ChangeLog, Control, ControlKind, Finding, SyncBatch, SyncChange,
)

from .conftest import GUERANDE, LA_BAULE, Tablet, control_change, make_installation, user

PHOTOS = [b"photo %d" % n for n in range(2)]


def assigned_controls(count):
    """`count` controls planned over new installations and assigned to controleur.spanc."""
    from territory.models import Commune

    for index in range(count):
        make_installation(GUERANDE if index % 2 else LA_BAULE, f"{index} rue du Débit")
    manager = user("responsable.spanc")
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    campaign, _count = campaigns.plan_campaign(
        manager, "Débit", kind, list(Commune.objects.filter(insee__in=[GUERANDE, LA_BAULE])))
    campaigns.assign(manager, list(campaign.controls.all()), user("controleur.spanc"))


def published_status(control_uuid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT statut FROM layers_data.spanc_controles WHERE uuid = %s",
                       [control_uuid])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.django_db
def test_each_pushed_control_costs_a_bounded_number_of_statements():
    """Was ~65 statements per control with 12 findings and 2 photos (the vocabularies, the
    published rows, their layers and the journal, change by change); the batch's fixed part
    (authentication, device, batch, catalogue metadata) is left out by differencing."""
    assigned_controls(4)
    tablet = Tablet("controleur.spanc")
    controls = tablet.package()["controls"]
    assert len(controls) == 4

    def statements(changes):
        with CaptureQueriesContext(connection) as queries:
            response, _batch = tablet.push(changes)
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * len(changes)
        return len(queries)

    one = statements([control_change(controls[0], photos=PHOTOS)])
    three = statements([control_change(c, photos=PHOTOS) for c in controls[1:]])
    assert (three - one) / 2 <= 20, (one, three)


@pytest.mark.django_db
def test_each_pushed_installation_costs_a_bounded_number_of_statements():
    """An installation's change is checked against the published layer's rules (one statement:
    its write filter before and after, layers.features.writing.check_write); the rules are read
    once per chunk. Measured: 7 statements per installation update before that check, 8 with it."""
    assigned_controls(4)
    tablet = Tablet("controleur.spanc")
    installations = tablet.package()["installations"]

    def change(installation):
        return {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
                "id": installation["id"], "base_version": installation["version"],
                "data": {"address": f"{installation['id'][:8]} route du Débit"}}

    def statements(changes):
        with CaptureQueriesContext(connection) as queries:
            response, _batch = tablet.push(changes)
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * len(changes)
        return len(queries)

    one = statements([change(installations[0])])
    three = statements([change(i) for i in installations[1:4]])
    assert (three - one) / 2 <= 8, (one, three)


@pytest.mark.django_db
def test_chunks_keep_each_change_atomic_and_the_bookkeeping_exact(monkeypatch):
    """Chunks of 2: a rejected change and a conflict inside chunks leave no finding, audit entry,
    change-log row nor published row behind, and spare the changes around them."""
    monkeypatch.setattr(batching, "CHUNK_SIZE", 2)
    assigned_controls(4)
    tablet = Tablet("controleur.spanc")
    controls = tablet.package()["controls"]
    unknown_item = control_change(controls[1])
    unknown_item["data"]["findings"][0]["item"] = "point_inconnu"
    stale = control_change(controls[2])
    stale["base_version"] = controls[2]["version"] + 5
    first = controls[0]
    changes = [control_change(first, status="in_progress", photos=PHOTOS), unknown_item, stale,
               control_change(controls[3]),
               # the same control again, on the version the first change gave it
               control_change(dict(first, version=first["version"] + 1), photos=PHOTOS)]
    cursor_before = ChangeLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response, _batch = tablet.push(changes)
    assert [r["status"] for r in response.json()["results"]] == [
        "applied", "rejected", "conflict", "applied", "applied"]
    assert Control.objects.get(uuid=controls[0]["id"]).version == controls[0]["version"] + 2

    untouched = [controls[1]["id"], controls[2]["id"]]
    assert not Finding.objects.filter(control__uuid__in=untouched).exists()
    assert not AuditEntry.objects.filter(entity_uuid__in=untouched,
                                         action="control.update").exists()
    assert [published_status(c) for c in untouched] == ["assigned", "assigned"]
    assert published_status(controls[0]["id"]) == published_status(controls[3]["id"]) \
        == "submitted"
    # The change log lists the applied changes in batch order, with their versions.
    logged = list(ChangeLog.objects.filter(id__gt=cursor_before).order_by("id")
                  .values_list("entity_uuid", "version"))
    assert [(str(u), v) for u, v in logged] == [
        (first["id"], first["version"] + 1), (controls[3]["id"], controls[3]["version"] + 1),
        (first["id"], first["version"] + 2)]
    audit = AuditEntry.objects.filter(action="control.update")
    assert sorted(str(a.change_id) for a in audit) == sorted(
        changes[i]["change_id"] for i in (0, 3, 4))


@pytest.mark.django_db(transaction=True)
def test_an_async_push_is_stored_answered_202_and_applied_by_the_worker():
    assigned_controls(2)
    tablet = Tablet("controleur.spanc")
    controls = tablet.package()["controls"]
    changes = [control_change(c, photos=PHOTOS) for c in controls]
    body = {"batch_id": "6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5b", "device_id": tablet.device_id,
            "changes": changes}

    accepted = tablet.client.post("/api/sync/push/", body, content_type="application/json",
                                  HTTP_PREFER="respond-async")
    assert accepted.status_code == 202, accepted.content
    assert accepted["Preference-Applied"] == "respond-async"
    location = accepted["Location"]
    assert location == f"/api/sync/push/{body['batch_id']}/"
    assert accepted.json()["state"] == "queued"
    # Stored (nothing lost once acknowledged), not applied yet.
    assert SyncBatch.objects.filter(id=body["batch_id"], response__isnull=True).exists()
    assert Control.objects.get(uuid=controls[0]["id"]).version == controls[0]["version"]
    assert tablet.client.get(location).status_code == 202
    # Someone else's batch is unknown to them.
    other = Tablet("responsable.spanc")
    assert other.client.get(location).status_code == 404

    call_command("import_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    connections.close_all()

    done = tablet.client.get(location)
    assert done.status_code == 200, done.content
    answer = done.json()
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    assert sorted(answer["results"][0]["missing_photos"]) == sorted(
        __import__("hashlib").sha256(p).hexdigest() for p in PHOTOS)
    for control in controls:
        assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1
    assert SyncChange.objects.filter(batch_id=body["batch_id"], status="applied").count() == 2
    # Sending the batch again, either way, answers the same without applying anything again.
    again = tablet.client.post("/api/sync/push/", body, content_type="application/json",
                               HTTP_PREFER="respond-async")
    assert again.status_code == 200 and again.json() == answer
    direct = tablet.client.post("/api/sync/push/", body, content_type="application/json")
    assert direct.status_code == 200 and direct.json() == answer
    assert AuditEntry.objects.filter(action="control.update").count() == 2


@pytest.mark.django_db
def test_the_same_change_twice_in_one_chunk_is_applied_once():
    """Change ids are looked up once per chunk: the second copy must still be a duplicate."""
    assigned_controls(1)
    tablet = Tablet("controleur.spanc")
    change = control_change(tablet.package()["controls"][0])
    response, _batch = tablet.push([change, dict(change)])
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["applied", "duplicate"]
    assert SyncChange.objects.filter(id=change["change_id"]).count() == 1
    assert AuditEntry.objects.filter(action="control.update").count() == 1


@pytest.mark.django_db
def test_a_chunk_that_loses_a_serialization_failure_is_rolled_back_and_applied_again():
    """The chunk's transaction is retried as a whole: what its first attempt wrote is gone, the
    answers are those of the attempt that committed. PostgreSQL raises a real 40001 here."""
    from fieldsync.models import ChangeLog as Log
    from fieldsync.history import log as write_log

    attempts = []

    def process(position, change):
        write_log("control", change["id"], position + 1)
        attempts.append(position)
        if len(attempts) == 2:  # the second change of the first attempt
            with connection.cursor() as cursor:
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'conflit simulé' "
                               "USING ERRCODE = 'serialization_failure'; END $$")
        return {"status": "applied", "position": position}

    ids = ["8d1f9a52-4a57-4c7a-9a3b-0c4d8f0e1a2b", "2b7e5c1d-9f3a-4e8b-8c6d-1a2b3c4d5e6f"]
    before = Log.objects.count()
    answers = batching.apply_changes([{"id": i} for i in ids], process)
    assert attempts == [0, 1, 0, 1]
    assert answers == [{"status": "applied", "position": 0}, {"status": "applied", "position": 1}]
    assert Log.objects.count() == before + 2  # the first attempt's rows were rolled back


@pytest.mark.django_db
def test_the_worker_does_not_apply_the_batch_of_an_account_deactivated_since():
    from fieldsync import push_queue

    assigned_controls(1)
    tablet = Tablet("controleur.spanc")
    control = tablet.package()["controls"][0]
    body = {"batch_id": "0a4c2e8f-3b1d-4f6a-8e2c-9d7b5a3c1e0f", "device_id": tablet.device_id,
            "changes": [control_change(control)]}
    accepted = tablet.client.post("/api/sync/push/", body, content_type="application/json",
                                  HTTP_PREFER="respond-async")
    assert accepted.status_code == 202
    inspector = user("controleur.spanc")
    inspector.is_active = False
    inspector.save(update_fields=["is_active"])
    assert push_queue.apply_batch.call(body["batch_id"])["state"] == "refused"
    assert Control.objects.get(uuid=control["id"]).version == control["version"]
    assert SyncBatch.objects.get(id=body["batch_id"]).response is None
    inspector.is_active = True
    inspector.save(update_fields=["is_active"])
    assert push_queue.apply_batch.call(body["batch_id"])["state"] == "done"
    assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1


@pytest.mark.django_db
def test_a_chunk_that_keeps_losing_raises_busy_with_nothing_written(monkeypatch):
    from fieldsync.models import ChangeLog as Log
    from fieldsync.history import log as write_log

    monkeypatch.setattr(batching, "RETRIES", 1)
    calls = []

    def process(position, change):
        calls.append(position)
        write_log("control", change["id"], 1)
        with connection.cursor() as cursor:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'conflit simulé' "
                           "USING ERRCODE = 'deadlock_detected'; END $$")

    before = Log.objects.count()
    with pytest.raises(batching.Busy):
        batching.apply_changes([{"id": "8d1f9a52-4a57-4c7a-9a3b-0c4d8f0e1a2b"}], process)
    assert calls == [0, 0]
    assert Log.objects.count() == before


@pytest.mark.django_db
def test_a_change_reads_what_an_earlier_change_of_its_chunk_wrote():
    """Findings, photos and SyncChange rows of a chunk are written at its end; a change that
    names a record an earlier change of the chunk wrote sees it as written (the conflict shows
    the first change's findings and photo), and a new photo announced twice in the chunk with
    two sizes is refused the second time, as it would be across chunks."""
    assigned_controls(2)
    tablet = Tablet("controleur.spanc")
    first, second = tablet.package()["controls"]
    applied = control_change(first, status="in_progress", defects=["contact_direct"],
                             photos=PHOTOS[:1])
    stale = control_change(first, status="in_progress")  # on the version before `applied`
    other_size = control_change(second, status="in_progress")
    other_size["data"]["photos"] = [{"sha256": applied["data"]["photos"][0]["sha256"],
                                     "size": len(PHOTOS[0]) + 1}]
    response, _batch = tablet.push([applied, stale, other_size])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "conflict", "rejected"]
    record = results[1]["server_record"]
    assert record == results[0]["record"]
    assert {f["item"]: f["result"] for f in record["findings"]}["contact_direct"] == "defect"
    assert [p["sha256"] for p in record["photos"]] == [applied["data"]["photos"][0]["sha256"]]
    assert "autre taille" in results[2]["reasons"][0]
    assert Finding.objects.filter(control__uuid=first["id"]).count() == len(
        applied["data"]["findings"])
    assert SyncChange.objects.filter(id__in=[c["change_id"] for c in (applied, stale)]).count() == 2


@pytest.mark.django_db
def test_a_row_the_database_refuses_at_the_end_of_the_chunk_rejects_only_its_change(monkeypatch):
    """A value past the validation that PostgreSQL refuses when the chunk writes its rows (here a
    status longer than its column, injected past the serializer) would fail the whole chunk: the
    chunk is applied again change by change and only that change is rejected."""
    from fieldsync.records import control as control_type

    assigned_controls(3)
    tablet = Tablet("controleur.spanc")
    controls = tablet.package()["controls"]
    original = control_type._evaluate_and_transition

    def too_long(control, target_status):
        original(control, target_status)
        if control.comments == "trop long":
            control.status = "x" * 30  # the column is varchar(20)

    monkeypatch.setattr(control_type, "_evaluate_and_transition", too_long)
    changes = [control_change(controls[0], photos=PHOTOS),
               control_change(controls[1], comments="trop long"),
               control_change(controls[2])]
    response, _batch = tablet.push(changes)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert "22001" in results[1]["reasons"][0]
    assert Control.objects.get(uuid=controls[1]["id"]).version == controls[1]["version"]
    assert not Finding.objects.filter(control__uuid=controls[1]["id"]).exists()
    assert Finding.objects.filter(control__uuid=controls[2]["id"]).exists()
    assert SyncChange.objects.get(id=changes[1]["change_id"]).status == "rejected"


def _claimed_by_dead_worker(task_id, worker):
    """The task as a worker killed mid-run leaves it: RUNNING, claimed long ago, by `worker`."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get(id=task_id)
    DBTaskResult.objects.filter(id=task_id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=5),
        worker_ids=[*task.worker_ids, worker])


@pytest.mark.django_db
def test_a_batch_whose_worker_died_is_queued_again_then_reported_abandoned(
        django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    from layers.models import TaskWorker
    from layers.workers import recover_abandoned_tasks

    assigned_controls(1)
    tablet = Tablet("controleur.spanc")
    control = tablet.package()["controls"][0]
    body = {"batch_id": "5e1d3c7a-2b4f-4c6e-8a9d-0f1e2d3c4b5a", "device_id": tablet.device_id,
            "changes": [control_change(control)]}
    with django_capture_on_commit_callbacks(execute=True):  # the task is queued on commit
        accepted = tablet.client.post("/api/sync/push/", body, content_type="application/json",
                                      HTTP_PREFER="respond-async")
    assert accepted.status_code == 202
    location = accepted["Location"]
    task = DBTaskResult.objects.get(args_kwargs__args=[body["batch_id"]])
    # A live worker (fresh heartbeat) keeps its task, however long it runs.
    TaskWorker.objects.create(worker_id="alive", started_at=timezone_now(), beat_at=timezone_now())
    _claimed_by_dead_worker(task.id, "alive")
    assert recover_abandoned_tasks() == []
    DBTaskResult.objects.filter(id=task.id).update(status="READY", worker_ids=[])
    # Killed twice: queued again each time, the tablet still reads 202.
    for attempt in (1, 2):
        _claimed_by_dead_worker(task.id, f"killed-{attempt}")
        assert recover_abandoned_tasks() == [(str(task.id), "retried")]
        assert DBTaskResult.objects.get(id=task.id).status == "READY"
        assert tablet.client.get(location).status_code == 202
    # The third death: the task fails with a clear error and the tablet is told to send again.
    _claimed_by_dead_worker(task.id, "killed-3")
    assert recover_abandoned_tasks() == [(str(task.id), "failed")]
    failed = DBTaskResult.objects.get(id=task.id)
    assert failed.status == "FAILED" and failed.exception_class_path == "layers.workers.WorkerLost"
    answer = tablet.client.get(location)
    assert answer.status_code == 503 and answer.json()["state"] == "failed"
    assert answer.json()["code"] == "busy" and "renvoyez le même lot" in answer.json()["detail"]
    assert Control.objects.get(uuid=control["id"]).version == control["version"]
    # Sent again: queued again, then applied.
    with django_capture_on_commit_callbacks(execute=True):
        again = tablet.client.post("/api/sync/push/", body, content_type="application/json",
                                   HTTP_PREFER="respond-async")
    assert again.status_code == 202
    assert SyncBatch.objects.get(id=body["batch_id"]).failed_at is None
    from fieldsync import push_queue

    assert push_queue.apply_batch.call(body["batch_id"])["state"] == "done"
    assert tablet.client.get(location).status_code == 200
    assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1


def timezone_now():
    from django.utils import timezone

    return timezone.now()
