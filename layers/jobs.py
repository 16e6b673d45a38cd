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
`running` with a heartbeat that stops moving (written on the database's clock, so workers on other
machines compare it safely); `manage.py import_worker` marks such jobs failed (fail_stale_jobs),
drops their staging table and removes their files: when it starts, and then every quarter of
CAPGEO_IMPORT_STALE_SECONDS while it runs (layers.workers.WorkerLife) — a worker killed and
restarted at once finds the job's heartbeat still fresh at start-up. The queue's own task is
failed too (layers.workers: a started import is never run again; one whose worker died before it
started is queued again once).
"""
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from .models import ImportJob
from .publishing import prepare_import, run_import
from .publishing.history import drop_staging
from .publishing.pipeline import discard_job_files, media_read_only, staging_table_name
from .publishing.uploads import imports_root, remove_tree
from .workers import recovery

logger = logging.getLogger(__name__)


def stale_after_seconds():
    return int(getattr(settings, "CAPGEO_IMPORT_STALE_SECONDS", 120))


@task()
def import_layer(job_id):
    job = run_import(job_id)
    return {"job": job.pk, "status": job.status}


INTERRUPTED = gettext_noop("L'import a été interrompu (arrêt ou redémarrage du serveur pendant son exécution) ; "
               "aucune donnée n'a été modifiée. Relancez-le.")


def _not_started(job_id):
    return ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).exists()


def _import_lost(message, job_id):
    """The queue gave up the import's task (its worker died): the job says so at once."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None and job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        _fail(job, timezone.now(), stale_only=False)


recovery(import_layer, retries=1, retry_if=_not_started, on_failed=_import_lost)


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
    discard_orphan_uploads()  # what finished imports left (a worker that may not write it)
    with transaction.atomic():
        job = prepare_import(
            user=user, path=uploaded_path, source_name=source_name, layer_name=layer_name,
            title=title, theme=theme, srs=srs, source_layer=source_layer, mode=mode,
            x_field=x_field, y_field=y_field, geometry_field=geometry_field, store=True,
        )
        enqueue_import(job)
    return job


def fail_stale_jobs(now=None):
    """Mark failed the imports left running by a dead worker; returns their ids. Their heartbeat
    is compared with the database's clock (`now` given: with that instant)."""
    limit = (now or Now()) - timedelta(seconds=stale_after_seconds())
    stale = ImportJob.objects.filter(status=ImportJob.Status.RUNNING).exclude(heartbeat_at__gte=limit)
    failed = [job.pk for job in stale if _fail(job, now or timezone.now(), limit=limit)]
    discard_orphan_uploads()
    return failed


def _fail(job, now, limit=None, stale_only=True):
    """Fail a queued or running job (only if still stale, with stale_only), drop its staging
    table, remove its files; whether it was this call that failed it."""
    jobs = ImportJob.objects.filter(pk=job.pk)
    if stale_only:
        jobs = jobs.filter(status=ImportJob.Status.RUNNING).exclude(heartbeat_at__gte=limit)
    else:
        jobs = jobs.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
    if not jobs.update(status=ImportJob.Status.FAILED, finished_at=now, message=_(INTERRUPTED)):
        return False
    drop_staging(staging_table_name(job), f"{staging_table_name(job)}m")
    discard_job_files(job)
    logger.warning("Import %s (%s) was left unfinished: marked failed", job.pk, job.layer_name)
    return True


def discard_orphan_uploads():
    """Remove the stored files of submissions that never became a job (the server was killed
    while receiving them: the job's transaction rolled back), untouched for the stale delay so
    that a submission still in progress is left alone, and those of finished imports (left by a
    worker that may not write MEDIA_ROOT, CAPGEO_MEDIA_READ_ONLY). Returns the removed
    directories. Nothing in a process that may not write MEDIA_ROOT: the web servers call it too,
    at each submission and when an import's state is read."""
    root = imports_root()
    if media_read_only() or not root.is_dir():
        return []
    limit = time.time() - stale_after_seconds()
    states = dict(ImportJob.objects.values_list("pk", "status"))
    finished = {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED}
    removed = []
    for directory in root.iterdir():
        if not directory.is_dir() or not directory.name.isdigit():
            continue
        if states.get(int(directory.name)) in finished:
            remove_tree(directory)
            removed.append(directory)
            continue
        if int(directory.name) in states:
            continue
        newest = max((path.stat().st_mtime for path in directory.rglob("*")),
                     default=directory.stat().st_mtime)
        if newest < limit:
            remove_tree(directory)
            removed.append(directory)
            logger.warning("Files of an interrupted submission removed: %s", directory)
    return removed
