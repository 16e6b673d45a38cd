"""Input files and fixtures shared by the publishing tests (no tests here).

Files are written by the tests themselves: GeoJSON/CSV as text, the Shapefile and GeoPackage
with ogr2ogr from GeoJSON.
"""
import json
import subprocess
import zipfile
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from accounts.models import User

# Town halls of Guérande and La Baule (WGS 84), and roughly the same places in Lambert-93.
GUERANDE_LONLAT = (-2.4289, 47.3286)
LA_BAULE_LONLAT = (-2.3906, 47.2866)
GUERANDE_L93 = (290500.0, 6706300.0)
LA_BAULE_L93 = (293100.0, 6701400.0)
# Lambert-93 numbers of the Cap Atlantique area: any published extent must fall inside.
L93_AREA = (270000.0, 6680000.0, 320000.0, 6730000.0)

TEST_PREFIX = "pubt_"


def feature_collection(features, crs_epsg=None):
    collection = {"type": "FeatureCollection", "features": features}
    if crs_epsg:
        collection["crs"] = {"type": "name",
                             "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs_epsg}"}}
    return collection


def point_feature(coordinates, **properties):
    return {"type": "Feature", "properties": properties,
            "geometry": {"type": "Point", "coordinates": list(coordinates)}}


def write_json(path, data):
    path = Path(path)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def town_halls_geojson(path):
    """WGS 84 points with an integer, a real, a date, text, and awkward attribute names."""
    return write_json(path, feature_collection([
        point_feature(GUERANDE_LONLAT, nom="Mairie de Guérande", habitants=16500,
                      surface_km2=81.5, inauguree="1990-05-12", select=1, order=2.5,
                      user="agent", **{"Nom \"court\"": "Guérande", "Élévation m": 12}),
        point_feature(LA_BAULE_LONLAT, nom="Mairie de La Baule", habitants=15800,
                      surface_km2=22.1, inauguree="1985-09-30", select=2, order=3.5,
                      user="agent", **{"Nom \"court\"": "La Baule", "Élévation m": 4}),
    ]))


def ogr2ogr(*args):
    subprocess.run(["ogr2ogr", *map(str, args)], check=True, capture_output=True)


def lambert_shapefile_zip(directory, name="communes_l93", values=("Guérande", "Pénestin"),
                          encoding="ISO-8859-1"):
    """A zipped Lambert-93 Shapefile with accented values, written in `encoding` (its .cpg says
    so)."""
    directory = Path(directory)
    source = write_json(directory / f"{name}_src.geojson", feature_collection([
        {"type": "Feature", "properties": {"nom": value, "rang": index},
         "geometry": {"type": "Polygon", "coordinates": [[
             [GUERANDE_L93[0] + index * 1000, GUERANDE_L93[1]],
             [GUERANDE_L93[0] + index * 1000 + 500, GUERANDE_L93[1]],
             [GUERANDE_L93[0] + index * 1000 + 500, GUERANDE_L93[1] + 500],
             [GUERANDE_L93[0] + index * 1000, GUERANDE_L93[1]]]]}}
        for index, value in enumerate(values)
    ], crs_epsg=2154))
    shp_dir = directory / f"{name}_shp"
    ogr2ogr("-f", "ESRI Shapefile", shp_dir, source, "-nln", name, "-lco", f"ENCODING={encoding}")
    assert (shp_dir / f"{name}.cpg").read_text().strip() == encoding
    archive = directory / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp_dir.iterdir()):
            zf.write(part, f"{name}/{part.name}")
    return archive


def two_layer_geopackage(path):
    path = Path(path)
    first = write_json(path.with_suffix(".a.geojson"), feature_collection(
        [point_feature(GUERANDE_LONLAT, nom="mairie")]))
    second = write_json(path.with_suffix(".b.geojson"), feature_collection(
        [point_feature(LA_BAULE_LONLAT, nom="école"), point_feature(GUERANDE_LONLAT, nom="poste")]))
    ogr2ogr("-f", "GPKG", path, first, "-nln", "mairies")
    ogr2ogr("-f", "GPKG", "-update", path, second, "-nln", "equipements")
    return path


def bowtie_geojson(path):
    """A self-intersecting (bow-tie) polygon and a valid one, in Lambert-93."""
    x, y = GUERANDE_L93
    return write_json(path, feature_collection([
        {"type": "Feature", "properties": {"nom": "noeud papillon"},
         "geometry": {"type": "Polygon", "coordinates": [[
             [x, y], [x + 100, y + 100], [x + 100, y], [x, y + 100], [x, y]]]}},
        {"type": "Feature", "properties": {"nom": "carré"},
         "geometry": {"type": "Polygon", "coordinates": [[
             [x + 200, y], [x + 300, y], [x + 300, y + 100], [x + 200, y + 100], [x + 200, y]]]}},
    ], crs_epsg=2154))


def admin_user():
    return User.objects.get(username="admin.sig")


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else None


def staging_tables(prefix=TEST_PREFIX):
    return [name for (name,) in query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'layers_staging' AND tablename LIKE %s",
        [prefix + "%"])]


def job_leftovers(job):
    """Staging tables of this job still there (the job must have dropped them)."""
    names = [f"{job.layer_name}__job{job.pk}", f"{job.layer_name}__job{job.pk}m"]
    return [name for (name,) in query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'layers_staging' AND tablename = ANY(%s)",
        [names])]


def own_connection():
    """A separate autocommit connection, for what ogr2ogr must see (committed data)."""
    settings = connection.settings_dict
    raw = psycopg2.connect(dbname=settings["NAME"], user=settings["USER"],
                           password=settings["PASSWORD"], host=settings["HOST"],
                           port=settings["PORT"])
    raw.autocommit = True
    return raw


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def drop_test_staging_tables(django_db_setup, django_db_blocker):
    """ogr2ogr commits staging tables outside the test transaction: drop what remains at the end."""
    yield
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            for schema in ("layers_staging", "layers_data", "layers_history"):
                cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s "
                               "AND tablename LIKE %s", [schema, TEST_PREFIX + "%"])
                for (table,) in cursor.fetchall():
                    cursor.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
