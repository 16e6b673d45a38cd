"""Background jobs of the catalogue (layer imports), on django-tasks' database backend: the
queue above the import pipeline (layers.publishing, which knows nothing of the queue).

submit_import checks and stores an import and queues it; the worker's task runs it
(layers.publishing.run_import, whose Heartbeat keeps the job's heartbeat_at fresh).

Why django-tasks (+ django-tasks-db) rather than procrastinate: it is the backport of Django's
own task framework (DEP 14, django.tasks in Django 6), so moving to Django 6 keeps the same
@task/enqueue API; its database backend stores the queue in ordinary Django tables through the
ORM and the psycopg2 driver we already use, and its worker is a plain synchronous
`manage.py db_worker`. procrastinate is solid too, but needs psycopg 3 beside psycopg2, an
asyncio worker and its own SQL schema, which buys nothing for a few imports a day.

The state users see lives in layers.ImportJob (status, progress, message, heartbeat), not in the
queue's tables: the queue only says "run import N". A worker that dies mid-import leaves its job
`running` with a heartbeat that stops moving; `manage.py import_worker` marks such jobs failed
(fail_stale_jobs), drops their staging table and removes their files: when it starts, and then
every quarter of CAPGEO_IMPORT_STALE_SECONDS while it runs (StaleJobWatch) — a worker killed and
restarted at once finds the job's heartbeat still fresh at start-up.
"""
import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from .models import ImportJob
from .publishing import prepare_import, run_import
from .publishing.history import drop_staging
from .publishing.pipeline import discard_job_files, staging_table_name
from .publishing.uploads import imports_root, remove_tree

logger = logging.getLogger(__name__)


def stale_after_seconds():
    return int(getattr(settings, "CAPGEO_IMPORT_STALE_SECONDS", 120))


@task()
def import_layer(job_id):
    job = run_import(job_id)
    return {"job": job.pk, "status": job.status}


def enqueue_import(job):
    """Queue the job in the transaction that creates it: both are committed, or neither."""
    import_layer.enqueue(job.pk)


def submit_import(*, user, uploaded_path, source_name, layer_name, title=None, theme=None, srs=None,
                  source_layer=None, mode="create", x_field=None, y_field=None,
                  geometry_field=None):
    """Check and store an import (layers.publishing.prepare_import, which documents the
    arguments) and queue it for the worker. Raises PublishError (French message) when refused;
    then nothing is left behind."""
    # The job is committed with its queue entry or not at all: a server killed mid-submission
    # leaves no job waiting for ever (the stored file it may leave is removed by the import
    # worker, discard_orphan_uploads).
    with transaction.atomic():
        job = prepare_import(
            user=user, path=uploaded_path, source_name=source_name, layer_name=layer_name,
            title=title, theme=theme, srs=srs, source_layer=source_layer, mode=mode,
            x_field=x_field, y_field=y_field, geometry_field=geometry_field, store=True,
        )
        enqueue_import(job)
    return job


def fail_stale_jobs(now=None):
    """Mark failed the imports left running by a dead worker; returns their ids."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=stale_after_seconds())
    stale = ImportJob.objects.filter(status=ImportJob.Status.RUNNING).exclude(heartbeat_at__gte=limit)
    failed = []
    for job in stale:
        updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING) \
            .exclude(heartbeat_at__gte=limit).update(
                status=ImportJob.Status.FAILED, finished_at=now,
                message=_("L'import a été interrompu (arrêt ou redémarrage du serveur pendant son "
                          "exécution) ; aucune donnée n'a été modifiée. Relancez-le."),
            )
        if updated:
            drop_staging(staging_table_name(job), f"{staging_table_name(job)}m")
            discard_job_files(job)
            failed.append(job.pk)
            logger.warning("Import %s (%s) was left running: marked failed", job.pk, job.layer_name)
    discard_orphan_uploads()
    return failed


def discard_orphan_uploads():
    """Remove the stored files of submissions that never became a job (the server was killed
    while receiving them: the job's transaction rolled back), untouched for the stale delay so
    that a submission still in progress is left alone. Returns the removed directories."""
    root = imports_root()
    if not root.is_dir():
        return []
    limit = time.time() - stale_after_seconds()
    known = set(ImportJob.objects.values_list("pk", flat=True))
    removed = []
    for directory in root.iterdir():
        if not directory.is_dir() or not directory.name.isdigit() or int(directory.name) in known:
            continue
        newest = max((path.stat().st_mtime for path in directory.rglob("*")),
                     default=directory.stat().st_mtime)
        if newest < limit:
            remove_tree(directory)
            removed.append(directory)
            logger.warning("Files of an interrupted submission removed: %s", directory)
    return removed


class StaleJobWatch:
    """While an import worker runs, a thread marks failed the imports whose heartbeat stopped
    (fail_stale_jobs), every quarter of the stale delay: so a job left by a worker that died
    shows its failure within about that delay, whenever the worker was restarted."""

    def __init__(self, interval=None):
        self.interval = interval or max(1.0, stale_after_seconds() / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stale-import-watch", daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                fail_stale_jobs()
            except Exception:  # a failed check (database restarting…) is retried next time
                logger.exception("Check of interrupted imports failed")
            finally:
                connection.close()  # this thread's own connection, not kept between checks

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
