"""Tasks whose worker died (layers.workers): an import not started yet is queued again, a started
import is failed with its job; a task of a live worker is left alone. The real processes (several
workers, kill -9) are in tests/faults/test_faults_workers.py."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from layers.jobs import enqueue_import
from layers.models import ImportJob, TaskWorker
from layers.workers import WorkerLost, beat, recover_abandoned_tasks, register


def dead_claim(task, worker, minutes=5):
    DBTaskResult.objects.filter(id=task.id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=minutes),
        worker_ids=[*DBTaskResult.objects.get(id=task.id).worker_ids, worker])


@pytest.mark.django_db
def test_an_import_whose_worker_died_before_it_started_is_queued_again_once():
    job = ImportJob.objects.create(layer_name="perdu", status=ImportJob.Status.QUEUED)
    enqueue_import(job)
    task = DBTaskResult.objects.get(args_kwargs__args=[job.pk])
    dead_claim(task, "killed-1")
    assert recover_abandoned_tasks() == [(str(task.id), "retried")]
    dead_claim(task, "killed-2")
    assert recover_abandoned_tasks() == [(str(task.id), "failed")]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "interrompu" in job.message


@pytest.mark.django_db
def test_a_started_import_whose_worker_died_is_failed_not_run_again():
    job = ImportJob.objects.create(layer_name="coupe", status=ImportJob.Status.RUNNING,
                                   started_at=timezone.now(), heartbeat_at=timezone.now())
    enqueue_import(job)
    task = DBTaskResult.objects.get(args_kwargs__args=[job.pk])
    dead_claim(task, "killed")
    assert recover_abandoned_tasks() == [(str(task.id), "failed")]
    task.refresh_from_db()
    assert task.status == "FAILED"
    assert task.exception_class_path == f"{WorkerLost.__module__}.WorkerLost"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


@pytest.mark.django_db
def test_a_task_of_a_live_worker_or_just_claimed_is_left_alone():
    job = ImportJob.objects.create(layer_name="vivant", status=ImportJob.Status.RUNNING)
    enqueue_import(job)
    task = DBTaskResult.objects.get(args_kwargs__args=[job.pk])
    register("vivant")
    beat("vivant")
    dead_claim(task, "vivant", minutes=60)
    assert recover_abandoned_tasks() == []
    # Its heartbeat stops: the task is abandoned once the stale delay has passed.
    TaskWorker.objects.filter(worker_id="vivant").update(beat_at=timezone.now() - timedelta(hours=1))
    # A task claimed a moment ago by a worker not (or no longer) known is not judged yet.
    other = ImportJob.objects.create(layer_name="juste_pris", status=ImportJob.Status.QUEUED)
    enqueue_import(other)
    fresh = DBTaskResult.objects.get(args_kwargs__args=[other.pk])
    dead_claim(fresh, "inconnu", minutes=0)
    assert recover_abandoned_tasks() == [(str(task.id), "failed")]
    assert DBTaskResult.objects.get(id=fresh.id).status == "RUNNING"
