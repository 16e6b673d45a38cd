"""Updating a published layer (replace, append), its history and restoring an earlier version;
the command line; jobs left running by a dead worker."""
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from layers.jobs import fail_stale_jobs
from layers.models import ImportJob, Layer
from layers.publishing import PublishError, prepare_import, restore_publication, run_import

from .test_publishing_support import (
    GUERANDE_LONLAT, LA_BAULE_LONLAT, TEST_PREFIX, admin_user, drop_test_staging_tables,
    feature_collection, job_leftovers, media_root, point_feature, query, staging_tables, write_json,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drop_test_staging_tables", "media_root")]
__all__ = ["drop_test_staging_tables", "media_root"]
NAME = f"{TEST_PREFIX}points"


def points_file(path, *names, extra=None):
    features = []
    for index, nom in enumerate(names):
        lon, lat = GUERANDE_LONLAT if index % 2 == 0 else LA_BAULE_LONLAT
        properties = {"nom": nom, "rang": index}
        properties.update(extra or {})
        features.append(point_feature((lon + index * 0.001, lat), **properties))
    return write_json(path, feature_collection(features))


def publish(path, mode="create", name=NAME, **options):
    job = prepare_import(user=admin_user(), path=path, source_name=path.name, layer_name=name,
                         mode=mode, **options)
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    return job


def live_names():
    return [nom for (nom,) in query(f'SELECT nom FROM layers_data."{NAME}" ORDER BY fid')]


def history_tables():
    return sorted(name for (name,) in query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'layers_history' AND tablename LIKE %s",
        [NAME + "%"]))


def test_replace_append_and_restore_keep_every_version(tmp_path):
    publish(points_file(tmp_path / "v1.geojson", "a", "b"))
    replaced = publish(points_file(tmp_path / "v2.geojson", "c", "d", "e"), mode="replace")
    assert live_names() == ["c", "d", "e"]
    assert replaced.publication.version == 2
    assert history_tables() == [f"{NAME}__v1"]

    appended = publish(points_file(tmp_path / "v3.geojson", "f", "g", extra={"autre": "x"}),
                       mode="append")
    assert live_names() == ["c", "d", "e", "f", "g"]
    assert appended.report["features_appended"] == 2
    assert appended.report["features_in_layer"] == 5
    assert any("autre" in warning for warning in appended.report["warnings"])
    assert history_tables() == [f"{NAME}__v1", f"{NAME}__v2"]
    # Fresh keys for the appended rows, the index still there.
    assert query(f'SELECT count(DISTINCT fid) FROM layers_data."{NAME}"') == [(5,)]
    assert query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'layers_data' "
                 "AND tablename = %s AND indexdef LIKE '%%USING gist%%'", [NAME]) == [(1,)]

    layer = Layer.objects.get(name=NAME)
    assert layer.feature_count == 5
    versions = {p.version: p for p in layer.publications.all()}
    assert sorted(versions) == [1, 2, 3]
    assert versions[1].history_table == f"{NAME}__v1" and versions[3].history_table == ""

    restored = restore_publication(versions[1], admin_user())
    assert live_names() == ["a", "b"]
    assert (restored.version, restored.mode, restored.restored_from) == (4, "restore", versions[1])
    assert restored.feature_count == 2
    layer.refresh_from_db()
    assert layer.feature_count == 2
    assert history_tables() == [f"{NAME}__v1", f"{NAME}__v2", f"{NAME}__v3"]
    assert query(f'SELECT Find_SRID(\'layers_data\', \'{NAME}\', \'geom\')') == [(2154,)]
    # After a restoration, publishing again still works (no name clash in the schemas).
    publish(points_file(tmp_path / "v5.geojson", "h"), mode="append")
    assert live_names() == ["a", "b", "h"]
    # The version restored from is still archived and can be restored again.
    restore_publication(versions[2], admin_user())
    assert live_names() == ["c", "d", "e"]
    assert not staging_tables(NAME + "__r")


def test_restoring_the_live_version_or_as_a_non_admin_is_refused(tmp_path, scenario_user):
    job = publish(points_file(tmp_path / "v1.geojson", "a"))
    with pytest.raises(PublishError, match="déjà la version en ligne"):
        restore_publication(job.publication, admin_user())
    publish(points_file(tmp_path / "v2.geojson", "b"), mode="replace")
    with pytest.raises(PublishError, match="administrateurs SIG"):
        restore_publication(job.publication, scenario_user("agent.guerande"))
    assert live_names() == ["b"]


def test_append_with_another_geometry_type_is_refused_and_changes_nothing(tmp_path):
    publish(points_file(tmp_path / "v1.geojson", "a"))
    lines = write_json(tmp_path / "lignes.geojson", feature_collection([
        {"type": "Feature", "properties": {"nom": "l"},
         "geometry": {"type": "LineString", "coordinates": [list(GUERANDE_LONLAT), list(LA_BAULE_LONLAT)]}}]))
    job = prepare_import(user=admin_user(), path=lines, source_name="lignes.geojson",
                         layer_name=NAME, mode="append")
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.FAILED
    assert "ne sont pas du type de la couche" in job.message
    assert live_names() == ["a"]
    assert Layer.objects.get(name=NAME).publications.count() == 1
    assert not job_leftovers(job)


def test_append_with_incompatible_values_is_refused(tmp_path):
    publish(points_file(tmp_path / "v1.geojson", "a"))
    wrong = points_file(tmp_path / "v2.geojson", "b")
    wrong.write_text(wrong.read_text().replace('"rang": 0', '"rang": "premier"'))
    job = run_import(prepare_import(user=admin_user(), path=wrong, source_name="v2.geojson",
                                    layer_name=NAME, mode="append").pk)
    assert job.status == ImportJob.Status.FAILED
    assert "pas compatibles" in job.message
    assert live_names() == ["a"]
    assert not job_leftovers(job)


def test_command_line_publishes_with_a_progress_bar_and_a_report(tmp_path):
    source = points_file(tmp_path / "Points d'intérêt.geojson", "a", "b")
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("publish_layer", str(source), "--title", "Points d'intérêt", "--theme", "tourisme",
                 "--user", "admin.sig", stdout=stdout, stderr=stderr)
    layer = Layer.objects.get(name="points_d_interet")
    if True:
        assert layer.title == "Points d'intérêt" and layer.feature_count == 2
        assert "100 %" in stderr.getvalue() and "[####" in stderr.getvalue()
        assert "publiée" in stdout.getvalue() and '"features_written": 2' in stdout.getvalue()
        # The command reads the file where it is: it is neither copied nor removed.
        assert source.exists()
        with pytest.raises(CommandError, match="existe déjà"):
            call_command("publish_layer", str(source), stdout=io.StringIO(), stderr=io.StringIO())
        call_command("publish_layer", str(source), "--mode", "append", "--no-progress",
                     stdout=io.StringIO())
        layer.refresh_from_db()
        assert layer.feature_count == 4


def test_command_line_reports_errors_in_french(tmp_path):
    csv = tmp_path / "sans_geometrie.csv"
    csv.write_text("nom,valeur\na,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="pas de colonnes de géométrie"):
        call_command("publish_layer", str(csv), "--name", f"{TEST_PREFIX}csv", "--srs", "EPSG:4326",
                     stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="Utilisateur « personne » inconnu"):
        call_command("publish_layer", str(csv), "--user", "personne", stdout=io.StringIO())


def test_a_job_left_running_by_a_dead_worker_is_marked_failed(tmp_path):
    old = timezone.now() - timedelta(hours=1)
    stale = ImportJob.objects.create(layer_name=f"{TEST_PREFIX}perdu", status=ImportJob.Status.RUNNING,
                                     started_at=old, heartbeat_at=old, progress=40)
    alive = ImportJob.objects.create(layer_name=f"{TEST_PREFIX}vivant", status=ImportJob.Status.RUNNING,
                                     started_at=old, heartbeat_at=timezone.now(), progress=40)
    queued = ImportJob.objects.create(layer_name=f"{TEST_PREFIX}attente")
    query(f'CREATE TABLE layers_staging."{TEST_PREFIX}perdu__job{stale.pk}" (fid bigint)')

    assert fail_stale_jobs() == [stale.pk]

    stale.refresh_from_db()
    assert stale.status == ImportJob.Status.FAILED
    assert "interrompu" in stale.message and stale.finished_at is not None
    assert not staging_tables(f"{TEST_PREFIX}perdu")
    alive.refresh_from_db()
    queued.refresh_from_db()
    assert alive.status == ImportJob.Status.RUNNING and queued.status == ImportJob.Status.QUEUED


def test_files_of_a_lost_submission_are_removed_once_untouched_for_the_stale_delay(settings):
    """A server killed while storing a submission leaves its file without a job (the job's
    transaction rolled back): removed once untouched for the stale delay; a submission still
    being stored (recent file) and a queued job's file are left alone."""
    import os
    import time

    from layers.jobs import discard_orphan_uploads
    from layers.publishing.uploads import imports_root

    queued = ImportJob.objects.create(layer_name=f"{TEST_PREFIX}attente")
    lost, recent, kept = (imports_root() / str(n) / "a1b2" for n in (9_999_991, 9_999_992, queued.pk))
    for directory in (lost, recent, kept):
        directory.mkdir(parents=True)
        (directory / "source.geojson").write_text("{}")
    old = time.time() - settings.CAPGEO_IMPORT_STALE_SECONDS - 5
    for path in (lost / "source.geojson", lost, kept / "source.geojson", kept):
        os.utime(path, (old, old))

    assert discard_orphan_uploads() == [lost.parent]
    assert not lost.parent.exists()
    assert (recent / "source.geojson").exists() and (kept / "source.geojson").exists()
