"""Imports through the real queue: submit_import, then the import worker in a subprocess.

The worker is another process, so it only sees committed data: this test is transactional; what
it commits is undone afterwards by the snapshot restore (conftest.py).
"""
import os
import subprocess
import sys
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from layers.models import ImportJob, Layer
from layers.jobs import submit_import

from .test_publishing_support import TEST_PREFIX, admin_user, query, town_halls_geojson

WORKER_TIMEOUT = 180


def worker_environment():
    database = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgis://{quote(database['USER'], safe='')}:{quote(database['PASSWORD'], safe='')}"
        f"@{database['HOST']}:{database['PORT']}/{quote(database['NAME'], safe='')}"
    )
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    return env


@pytest.mark.django_db(transaction=True)
def test_worker_runs_queued_imports_and_fails_those_left_running(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    name = f"{TEST_PREFIX}file"
    old = timezone.now() - timedelta(hours=2)
    stale = ImportJob.objects.create(layer_name=f"{TEST_PREFIX}coupe", status=ImportJob.Status.RUNNING,
                                     started_at=old, heartbeat_at=old, progress=30)
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    job = None
    try:
        job = submit_import(user=admin_user(), uploaded_path=str(source),
                            source_name="mairies.geojson", layer_name=name, title="Mairies (file)")
        assert job.status == ImportJob.Status.QUEUED
        task = DBTaskResult.objects.get()
        assert task.args_kwargs["args"] == [job.pk]

        worker = subprocess.run(
            [sys.executable, "manage.py", "import_worker", "--batch", "--no-startup-delay",
             "--no-reload", "--interval", "0"],
            cwd=settings.BASE_DIR, env=worker_environment(), capture_output=True, text=True,
            timeout=WORKER_TIMEOUT,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
        assert f"{stale.pk}" in worker.stderr  # reported as interrupted

        stale.refresh_from_db()
        assert stale.status == ImportJob.Status.FAILED and "interrompu" in stale.message
        job.refresh_from_db()
        assert job.status == ImportJob.Status.SUCCEEDED, job.message
        assert job.progress == 100 and job.heartbeat_at >= job.started_at
        assert job.report["features_written"] == 2
        layer = Layer.objects.get(name=name)
        assert layer.feature_count == 2 and job.publication.layer == layer
        assert query(f"SELECT Find_SRID('layers_data', '{name}', 'geom')") == [(2154,)]
        task.refresh_from_db()
        assert task.status == "SUCCESSFUL"
        assert not (settings.MEDIA_ROOT / "imports" / str(job.pk)).exists()
    finally:
        query(f'DROP TABLE IF EXISTS layers_data."{name}"')
        if job is not None:
            query(f'DROP TABLE IF EXISTS layers_staging."{name}__job{job.pk}"')
