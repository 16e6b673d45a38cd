"""Background workers on any number of machines: each task runs once, and a task whose worker
died (kill -9, a machine lost) is retried or clearly failed.

What the queue already guarantees (django-tasks-db 0.13, read in its source): a worker takes a
task in one transaction — `SELECT … FROM django_tasks_database_dbtaskresult WHERE status = 'READY'
… ORDER BY priority, run_after, enqueued_at LIMIT 1 FOR UPDATE SKIP LOCKED` (DBTaskResultQuerySet
.get_locked), then `status = 'RUNNING'` and its worker id appended to `worker_ids`
(DBTaskResult.claim), committed before the task runs (db_worker's Worker.run). Two workers never
take the same task: the second skips the locked row, and once committed the row is no longer
READY.

What it does not do: a task whose worker is killed mid-run stays RUNNING for ever, and nothing
tells whether a RUNNING task still runs. This module adds that, across machines:

- every worker process (`manage.py import_worker`) has a TaskWorker row whose `beat_at` it
  refreshes every CAPGEO_WORKER_HEARTBEAT_SECONDS (10) from a thread, on the database's clock
  (`statement_timestamp()`): neither the clocks of the machines nor their pids are compared;
- every worker, every quarter of CAPGEO_WORKER_STALE_SECONDS (60), looks for RUNNING tasks
  started more than that delay ago whose last worker has no heartbeat that recent (its row is
  gone or old) — `FOR UPDATE SKIP LOCKED`, so two workers never handle the same abandoned task —
  and applies the task's recovery (declared with `recovery(task, …)` next to the task): back to
  READY while it has attempts left and may be retried (the next worker takes it: `worker_ids`
  counts the attempts), otherwise FAILED with a clear message (`WorkerLost`) and the task's own
  `on_failed` (the import or the sync batch says so to its user). A task without a declared
  recovery is failed.

A worker cut from the database longer than the stale delay while its task still runs could see
that task handed to another worker: only tasks that may run twice safely declare retries (a sync
batch is applied under its advisory lock and answers its stored answer; a tile seed only renders
tiles again); an import is never retried once started.
"""
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils.module_loading import import_string
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import TaskWorker

logger = logging.getLogger(__name__)

LOST_MESSAGE = ("Le processus de tâches de fond qui exécutait cette tâche s'est arrêté "
                "(arrêt forcé, machine perdue) ; elle a été abandonnée après {attempts} essai(s).")


class WorkerLost(Exception):
    """The exception recorded on a task whose worker died (its exception_class_path)."""


def heartbeat_seconds():
    return float(getattr(settings, "CAPGEO_WORKER_HEARTBEAT_SECONDS", 10))


def stale_seconds():
    return float(getattr(settings, "CAPGEO_WORKER_STALE_SECONDS", 60))


@dataclass(frozen=True)
class Recovery:
    retries: int = 0  # how many times a task whose worker died is queued again
    retry_if: Callable | None = None  # (*args, **kwargs) -> bool: whether retrying is safe now
    on_failed: Callable | None = None  # (message, *args, **kwargs): tell the task's owner


_RECOVERIES: dict[str, Recovery] = {}


def recovery(task, *, retries=0, retry_if=None, on_failed=None):
    """Declare what happens to `task` when its worker dies mid-run (see the module)."""
    _RECOVERIES[task.module_path] = Recovery(retries, retry_if, on_failed)
    return task


def recovery_of(task_path):
    try:
        import_string(task_path)  # its module declares its recovery when imported
    except ImportError:
        pass
    return _RECOVERIES.get(task_path, Recovery())


# --- the workers' heartbeats --------------------------------------------------------------------
def register(worker_id):
    TaskWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": Now(),
                  "beat_at": Now()})


def beat(worker_id):
    if not TaskWorker.objects.filter(worker_id=worker_id).update(beat_at=Now()):
        register(worker_id)  # its row was pruned (a long pause): the worker is alive again


def live_workers():
    """The workers whose heartbeat is fresh."""
    return list(TaskWorker.objects.filter(
        beat_at__gte=Now() - timedelta(seconds=stale_seconds())).order_by("worker_id"))


def forget(worker_id):
    TaskWorker.objects.filter(worker_id=worker_id).delete()


# --- recovery of the tasks of dead workers ------------------------------------------------------
ABANDONED_SQL = f"""
SELECT r.id FROM {DBTaskResult._meta.db_table} r
 WHERE r.status = %(running)s
   AND r.started_at < statement_timestamp() - make_interval(secs => %(stale)s)
   AND NOT EXISTS (SELECT 1 FROM {TaskWorker._meta.db_table} w
                    WHERE w.worker_id = r.worker_ids ->> -1
                      AND w.beat_at >= statement_timestamp() - make_interval(secs => %(stale)s))
 ORDER BY r.started_at
   FOR UPDATE OF r SKIP LOCKED
"""


def recover_abandoned_tasks():
    """Queue again or fail the tasks whose worker died; returns [(task id, "retried"|"failed")]."""
    outcome = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(ABANDONED_SQL, {"running": TaskResultStatus.RUNNING,
                                           "stale": stale_seconds()})
            ids = [row[0] for row in cursor.fetchall()]
        for result in DBTaskResult.objects.filter(id__in=ids).order_by("started_at"):
            outcome.append((str(result.id), _recover(result)))
        # Rows of workers silent for a day: gone for good (a worker that comes back re-registers).
        TaskWorker.objects.filter(beat_at__lt=Now() - timedelta(days=1)).delete()
    return outcome


def _recover(result):
    policy = recovery_of(result.task_path)
    args, kwargs = result.args_kwargs.get("args", []), result.args_kwargs.get("kwargs", {})
    attempts = len(result.worker_ids)
    worker = result.worker_ids[-1] if result.worker_ids else "?"
    if attempts <= policy.retries and (policy.retry_if is None or policy.retry_if(*args, **kwargs)):
        DBTaskResult.objects.filter(pk=result.pk).update(
            status=TaskResultStatus.READY, started_at=None)
        logger.warning("Task %s (%s): worker %s lost, queued again (attempt %s of %s)",
                       result.pk, result.task_path, worker, attempts + 1, policy.retries + 1)
        return "retried"
    message = LOST_MESSAGE.format(attempts=attempts)
    DBTaskResult.objects.filter(pk=result.pk).update(
        status=TaskResultStatus.FAILED, finished_at=Now(), return_value=None,
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback=f"WorkerLost: {message} (worker {worker})")
    logger.warning("Task %s (%s): worker %s lost, failed after %s attempt(s)",
                   result.pk, result.task_path, worker, attempts)
    if policy.on_failed is not None:
        policy.on_failed(message, *args, **kwargs)
    return "failed"


class WorkerLife:
    """While a worker runs: its heartbeat, and the periodic search for abandoned tasks (with the
    extra checks given, e.g. imports whose own heartbeat stopped). One thread, its own database
    connection, closed between two rounds."""

    def __init__(self, worker_id, checks=()):
        self.worker_id = worker_id
        self.checks = [recover_abandoned_tasks, *checks]
        self.beat_every = heartbeat_seconds()
        self.check_every = max(1.0, stale_seconds() / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-life", daemon=True)

    def _run(self):
        next_beat = time.monotonic() + self.beat_every
        next_check = time.monotonic() + self.check_every
        while not self._stop.wait(min(self.beat_every, self.check_every, 1.0)):
            now = time.monotonic()
            try:
                if now >= next_beat:
                    next_beat = now + self.beat_every
                    beat(self.worker_id)
                if now >= next_check:
                    next_check = now + self.check_every
                    for check in self.checks:
                        check()
            except Exception:  # a failed round (database restarting…) is retried next time
                logger.exception("Worker %s: heartbeat or check failed", self.worker_id)
            finally:
                connection.close()

    def start(self):
        register(self.worker_id)
        for check in self.checks:  # at start-up too: what a previous worker left
            try:
                check()
            except Exception:
                logger.exception("Worker %s: start-up check failed", self.worker_id)
        if not connection.in_atomic_block:
            connection.close()  # the worker's own loop opens its connection
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        try:
            forget(self.worker_id)
        finally:
            if not connection.in_atomic_block:
                connection.close()
