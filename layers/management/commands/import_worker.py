"""manage.py import_worker — the background worker running layer imports.

django-tasks-db's db_worker, after marking failed the imports a previous worker left running
(server stopped or restarted mid-import), and checking for such imports again while it runs:
see layers.jobs.fail_stale_jobs and StaleJobWatch.
"""
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from layers.jobs import StaleJobWatch, fail_stale_jobs


class Command(DatabaseWorkerCommand):
    help = "Exécute les imports de couches en arrière-plan (file django-tasks en base)."

    def handle(self, *args, **options):
        failed = fail_stale_jobs()
        if failed:
            self.stderr.write(f"Imports interrompus marqués en échec : {', '.join(map(str, failed))}")
        watch = StaleJobWatch().start()
        try:
            return super().handle(*args, **options)
        finally:
            watch.stop()
