"""manage.py import_worker — the background worker (layer imports, sync batches, tile seeds).

django-tasks-db's db_worker (a task is taken by one worker only: SELECT … FOR UPDATE SKIP LOCKED,
see layers.workers), plus, while it runs, its heartbeat on the database's clock and the recovery
of the tasks whose worker died — retried or failed (layers.workers.WorkerLife) — and of the
imports a dead worker left running (layers.jobs.fail_stale_jobs): at start-up, then every quarter
of the stale delays. Start as many as wanted, on any machine sharing the database.

Background work yields the processor to the requests people wait for: the worker lowers its own
scheduling priority (CAPGEO_WORKER_NICE, 10 by default; 0 keeps it) and, when PostgreSQL runs on
the same machine under the same account (run.sh's local cluster), its database session's too.
"""
import os
from pathlib import Path

from django.db.backends.signals import connection_created
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from layers.jobs import fail_stale_jobs
from layers.workers import WorkerLife


class Command(DatabaseWorkerCommand):
    help = "Exécute les tâches de fond (imports, lots de synchronisation, tuiles) : file en base."

    def handle(self, *args, **options):
        niceness = int(os.environ.get("CAPGEO_WORKER_NICE", "10") or 0)
        if niceness > 0:
            os.nice(niceness)
            connection_created.connect(_lower_database_session, weak=False)
        failed = fail_stale_jobs()
        if failed:
            self.stderr.write(f"Imports interrompus marqués en échec : {', '.join(map(str, failed))}")
        life = WorkerLife(options["worker_id"], checks=[fail_stale_jobs]).start()
        try:
            return super().handle(*args, **options)
        finally:
            life.stop()


LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def _lower_database_session(sender, connection, **kwargs):
    """Give the worker's PostgreSQL backend the worker's priority, when that backend is a local
    postgres process of this account (never a process of another server sharing its pid)."""
    host = str(connection.settings_dict.get("HOST") or "")
    if connection.vendor != "postgresql" or not (host in LOCAL_HOSTS or host.startswith("/")):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres"):
            return
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0))
    except OSError:  # another account's server, or no /proc: the session keeps its priority
        pass
