"""A worker that may not write MEDIA_ROOT (CAPGEO_MEDIA_READ_ONLY, the `worker` service of
docker-compose.yml): it imports from the received file, unpacks in its own CAPGEO_WORK_DIR, and
leaves the received file and the thumbnail to the web servers, which remove the one and draw the
other when next asked."""
import pytest

from layers.jobs import discard_orphan_uploads, submit_import
from layers.models import ImportJob
from layers.publishing import run_import
from layers.publishing.pipeline import job_directory

from .test_publishing_support import TEST_PREFIX, admin_user, town_halls_geojson


@pytest.mark.django_db
def test_a_read_only_worker_writes_nothing_in_media_and_the_web_cleans_up(tmp_path, settings, client):
    settings.MEDIA_ROOT = tmp_path / "media"
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    job = submit_import(user=admin_user(), uploaded_path=str(source), source_name="mairies.geojson",
                        layer_name=f"{TEST_PREFIX}lecture", title="Mairies (lecture seule)")
    stored = job_directory(job)
    assert stored.is_dir()

    # The worker: media read-only (made so on disk too, which root ignores: the listing is
    # compared below), its own scratch directory.
    settings.CAPGEO_MEDIA_READ_ONLY = True
    settings.CAPGEO_WORK_DIR = str(tmp_path / "work")
    media = sorted(p for p in settings.MEDIA_ROOT.rglob("*"))
    for path in [settings.MEDIA_ROOT, *media]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        job = run_import(job.pk)
    finally:
        for path in [settings.MEDIA_ROOT, *media]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert sorted(p for p in settings.MEDIA_ROOT.rglob("*")) == media  # nothing written, nothing removed
    work = tmp_path / "work"
    assert not work.exists() or not any(work.iterdir())  # its scratch removed
    assert not job.layer.thumbnail  # left to the web
    assert discard_orphan_uploads() == []  # and the worker removes nothing

    # The web: the import's state read, its received file removed; the thumbnail drawn when shown.
    settings.CAPGEO_MEDIA_READ_ONLY = False
    settings.CAPGEO_WORK_DIR = ""
    client.force_login(admin_user())
    assert client.get(f"/catalogue/publier/imports/{job.pk}.json").json()["status"] == "succeeded"
    assert not stored.exists()
    thumbnail = client.get(f"/catalogue/{job.layer_name}/vignette.png")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/png"
    job.layer.refresh_from_db()
    assert job.layer.thumbnail
