"""OGC API – Tiles on the collections: the WebMercatorQuad tile matrix set, tile set metadata,
and tiles equal to the platform's MVT path (/tiles/…), under the same rights."""
import mapbox_vector_tile
import pytest
from django.test import Client

from layers.testing import SCENARIO_EXPECTED_ROWS, SCENARIO_RULES

from .support import document, login

pytestmark = pytest.mark.django_db
GUERANDE = "12/1434/2020"  # z/row/col of the tile over Guérande's town centre


def test_the_tile_matrix_set_is_webmercatorquad():
    listed = document(Client().get("/ogc/tileMatrixSets"))["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad"]
    tms = document(Client().get("/ogc/tileMatrixSets/WebMercatorQuad"))
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    zero, twelve = tms["tileMatrices"][0], tms["tileMatrices"][12]
    assert zero["matrixWidth"] == 1 and twelve["matrixWidth"] == 4096
    assert zero["cellSize"] == pytest.approx(156543.03392804097)
    assert Client().get("/ogc/tileMatrixSets/Autre").status_code == 404


def test_tilesets_and_tiles_equal_the_mvt_path():
    client = Client()
    tilesets = document(client.get("/ogc/collections/communes/tiles"))["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    template = [l for l in tilesets[0]["links"] if l["rel"] == "item"][0]["href"]
    assert template.endswith("/communes/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    tile = client.get(f"/ogc/collections/communes/tiles/WebMercatorQuad/{GUERANDE}")
    assert tile.status_code == 200
    assert tile["Content-Type"] == "application/vnd.mapbox-vector-tile"
    z, row, col = GUERANDE.split("/")
    same = client.get(f"/tiles/communes/{z}/{col}/{row}.mvt")
    assert tile.content == same.content
    decoded = mapbox_vector_tile.decode(tile.content)
    names = {f["properties"]["nom"] for f in decoded["communes"]["features"]}
    assert "Guérande" in names


@pytest.mark.parametrize("username", ["anonymous", "agent.labaule"])
def test_tiles_follow_the_access_policy(access_scenario, username):
    client = login(Client(), username)
    visible = SCENARIO_EXPECTED_ROWS[username]
    for name in SCENARIO_RULES:
        response = client.get(f"/ogc/collections/{name}/tiles/WebMercatorQuad/0/0/0")
        if name in visible:
            assert response.status_code == 200, name
            decoded = mapbox_vector_tile.decode(response.content)
            codes = {f["properties"]["code_insee"] for f in decoded[name]["features"]}
            assert codes == visible[name]
        else:
            assert response.status_code == 404 and document(response)["code"] == "NotFound"


@pytest.mark.parametrize("path, status", [
    ("WebMercatorQuad/23/0/0", 404), ("WebMercatorQuad/2/9/0", 400),
    ("WebMercatorQuad/a/0/0", 400), ("Autre/0/0/0", 404)])
def test_bad_tile_requests_answer_ogc_api_exceptions(path, status):
    response = Client().get(f"/ogc/collections/communes/tiles/{path}")
    assert response.status_code == status and document(response)["description"]
