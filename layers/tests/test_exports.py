"""Exports (?f=geojson|csv|gpkg): whole layer or filtered part, encodings, streaming, clean-up."""
import csv
import io
import json

import pytest
from django.contrib.gis.gdal import DataSource

from layers.models import Audience, Layer, Permission
from layers.testing import make_vector_layer

from .test_api_features import MULTILINE_NAME, TRICKY_NAME, make_points_layer

URL = "/api/layers/api_points/features"


def content(response):
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content)


@pytest.fixture
def points(db):
    return make_points_layer()


def test_geojson_export_is_the_whole_layer_streamed_in_batches(client, points, settings):
    settings.CAPGEO_EXPORT_FETCH_ROWS = 4
    response = client.get(URL, {"f": "geojson"})
    assert response.streaming
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"] == 'attachment; filename="api_points.geojson"'
    assert "private" in response["Cache-Control"]
    chunks = list(response.streaming_content)
    assert len(chunks) >= 26 // 4  # one chunk per batch of the server-side cursor
    body = json.loads(b"".join(chunks))
    assert body["type"] == "FeatureCollection" and body["name"] == "api_points"
    assert "numberMatched" not in body and "crs" not in body
    assert len(body["features"]) == 26
    assert [f["id"] for f in body["features"]] == sorted(f["id"] for f in body["features"])


def test_export_with_filters_limit_and_crs(client, points):
    body = json.loads(content(client.get(URL, {"f": "geojson", "code_insee": "44055", "limit": 4,
                                               "offset": 2, "crs": "2154"})))
    assert [f["properties"]["rang"] for f in body["features"]] == [17, 18, 19, 20]
    assert body["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::2154"
    assert body["features"][0]["geometry"]["coordinates"] == [283000, 6702000]
    # No page maximum for exports: a limit beyond it is just a limit.
    body = json.loads(content(client.get(URL, {"f": "geojson", "limit": 50000})))
    assert len(body["features"]) == 26


def test_empty_export_is_a_valid_document(client, points):
    body = json.loads(content(client.get(URL, {"f": "geojson", "nom": "aucun"})))
    assert body["features"] == []
    rows = list(csv.reader(io.StringIO(content(client.get(URL, {"f": "csv", "nom": "aucun"})).decode())))
    assert rows == [["fid", "code_insee", "nom", "rang", "releve", "x", "y"]]


def test_csv_of_points_has_x_y_in_lambert93_by_default_and_quotes_what_it_must(client, points):
    response = client.get(URL, {"f": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="api_points.csv"'
    assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/2154>"
    text = content(response).decode("utf-8")
    assert text.startswith("fid,code_insee,nom,rang,releve,x,y\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 26
    assert rows[0] == {"fid": rows[0]["fid"], "code_insee": "44069", "nom": "point 00", "rang": "0",
                       "releve": "2024-01-01", "x": "280000.00", "y": "6700000.00"}
    assert rows[3]["nom"] == TRICKY_NAME
    assert rows[4]["nom"] == MULTILINE_NAME
    assert rows[-1]["x"] == "" and rows[-1]["y"] == "" and rows[-1]["releve"] == ""
    assert '"L\'""Étang"", de la Brière"' in text  # RFC 4180 quoting
    wgs84 = list(csv.DictReader(io.StringIO(content(client.get(URL, {"f": "csv", "crs": "4326"}))
                                            .decode(), newline="")))
    assert -2.8 < float(wgs84[0]["x"]) < -2.1 and 47.1 < float(wgs84[0]["y"]) < 47.6


def test_csv_of_polygons_has_a_wkt_column(client, db):
    make_vector_layer(
        "api_zones", "MULTIPOLYGON", [("nom", "text"), ("surface", "double precision")],
        [{"nom": "zone, une", "surface": 1.5,
          "geom": "MULTIPOLYGON(((280000 6700000,281000 6700000,281000 6701000,280000 6700000)))"}],
        [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}])
    rows = list(csv.DictReader(io.StringIO(content(client.get(
        "/api/layers/api_zones/features", {"f": "csv"})).decode(), newline="")))
    assert rows == [{"fid": "1", "nom": "zone, une", "surface": "1.5", "wkt":
                     "MULTIPOLYGON(((280000 6700000,281000 6700000,281000 6701000,280000 6700000)))"}]


def test_gpkg_failure_is_a_french_503_and_leaves_nothing(client, points, settings, tmp_path,
                                                         monkeypatch):
    import layers.publishing.ogr

    settings.CAPGEO_EXPORT_TMP_DIR = str(tmp_path)
    monkeypatch.setattr(layers.publishing.ogr, "OGR2OGR", "false")
    response = client.get(URL, {"f": "gpkg"})
    assert response.status_code == 503
    assert "GeoPackage" in response.json()["detail"]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="class")
def committed_points(django_db_setup, django_db_blocker):
    """ogr2ogr reads committed data only: the layer is committed for the class, then removed."""
    with django_db_blocker.unblock():
        Layer.objects.filter(name="api_points").delete()
        make_points_layer()
    yield
    with django_db_blocker.unblock():
        for layer in Layer.objects.filter(name="api_points"):
            layer.delete()  # drops its table too


@pytest.mark.usefixtures("committed_points")
class TestGeoPackage:
    def read(self, client, tmp_path, **params):
        response = client.get(URL, {"f": "gpkg", **params})
        assert response["Content-Disposition"] == 'attachment; filename="api_points.gpkg"'
        path = tmp_path / "export.gpkg"
        path.write_bytes(content(response))
        return DataSource(str(path))[0]

    def test_types_fids_and_projection(self, client, db, tmp_path, settings):
        settings.CAPGEO_EXPORT_TMP_DIR = str(tmp_path / "work")
        (tmp_path / "work").mkdir()
        layer = self.read(client, tmp_path)
        assert layer.name == "api_points" and len(layer) == 26
        assert layer.geom_type.name == "Point"
        assert layer.srs.srid == 2154
        assert dict(zip(layer.fields, [t.__name__ for t in layer.field_types])) == {
            "code_insee": "OFTString", "nom": "OFTString", "rang": "OFTInteger", "releve": "OFTDate"}
        features = list(layer)
        assert [f.fid for f in features] == sorted(f.fid for f in features)
        names = {f.get("nom") for f in features}
        assert TRICKY_NAME in names and MULTILINE_NAME in names
        assert features[0].geom.coords == (280000.0, 6700000.0)
        assert list((tmp_path / "work").iterdir()) == []  # the temporary file is gone

    def test_filters_and_crs(self, client, db, tmp_path):
        quoted = self.read(client, tmp_path, nom=TRICKY_NAME, crs="4326")
        assert [f.get("rang") for f in quoted] == [3]
        assert quoted.srs.srid == 4326
        x, y = next(iter(quoted)).geom.coords
        assert -2.8 < x < -2.1 and 47.1 < y < 47.6
        boxed = self.read(client, tmp_path, code_insee="44055",
                          bbox="282500,6699500,283500,6701500", **{"bbox-crs": "2154"})
        assert sorted(f.get("rang") for f in boxed) == [15, 16]
