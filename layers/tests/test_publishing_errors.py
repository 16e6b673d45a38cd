"""Bad input: each case gives a clear French message and leaves nothing behind (no job, no
staging table, no layer, no stored file) and no other layer is touched."""
import os
import stat
import zipfile

import pytest

from layers.models import ImportJob, Layer, Publication
from layers.publishing import PublishError, prepare_import, run_import

from .test_publishing_support import (
    TEST_PREFIX, admin_user, drop_test_staging_tables, job_leftovers,
    media_root, query, town_halls_geojson, write_json,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drop_test_staging_tables")]
__all__ = ["drop_test_staging_tables", "media_root"]
NAME = f"{TEST_PREFIX}erreur"


@pytest.fixture
def untouched(media_root):
    """Publishes a layer first; after the test, checks it and the rest were left as they were."""
    from .test_publishing_support import GUERANDE_LONLAT, feature_collection, point_feature

    other = write_json(media_root.parent / "autre.geojson",
                       feature_collection([point_feature(GUERANDE_LONLAT, nom="x")]))
    job = run_import(prepare_import(user=admin_user(), path=other, source_name="autre.geojson",
                                    layer_name=f"{TEST_PREFIX}autre").pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    before = (Layer.objects.count(), Publication.objects.count())
    yield media_root
    assert not Layer.objects.filter(name=NAME).exists()
    assert (Layer.objects.count(), Publication.objects.count()) == before
    assert query(f'SELECT count(*) FROM layers_data."{TEST_PREFIX}autre"') == [(1,)]
    assert query("SELECT to_regclass(%s)", [f'layers_data."{NAME}"']) == [(None,)]
    imports = media_root / "imports"
    leftovers = [p for p in imports.rglob("*") if p.is_file()] if imports.exists() else []
    assert leftovers == []


def refused_at_submission(path, match, **options):
    """The request is refused before any job exists."""
    options.setdefault("source_name", os.path.basename(str(path)))
    options.setdefault("layer_name", NAME)
    options.setdefault("user", admin_user())
    jobs = ImportJob.objects.count()
    with pytest.raises(PublishError, match=match) as error:
        prepare_import(path=path, **options)
    assert ImportJob.objects.count() == jobs
    return str(error.value)


def failed_when_run(path, match, **options):
    """The job is accepted, then fails with a French message and leaves nothing behind."""
    job = prepare_import(user=admin_user(), path=path, source_name=os.path.basename(str(path)),
                         layer_name=NAME, **options)
    job = run_import(job.pk)
    assert job.status == ImportJob.Status.FAILED
    assert match in job.message, job.message
    assert job.finished_at is not None and not job_leftovers(job)
    return job


def zip_with(path, entries):
    """entries: (ZipInfo or name, bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return path


def test_corrupt_geopackage(untouched, tmp_path):
    corrupt = tmp_path / "abime.gpkg"
    corrupt.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    message = refused_at_submission(corrupt, "illisible")
    assert "abime.gpkg" in message


def test_corrupt_file_inside_a_zip_fails_the_job(untouched, tmp_path):
    archive = zip_with(tmp_path / "abime.zip", [("abime.shp", os.urandom(2000)),
                                                ("abime.dbf", os.urandom(500)),
                                                ("abime.shx", os.urandom(100))])
    failed_when_run(archive, "illisible")


def test_big_geojson_that_is_not_json_fails_the_job(untouched, tmp_path, settings):
    from layers.publishing import pipeline

    not_json = tmp_path / "faux.geojson"
    not_json.write_text("{ pas du json " * 10)
    # Over the size inspected at submission: the error comes from the job.
    pipeline_limit = pipeline.INSPECT_AT_SUBMISSION_BYTES
    pipeline.INSPECT_AT_SUBMISSION_BYTES = 10
    try:
        failed_when_run(not_json, "illisible")
    finally:
        pipeline.INSPECT_AT_SUBMISSION_BYTES = pipeline_limit


@pytest.mark.parametrize("entry, reason", [
    ("../evasion.txt", "sort du dossier"),
    ("dossier/../../evasion.txt", "sort du dossier"),
    ("/etc/evasion.txt", "sort du dossier"),
    ("C:/evasion.txt", "sort du dossier"),
])
def test_zip_entries_escaping_the_directory(untouched, tmp_path, entry, reason):
    archive = zip_with(tmp_path / "evasion.zip", [(entry, b"x"), ("ok.geojson", b"{}")])
    message = refused_at_submission(archive, reason)
    assert "archive zip est refusée" in message
    assert not (tmp_path.parent / "evasion.txt").exists()


def test_zip_with_a_symbolic_link(untouched, tmp_path):
    link = zipfile.ZipInfo("lien.geojson")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = zip_with(tmp_path / "lien.zip", [(link, b"/etc/passwd")])
    refused_at_submission(archive, "lien symbolique")


def test_zip_bomb_by_ratio(untouched, tmp_path):
    archive = zip_with(tmp_path / "bombe.zip", [("zeros.csv", b"0" * (30 * 1024 * 1024))])
    refused_at_submission(archive, "fois plus gros")


def test_zip_bomb_by_total_size(untouched, tmp_path, settings):
    settings.CAPGEO_UNZIP_MAX_BYTES = 1000
    archive = zip_with(tmp_path / "gros.zip", [("a.csv", os.urandom(800)), ("b.csv", os.urandom(800))])
    refused_at_submission(archive, "se décompresse en plus de")


def test_file_over_the_size_limit(untouched, tmp_path, settings):
    settings.CAPGEO_UPLOAD_MAX_BYTES = 100
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "au-delà de la limite")


def test_csv_without_geometry_columns(untouched, tmp_path):
    csv = tmp_path / "tableau.csv"
    csv.write_text("nom;valeur\na;1\n", encoding="utf-8")
    message = refused_at_submission(csv, "pas de colonnes de géométrie", srs="EPSG:4326")
    assert "nom, valeur" in message


def test_csv_given_a_column_it_does_not_have(untouched, tmp_path):
    csv = tmp_path / "tableau.csv"
    csv.write_text("nom,lon,lat\na,-2.4,47.3\n", encoding="utf-8")
    refused_at_submission(csv, "pas de colonne « est »", srs="EPSG:4326", x_field="est", y_field="lat")


def test_file_without_crs_needs_one(untouched, tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text("nom,lon,lat\na,-2.4,47.3\n", encoding="utf-8")
    refused_at_submission(csv, "ne déclare pas de système de coordonnées")


@pytest.mark.parametrize("srs", ["EPSG:999999", "+proj=longlat +datum=WGS84", "IGNF:LAMB93", "4326 ; DROP"])
def test_unknown_or_non_epsg_crs(untouched, tmp_path, srs):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    message = refused_at_submission(source, "est inconnu", srs=srs)
    assert "EPSG:2154" in message


def test_duplicate_layer_name_in_create_mode(untouched, tmp_path):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "existe déjà", layer_name=f"{TEST_PREFIX}autre")


def test_replace_of_a_missing_layer(untouched, tmp_path):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "n'existe pas", mode="replace")


@pytest.mark.parametrize("name", ["Mairies", "1mairies", "mairies-2", "maïries", "", "a" * 49])
def test_invalid_technical_name(untouched, tmp_path, name):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "Nom technique", layer_name=name)


def test_unknown_theme_and_format(untouched, tmp_path):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "thème « inconnu » n'existe pas", theme="inconnu")
    kml = tmp_path / "mairies.kml"
    kml.write_text("<kml/>")
    refused_at_submission(kml, "pas pris en charge")


def test_extension_decides_the_driver(untouched, tmp_path):
    # A CSV renamed .geojson is not read as CSV.
    fake = tmp_path / "points.geojson"
    fake.write_text("nom,lon,lat\na,-2.4,47.3\n")
    refused_at_submission(fake, "illisible|n'est pas un fichier GeoJSON")


def test_non_admin_cannot_publish(untouched, tmp_path, scenario_user):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    refused_at_submission(source, "administrateurs SIG", user=scenario_user("agent.guerande"))


def test_postgis_source_that_does_not_exist_or_is_not_allowed(untouched):
    refused_at_submission("postgis:public.nexiste_pas", "n'existe pas dans la base", source_name=None)
    refused_at_submission('postgis:public.x"; DROP TABLE y; --', "pas une table PostGIS utilisable",
                          source_name=None)
    refused_at_submission("postgis:layers_staging.quelconque", "pas une table PostGIS utilisable",
                          source_name=None)


def test_attribute_names_that_are_sql_keywords_or_have_quotes_are_published(media_root, tmp_path):
    # Not an error: the names are laundered and the renaming reported (see test_publishing too).
    from .test_publishing_support import GUERANDE_LONLAT, feature_collection, point_feature

    source = write_json(tmp_path / "mots.geojson", feature_collection([point_feature(
        GUERANDE_LONLAT, **{"select": 1, "from": "a", "user": "b", "group by": 2, "it's": "c",
                            '"quoted"': "d", "Select": 3})]))
    job = run_import(prepare_import(user=admin_user(), path=source, source_name="mots.geojson",
                                    layer_name=f"{TEST_PREFIX}mots").pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.report["renamed_columns"] == {
        "select": "select_", "from": "from_", "user": "user_", "group by": "group_by",
        "it's": "it_s", '"quoted"': "quoted",
        "Select2": "select2",  # GDAL itself renamed this case-insensitive duplicate
    }
    assert query(f'SELECT select_, from_, user_, group_by, it_s, quoted, select2 '
                 f'FROM layers_data."{TEST_PREFIX}mots"') == [(1, "a", "b", 2, "c", "d", 3)]
