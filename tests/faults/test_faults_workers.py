"""Background workers as real processes on one queue (issue 17, item 4): several
`manage.py import_worker` run every task exactly once, and a worker killed (kill -9) in the middle
of a task leaves it taken up by another worker — the tablet that pushed the batch reads its
answer at its Location — with the killed attempt recorded (layers.workers)."""
import os
import signal
import uuid

import pytest

from .conftest import control_update
from .processes import Holder, wait_until

pytestmark = pytest.mark.faults

TASKS = 120


def stop(workers):
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def test_three_workers_run_each_task_exactly_once(served):
    cluster = served.cluster
    cluster.query("CREATE TABLE IF NOT EXISTS faults_task_runs "
                  "(number int NOT NULL, pid int NOT NULL)")
    cluster.query("TRUNCATE faults_task_runs")
    served.manage("shell", "-c", "\n".join([
        "from tests.faults.probe_tasks import record_run",
        f"for number in range({TASKS}): record_run.enqueue(number)",
    ]))
    workers = [served.import_worker() for _ in range(3)]
    try:
        wait_until(lambda: cluster.value(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = "
            "'tests.faults.probe_tasks.record_run' AND status IN ('READY', 'RUNNING')") == 0,
            timeout=240, interval=0.5, what="toutes les tâches exécutées")
    finally:
        stop(workers)
    runs = cluster.query("SELECT number, count(*) FROM faults_task_runs GROUP BY number")
    assert sorted(number for number, _count in runs) == list(range(TASKS))
    assert [number for number, count in runs if count != 1] == []  # none twice
    # Each task taken by one worker, recorded successful; the work was shared.
    tasks = cluster.query("SELECT status, jsonb_array_length(worker_ids) FROM "
                          "django_tasks_database_dbtaskresult WHERE task_path = "
                          "'tests.faults.probe_tasks.record_run'")
    assert len(tasks) == TASKS and set(tasks) == {("SUCCESSFUL", 1)}
    assert cluster.value("SELECT count(DISTINCT pid) FROM faults_task_runs") >= 2
    # The workers stopped cleanly: their heartbeat rows are gone (those of workers other tests
    # killed stay, pruned after a day).
    assert cluster.value("SELECT count(*) FROM layers_taskworker WHERE pid = ANY(%s)",
                         ([worker.pid for worker in workers],)) == 0


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_it_to_another(served, tablet):
    cluster = served.cluster
    control = next(c for c in tablet.package()["controls"]
                   if c["editable"] and c["status"] in ("assigned", "in_progress"))
    body = tablet.batch([control_update(control, f"repris par un autre {uuid.uuid4().hex[:6]}")])
    before = cluster.value("SELECT version FROM fieldsync_control WHERE uuid = %s", (control["id"],))
    first = served.import_worker()
    second = None
    try:
        # The worker applying the batch waits for the control's row, which the test holds.
        with Holder(cluster) as holder:
            holder.execute("SELECT 1 FROM fieldsync_control WHERE uuid = %s FOR UPDATE",
                           (control["id"],))
            accepted = tablet.session.post(served.url("/api/sync/push/"), json=body, timeout=60,
                                           headers={"Prefer": "respond-async"})
            assert accepted.status_code == 202, accepted.text
            location = served.url(accepted.headers["Location"])
            backend, _port = served.blocked_backend(timeout=60)
            os.killpg(first.pid, signal.SIGKILL)  # the worker, mid-batch
            first.wait(timeout=30)
        served.backend_gone(backend)
        task = ("SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
                "WHERE args_kwargs -> 'args' ->> 0 = %s")
        status, killed_by = cluster.query(task, (body["batch_id"],))[0]
        assert status == "RUNNING" and len(killed_by) == 1  # nobody left to say more
        assert tablet.session.get(location, timeout=60).status_code == 202
        assert cluster.value("SELECT version FROM fieldsync_control WHERE uuid = %s",
                             (control["id"],)) == before  # its chunk was rolled back

        # Another worker (another machine, as far as it knows) finds the dead worker's heartbeat
        # stale, queues the task again and applies the batch; the tablet reads its answer.
        second = served.import_worker()
        answer = wait_until(lambda: (lambda r: r.status_code == 200 and r)(
            tablet.session.get(location, timeout=60)), timeout=120, interval=0.5,
            what="le lot appliqué par l'autre worker")
        assert [r["status"] for r in answer.json()["results"]] == ["applied"]
        status, workers = cluster.query(task, (body["batch_id"],))[0]
        assert status == "SUCCESSFUL" and len(workers) == 2 and workers[0] == killed_by[0]
        assert cluster.value("SELECT version FROM fieldsync_control WHERE uuid = %s",
                             (control["id"],)) == before + 1  # applied once
        assert cluster.value("SELECT count(*) FROM fieldsync_syncchange WHERE batch_id = %s "
                             "AND status = 'applied'", (body["batch_id"],)) == 1
        # The dead worker's heartbeat row stays (pruned after a day); the live one is fresh.
        assert cluster.value("SELECT count(*) FROM layers_taskworker WHERE worker_id = %s",
                             (killed_by[0],)) == 1
    finally:
        stop([w for w in (first, second) if w is not None])
