"""manage.py import_worker — the background worker (layer imports, sync batches, tile seeds).

django-tasks-db's db_worker (a task is taken by one worker only: SELECT … FOR UPDATE SKIP LOCKED,
see layers.workers), plus, while it runs, its heartbeat on the database's clock and the recovery
of the tasks whose worker died — retried or failed (layers.workers.WorkerLife) — and of the
imports a dead worker left running (layers.jobs.fail_stale_jobs): at start-up, then every quarter
of the stale delays. Start as many as wanted, on any machine sharing the database.
"""
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from layers.jobs import fail_stale_jobs
from layers.workers import WorkerLife


class Command(DatabaseWorkerCommand):
    help = "Exécute les tâches de fond (imports, lots de synchronisation, tuiles) : file en base."

    def handle(self, *args, **options):
        failed = fail_stale_jobs()
        if failed:
            self.stderr.write(f"Imports interrompus marqués en échec : {', '.join(map(str, failed))}")
        life = WorkerLife(options["worker_id"], checks=[fail_stale_jobs]).start()
        try:
            return super().handle(*args, **options)
        finally:
            life.stop()
