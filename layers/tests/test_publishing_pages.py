"""The staff publishing pages: access, upload form, job page and status, history, restore."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from layers.models import ImportJob, Layer, Publication
from layers.publishing import prepare_import, run_import

from .test_publishing_support import (
    GUERANDE_LONLAT, TEST_PREFIX, admin_user, drop_test_staging_tables, feature_collection,
    media_root, point_feature, town_halls_geojson, write_json,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drop_test_staging_tables", "media_root")]
__all__ = ["drop_test_staging_tables", "media_root"]
PASSWORD = "demo-capgeo"


@pytest.fixture
def admin_client(client):
    client.login(username="admin.sig", password=PASSWORD)
    return client


def published(tmp_path, name, *versions):
    """A layer published once per list of names (create, then replace)."""
    job = None
    for number, names in enumerate(versions):
        source = write_json(tmp_path / f"{name}_{number}.geojson", feature_collection(
            [point_feature(GUERANDE_LONLAT, nom=n) for n in names]))
        job = run_import(prepare_import(user=admin_user(), path=source, source_name=source.name,
                                        layer_name=name, mode="replace" if number else "create").pk)
        assert job.status == ImportJob.Status.SUCCEEDED, job.message
    return job


@pytest.mark.parametrize("url_name, args", [
    ("publishing:publish", []), ("publishing:job", [1]), ("publishing:job_status", [1]),
    ("publishing:history", ["x"]),
])
def test_only_gis_administrators_reach_the_pages(client, url_name, args):
    url = reverse(url_name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.login(username="agent.guerande", password=PASSWORD)
    assert client.get(url).status_code == 403


def test_restore_is_post_only_and_for_administrators(client):
    url = reverse("publishing:restore", args=[1])
    client.login(username="agent.guerande", password=PASSWORD)
    assert client.post(url).status_code == 403
    client.login(username="admin.sig", password=PASSWORD)
    assert client.get(url).status_code == 405


def test_upload_creates_a_queued_job_and_redirects_to_its_page(admin_client, tmp_path, media_root):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    upload = SimpleUploadedFile("Mairies.geojson", source.read_bytes(), "application/geo+json")
    response = admin_client.post(reverse("publishing:publish"), {
        "file": upload, "name": f"{TEST_PREFIX}web", "title": "Mairies", "theme": "administratif",
        "mode": "create", "source_layer": "", "srs": "",
    })
    job = ImportJob.objects.get(layer_name=f"{TEST_PREFIX}web")
    assert response.status_code == 302
    assert response["Location"] == reverse("publishing:job", args=[job.pk])
    assert job.status == ImportJob.Status.QUEUED and job.created_by.username == "admin.sig"
    assert job.options["theme"] == "administratif"
    stored = media_root / "imports" / str(job.pk) / job.options["private_dir"] / "Mairies.geojson"
    assert len(job.options["private_dir"]) == 32
    assert job.source_path == str(stored) and stored.read_bytes() == source.read_bytes()

    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "job-progress" in page.content.decode() and "setTimeout(poll" in page.content.decode()
    status = admin_client.get(reverse("publishing:job_status", args=[job.pk])).json()
    assert status["status"] == "queued" and status["finished"] is False

    # The worker's part, run in-process here (the queue itself: test_publishing_jobs.py).
    run_import(job.pk)
    status = admin_client.get(reverse("publishing:job_status", args=[job.pk])).json()
    assert (status["status"], status["progress"], status["finished"]) == ("succeeded", 100, True)
    assert "publiée" in status["message"]
    page = admin_client.get(reverse("publishing:job", args=[job.pk])).content.decode()
    assert "Rapport d&#x27;import" in page or "Rapport d'import" in page
    assert "elevation_m" in page and "Élévation m" in page  # the renamed columns
    assert "setTimeout(poll" not in page
    assert not stored.exists()  # the stored copy is removed once imported
    assert not (media_root / "imports" / str(job.pk)).exists()


def test_upload_errors_are_shown_in_french_on_the_form(admin_client, tmp_path):
    upload = SimpleUploadedFile("tableau.csv", b"nom;valeur\na;1\n", "text/csv")
    response = admin_client.post(reverse("publishing:publish"), {
        "file": upload, "name": f"{TEST_PREFIX}web", "mode": "create", "srs": "EPSG:4326",
    })
    assert response.status_code == 400
    assert "pas de colonnes de géométrie" in response.content.decode()
    assert not ImportJob.objects.filter(layer_name=f"{TEST_PREFIX}web").exists()
    response = admin_client.post(reverse("publishing:publish"), {
        "file": SimpleUploadedFile("x.geojson", b"{}"), "name": "Pas Valide", "mode": "create"})
    assert response.status_code == 400 and "minuscules" in response.content.decode()


def test_history_lists_versions_and_restores_one(admin_client, tmp_path):
    name = f"{TEST_PREFIX}histo"
    published(tmp_path, name, ["a"], ["b", "c"])
    layer = Layer.objects.get(name=name)
    first = layer.publications.get(version=1)
    page = admin_client.get(reverse("publishing:history", args=[name])).content.decode()
    assert "Restaurer" in page and reverse("publishing:restore", args=[first.pk]) in page
    assert "en ligne" in page

    response = admin_client.post(reverse("publishing:restore", args=[first.pk]))
    assert response.status_code == 302
    layer.refresh_from_db()
    assert layer.feature_count == 1
    restored = layer.publications.get(version=3)
    assert restored.mode == Publication.Mode.RESTORE and restored.restored_from == first
    page = admin_client.get(response["Location"]).content.decode()
    assert "Version 1 restaurée" in page

    # Restoring the live version is refused with a message, not an error page.
    response = admin_client.post(reverse("publishing:restore", args=[restored.pk]), follow=True)
    assert response.status_code == 200 and "déjà la version en ligne" in response.content.decode()
