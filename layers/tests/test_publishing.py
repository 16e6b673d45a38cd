"""Publishing layers from each supported format (GDAL + PostGIS, no mocks)."""
import hashlib

import pytest

from layers.models import ImportJob, Layer, Publication
from layers.publishing import prepare_import, run_import

from .test_publishing_support import (
    L93_AREA, TEST_PREFIX, admin_user, bowtie_geojson, drop_test_staging_tables, job_leftovers,
    lambert_shapefile_zip, media_root, own_connection, query, town_halls_geojson,
    two_layer_geopackage,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drop_test_staging_tables", "media_root")]
__all__ = ["drop_test_staging_tables", "media_root"]


def publish(path, name, **options):
    """Submit (stored copy, like the web page) and run in-process; returns the finished job."""
    options.setdefault("user", admin_user())
    options.setdefault("source_name", str(path).rsplit("/", 1)[-1])
    job = prepare_import(path=path, layer_name=name, **options)
    return run_import(job.pk)


def column_types(name):
    return dict(query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'layers_data' AND table_name = %s", [name]))


def assert_in_lambert93_area(layer):
    xmin, ymin, xmax, ymax = layer.extent.extent
    axmin, aymin, axmax, aymax = L93_AREA
    assert axmin < xmin <= xmax < axmax and aymin < ymin <= ymax < aymax, layer.extent.extent


def assert_published_table(name, count):
    assert query(f"SELECT Find_SRID('layers_data', '{name}', 'geom')") == [(2154,)]
    assert query(f'SELECT count(*), min(ST_SRID(geom)), bool_and(ST_IsValid(geom)) '
                 f'FROM layers_data."{name}"') == [(count, 2154, True)]
    indexes = query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'layers_data' "
                    "AND tablename = %s", [name])
    assert any("USING gist (geom)" in definition for (definition,) in indexes), indexes


def test_geojson_in_wgs84_lands_in_lambert93_with_types_and_safe_names(tmp_path):
    source = town_halls_geojson(tmp_path / "mairies.geojson")
    job = publish(source, f"{TEST_PREFIX}mairies", title="Mairies", theme="administratif")

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert not job_leftovers(job)
    name = f"{TEST_PREFIX}mairies"
    assert_published_table(name, 2)
    types = column_types(name)
    assert types["habitants"] in ("integer", "bigint")
    assert types["surface_km2"] == "double precision"
    assert types["inauguree"] == "date"
    assert types["nom"] in ("character varying", "text")
    # SQL keywords, quotes, spaces and accents become plain identifiers, and the report says so.
    report = job.report
    assert report["renamed_columns"] == {
        "select": "select_", "order": "order_", "user": "user_",
        "Nom \"court\"": "nom_court", "Élévation m": "elevation_m",
    }
    assert {"select_", "order_", "user_", "nom_court", "elevation_m"} <= set(types)
    assert query(f'SELECT nom_court, "order_" FROM layers_data."{name}" ORDER BY fid') == [
        ("Guérande", 2.5), ("La Baule", 3.5)]
    assert report["source_crs"] == "EPSG:4326"
    assert report["features_read"] == report["features_written"] == 2
    # The catalogue entry and the publication record.
    layer = Layer.objects.get(name=name)
    assert (layer.title, layer.theme.slug, layer.feature_count, layer.geometry_type) == \
        ("Mairies", "administratif", 2, "POINT")
    assert_in_lambert93_area(layer)
    x, y = query(f'SELECT ST_X(geom), ST_Y(geom) FROM layers_data."{name}" WHERE nom_court = %s',
                 ["Guérande"])[0]
    assert abs(x - 290500) < 2000 and abs(y - 6706300) < 2000
    publication = Publication.objects.get(layer=layer)
    assert publication.version == 1 and publication.mode == Publication.Mode.CREATE
    assert publication.published_by.username == "admin.sig"
    assert publication.source_name == "mairies.geojson"
    assert publication.source_checksum == hashlib.sha256(source.read_bytes()).hexdigest()
    assert publication.feature_count == 2
    assert job.publication == publication and job.progress == 100


def test_zipped_lambert93_shapefile_honours_its_cpg_encoding(tmp_path):
    archive = lambert_shapefile_zip(tmp_path)
    name = f"{TEST_PREFIX}communes"
    job = publish(archive, name)

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert_published_table(name, 2)
    assert query(f'SELECT nom FROM layers_data."{name}" ORDER BY rang') == [("Guérande",), ("Pénestin",)]
    assert job.report["source_crs"] == "EPSG:2154"
    assert job.report["source_format"] == "shapefile"
    layer = Layer.objects.get(name=name)
    assert layer.geometry_type == "MULTIPOLYGON"
    assert_in_lambert93_area(layer)
    assert column_types(name)["rang"] in ("integer", "bigint")


def without_cpg(archive, target):
    import zipfile

    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w") as stripped:
        for info in source.infolist():
            if not info.filename.endswith(".cpg"):
                stripped.writestr(info, source.read(info))
    return target


def test_zipped_shapefile_without_cpg_is_read_as_gdal_assumes(tmp_path):
    # GDAL 3.6 does not recode a .dbf that has neither .cpg nor code page: its bytes are taken
    # as they are, so UTF-8 text is published as is...
    archive = lambert_shapefile_zip(tmp_path, name="utf8", encoding="UTF-8")
    name = f"{TEST_PREFIX}sans_cpg"
    job = publish(without_cpg(archive, tmp_path / "utf8_sans_cpg.zip"), name)
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert query(f'SELECT nom FROM layers_data."{name}" ORDER BY rang') == [("Guérande",), ("Pénestin",)]
    # ... and latin-1 text, which PostgreSQL refuses, gives a clear message about the .cpg.
    archive = lambert_shapefile_zip(tmp_path, name="latin1")
    job = publish(without_cpg(archive, tmp_path / "latin1_sans_cpg.zip"), f"{TEST_PREFIX}latin1")
    assert job.status == ImportJob.Status.FAILED
    assert "aucun fichier .cpg" in job.message and "ISO-8859-1" in job.message
    assert not job_leftovers(job)
    assert not Layer.objects.filter(name=f"{TEST_PREFIX}latin1").exists()


def test_geopackage_with_several_layers_needs_a_choice(tmp_path):
    package = two_layer_geopackage(tmp_path / "equipements.gpkg")
    from layers.publishing import PublishError

    with pytest.raises(PublishError) as error:
        publish(package, f"{TEST_PREFIX}equipements")
    assert "plusieurs couches" in str(error.value)
    assert "mairies" in str(error.value) and "equipements" in str(error.value)
    assert not ImportJob.objects.filter(layer_name=f"{TEST_PREFIX}equipements").exists()

    job = publish(package, f"{TEST_PREFIX}equipements", source_layer="equipements")
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert_published_table(f"{TEST_PREFIX}equipements", 2)
    assert job.report["source_layer"] == "equipements"


def test_csv_with_lon_lat_columns_detected(tmp_path):
    csv = tmp_path / "arrets.csv"
    csv.write_text("id;Nom;Longitude;Latitude;mise_en_service\n"
                   "1;Gare;-2.3906;47.2866;2020-01-15\n2;Centre;-2.4289;47.3286;2021-06-01\n",
                   encoding="utf-8")
    job = publish(csv, f"{TEST_PREFIX}arrets", srs="EPSG:4326")

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    name = f"{TEST_PREFIX}arrets"
    assert_published_table(name, 2)
    types = column_types(name)
    assert "longitude" not in types and "latitude" not in types  # became the geometry
    assert types["id"] in ("integer", "bigint") and types["mise_en_service"] == "date"
    assert job.report["renamed_columns"] == {"Nom": "nom"}
    assert_in_lambert93_area(Layer.objects.get(name=name))


def test_csv_with_a_named_wkt_column(tmp_path):
    csv = tmp_path / "zones.csv"
    csv.write_text('code,forme\nA,"POLYGON((290000 6706000,290100 6706000,290100 6706100,290000 6706000))"\n',
                   encoding="utf-8")
    job = publish(csv, f"{TEST_PREFIX}zones", srs="2154", geometry_field="forme")

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert_published_table(f"{TEST_PREFIX}zones", 1)
    assert Layer.objects.get(name=f"{TEST_PREFIX}zones").geometry_type == "MULTIPOLYGON"


def test_postgis_table_of_the_same_database(tmp_path):
    table = f"{TEST_PREFIX}source_pg"
    raw = own_connection()  # committed, so that ogr2ogr sees it
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
            cursor.execute(f"CREATE TABLE public.{table} (id serial PRIMARY KEY, libelle text, "
                           f"geom geometry(Point, 4326))")
            cursor.execute(f"INSERT INTO public.{table} (libelle, geom) VALUES "
                           f"('un', ST_SetSRID(ST_MakePoint(-2.43, 47.33), 4326)), "
                           f"('deux', ST_SetSRID(ST_MakePoint(-2.39, 47.29), 4326))")
        job = publish(f"postgis:public.{table}", f"{TEST_PREFIX}depuis_pg", source_name=None)
        assert job.status == ImportJob.Status.SUCCEEDED, job.message
        assert_published_table(f"{TEST_PREFIX}depuis_pg", 2)
        assert job.report["source_crs"] == "EPSG:4326"
        assert Publication.objects.get(layer__name=f"{TEST_PREFIX}depuis_pg").source_checksum == ""
    finally:
        with raw.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
        raw.close()


def test_invalid_bow_tie_polygon_is_repaired_and_counted(tmp_path):
    source = bowtie_geojson(tmp_path / "parcelles.geojson")
    name = f"{TEST_PREFIX}parcelles"
    job = publish(source, name)

    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    assert job.report["geometries_invalid"] == 1
    assert job.report["geometries_repaired"] == 1
    assert job.report["skipped"] == 0
    assert_published_table(name, 2)
    assert query("SELECT type FROM geometry_columns WHERE f_table_schema = 'layers_data' "
                 f"AND f_table_name = '{name}'") == [("MULTIPOLYGON",)]
    # The bow tie became its two triangles, 50 m² each.
    assert query(f"SELECT ST_NumGeometries(geom), round(ST_Area(geom)) FROM layers_data.\"{name}\" "
                 f"WHERE nom = 'noeud papillon'") == [(2, 5000)]
