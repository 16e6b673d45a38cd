"""Zipped Shapefile export (?f=shp): contents, encodings, renamed fields, filters and access.

ogr2ogr reads PostgreSQL through its own connection (committed data only): the layers are
committed for each class and removed after it, like the GeoPackage tests.
"""
import io
import zipfile

import pytest
from django.contrib.gis.gdal import DataSource

from layers.api.shapefile import field_names
from layers.models import Audience, Layer, Permission
from layers.testing import (SCENARIO_EXPECTED_DOWNLOAD, SCENARIO_EXPECTED_ROWS, SCENARIO_RULES,
                            make_vector_layer)

from .test_api_access import USERS, _remove_scenario_layers, body_of, expected_status, log_in
from .test_api_features import MULTILINE_NAME, TRICKY_NAME, make_points_layer

URL = "/api/layers/api_points/features"
LONG_LAYER = "api_champs_longs"


def unzip(response, tmp_path, name):
    """The zip's members, extracted into tmp_path/name/."""
    assert response.status_code == 200, body_of(response)[:300]
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert archive.testzip() is None
    target = tmp_path / name
    archive.extractall(target)
    return archive, target


def make_long_names_layer():
    return make_vector_layer(
        LONG_LAYER, "MULTIPOLYGON",
        [("identifiant_parcelle", "text"), ("identifiant_proprietaire", "text"),
         ("releve_le", "timestamp with time zone"), ("nom", "text")],
        [{"identifiant_parcelle": "AB-12", "identifiant_proprietaire": "P-7",
          "releve_le": "2024-05-03 14:30:00+02", "nom": "Zone d'activité « Brière »",
          "geom": "MULTIPOLYGON(((280000 6700000,281000 6700000,281000 6701000,280000 6700000)))"}],
        [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}])


@pytest.fixture(scope="class")
def committed_layers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        Layer.objects.filter(name__in=["api_points", LONG_LAYER, "api_mixte"]).delete()
        make_points_layer()
        make_long_names_layer()
        make_vector_layer("api_mixte", "GEOMETRY", [("nom", "text")], [
            {"nom": "un point", "geom": "POINT(280000 6700000)"},
            {"nom": "une ligne", "geom": "LINESTRING(280000 6700000,281000 6701000)"}],
            [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}])
    yield
    with django_db_blocker.unblock():
        for layer in Layer.objects.filter(name__in=["api_points", LONG_LAYER, "api_mixte"]):
            layer.delete()  # drops its table too


def test_field_names_are_short_unique_and_deterministic():
    names = ["fid", "identifiant_parcelle", "identifiant_proprietaire", "IDENTIFIAN", "éééééé"]
    mapping = field_names(names)
    assert mapping["fid"] == "fid"
    assert mapping["identifiant_parcelle"] == "identifian"
    assert mapping["identifiant_proprietaire"] == "identifi_1"
    assert mapping["IDENTIFIAN"] == "IDENTIFI_2"  # DBF names are case-insensitive
    assert mapping["éééééé"] == "ééééé"  # 10 bytes of UTF-8, never half a character
    assert all(len(short.encode()) <= 10 for short in mapping.values())
    assert field_names(names) == mapping


@pytest.mark.usefixtures("committed_layers")
class TestShapefile:
    def test_zip_holds_a_complete_utf8_shapefile_in_lambert93(self, client, db, tmp_path,
                                                               settings):
        settings.CAPGEO_EXPORT_TMP_DIR = str(tmp_path / "work")
        (tmp_path / "work").mkdir()
        response = client.get(URL, {"f": "shp"})
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == 'attachment; filename="api_points.zip"'
        assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/2154>"
        assert "private" in response["Cache-Control"]
        assert not response.has_header("X-Capgeo-Warning")  # every name fits
        archive, folder = unzip(response, tmp_path, "points")
        assert set(archive.namelist()) == {
            f"api_points{suffix}" for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg")} | {
            "LISEZMOI.txt"}
        assert (folder / "api_points.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
        assert "Lambert" in (folder / "api_points.prj").read_text() or "2154" in (
            folder / "api_points.prj").read_text()
        layer = DataSource(str(folder / "api_points.shp"))[0]
        assert len(layer) == 26 and layer.geom_type.name == "Point"
        assert layer.srs.srid == 2154
        assert layer.fields == ["fid", "code_insee", "nom", "rang", "releve"]
        assert [t.__name__ for t in layer.field_types][1:] == [
            "OFTString", "OFTString", "OFTInteger", "OFTDate"]
        features = list(layer)
        names = {f.get("nom") for f in features}
        assert TRICKY_NAME in names and MULTILINE_NAME in names
        first = min(features, key=lambda f: f.get("fid"))
        assert first.geom.coords == (280000.0, 6700000.0)
        assert str(first.get("releve")) == "2024-01-01"
        # The temporary directory is gone once the files are open.
        assert list((tmp_path / "work").iterdir()) == []

    def test_filters_and_crs_like_every_export(self, client, db, tmp_path):
        _, folder = unzip(client.get(URL, {"f": "shp", "nom": TRICKY_NAME, "crs": "4326"}),
                          tmp_path, "quoted")
        layer = DataSource(str(folder / "api_points.shp"))[0]
        assert [f.get("rang") for f in layer] == [3]
        assert layer.srs.srid == 4326
        x, y = next(iter(layer)).geom.coords
        assert -2.8 < x < -2.1 and 47.1 < y < 47.6
        _, folder = unzip(client.get(URL, {"f": "shp", "code_insee": "44055",
                                           "bbox": "282500,6699500,283500,6701500",
                                           "bbox-crs": "2154"}), tmp_path, "boxed")
        assert sorted(f.get("rang") for f in DataSource(str(folder / "api_points.shp"))[0]) == \
            [15, 16]
        _, folder = unzip(client.get(URL, {"f": "shp", "nom": "aucun"}), tmp_path, "empty")
        assert len(DataSource(str(folder / "api_points.shp"))[0]) == 0

    def test_long_field_names_are_shortened_and_listed(self, client, db, tmp_path):
        response = client.get(f"/api/layers/{LONG_LAYER}/features", {"f": "shp"})
        assert "identifiant_parcelle->identifian" in response["X-Capgeo-Warning"]
        archive, folder = unzip(response, tmp_path, "long")
        readme = archive.read("LISEZMOI.txt").decode("utf-8")
        assert "identifiant_parcelle -> identifian" in readme
        assert "identifiant_proprietaire -> identifi_1" in readme
        layer = DataSource(str(folder / f"{LONG_LAYER}.shp"))[0]
        assert layer.fields == ["fid", "identifian", "identifi_1", "releve_le", "nom"]
        assert layer.geom_type.name == "Polygon"
        feature = next(iter(layer))
        assert feature.get("identifian") == "AB-12" and feature.get("identifi_1") == "P-7"
        assert feature.get("nom") == "Zone d'activité « Brière »"
        # A timestamp keeps its time, as ISO text (the DBF date has none).
        assert feature.get("releve_le").startswith("2024-05-03")

    def test_mixed_geometries_are_refused_with_advice(self, client, db):
        response = client.get("/api/layers/api_mixte/features", {"f": "shp"})
        assert response.status_code == 400
        assert response.json()["parameter"] == "f"
        assert "GeoPackage" in response.json()["detail"]

    def test_failure_is_a_french_503_and_leaves_nothing(self, client, db, settings, tmp_path,
                                                          monkeypatch):
        import layers.publishing.ogr

        settings.CAPGEO_EXPORT_TMP_DIR = str(tmp_path)
        monkeypatch.setattr(layers.publishing.ogr, "OGR2OGR", "false")
        response = client.get(URL, {"f": "shp"})
        assert response.status_code == 503
        assert "Shapefile" in response.json()["detail"]
        assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="class")
def committed_scenario(django_db_setup, django_db_blocker):
    from layers.testing import build_access_scenario

    with django_db_blocker.unblock():
        _remove_scenario_layers()
        build_access_scenario()
    yield
    with django_db_blocker.unblock():
        _remove_scenario_layers()


@pytest.mark.usefixtures("committed_scenario")
class TestShapefileAccess:
    @pytest.mark.parametrize("username", USERS)
    def test_zip_holds_exactly_the_granted_rows(self, client, db, tmp_path, username):
        log_in(client, username)
        for layer in SCENARIO_RULES:
            response = client.get(f"/api/layers/{layer}/features", {"f": "shp"})
            status = expected_status(username, layer, export=True)
            assert response.status_code == status, (layer, body_of(response)[:300])
            if status != 200:
                assert b"PK" not in body_of(response)[:2]
                continue
            _, folder = unzip(response, tmp_path, f"{username}-{layer}")
            source = DataSource(str(folder / f"{layer}.shp"))
            codes = {feature.get("code_insee") for feature in source[0]}
            assert codes == SCENARIO_EXPECTED_ROWS[username][layer], (username, layer)
            assert layer in SCENARIO_EXPECTED_DOWNLOAD[username]
