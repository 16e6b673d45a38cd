"""OGC API – Tiles on the collections: the WebMercatorQuad and LAMB93 (Lambert-93) tile matrix
sets, tile set metadata, and tiles equal to the platform's MVT path (/tiles/…), under the same
rights."""
import mapbox_vector_tile
import pytest
from django.test import Client

from layers.testing import SCENARIO_EXPECTED_ROWS, SCENARIO_RULES

from .support import document, login

pytestmark = pytest.mark.django_db
GUERANDE = "12/1434/2020"  # z/row/col of the tile over Guérande's town centre


def test_the_tile_matrix_sets_are_webmercatorquad_and_lamb93():
    listed = document(Client().get("/ogc/tileMatrixSets"))["tileMatrixSets"]
    assert [t["id"] for t in listed] == ["WebMercatorQuad", "LAMB93"]
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


@pytest.mark.parametrize("matrix_set, username", [
    ("WebMercatorQuad", "anonymous"), ("WebMercatorQuad", "agent.labaule"),
    ("LAMB93", "anonymous"), ("LAMB93", "agent.labaule"), ("LAMB93", "agent.guerande")])
def test_tiles_follow_the_access_policy(access_scenario, matrix_set, username):
    client = login(Client(), username)
    visible = SCENARIO_EXPECTED_ROWS[username]
    for name in SCENARIO_RULES:
        response = client.get(f"/ogc/collections/{name}/tiles/{matrix_set}/0/0/0")
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


# --- LAMB93 ---------------------------------------------------------------------------------------
LAMB93_LEFT, LAMB93_TOP = -357823.2365, 7230727.3772


def lamb93_tile(x, y, level):
    """(row, col) of the LAMB93 tile holding the Lambert-93 point x, y."""
    span = 8192.0 / 2 ** level * 256
    return int((LAMB93_TOP - y) // span), int((x - LAMB93_LEFT) // span)


def test_the_lamb93_tile_matrix_set():
    """OGC 17-083r4 (TMS 2.0, JSON): Lambert-93 axes E, N, origin top-left at the corner of
    EPSG:2154's area of use, 8,192 m cells at level 0 halved down to 0.125 m at level 16 — the
    platform's WMTS grid (wms.tiles.grids)."""
    from wms.tiles import grids

    tms = document(Client().get("/ogc/tileMatrixSets/LAMB93"))
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/2154"
    assert tms["orderedAxes"] == ["E", "N"]
    matrices = tms["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(level) for level in range(17)]
    assert [m["cellSize"] for m in matrices] == grids.LAMBERT93_RESOLUTIONS
    zero, sixteen = matrices[0], matrices[16]
    assert zero["pointOfOrigin"] == [LAMB93_LEFT, LAMB93_TOP]
    assert zero["cornerOfOrigin"] == "topLeft"
    assert zero["scaleDenominator"] == pytest.approx(8192 / 0.00028)
    assert (zero["matrixWidth"], zero["matrixHeight"]) == (1, 1)
    assert (sixteen["matrixWidth"], sixteen["matrixHeight"]) == (52233, 37304)
    box = tms["boundingBox"]
    assert box["lowerLeft"][0] == LAMB93_LEFT and box["upperRight"][1] == LAMB93_TOP
    for matrix in matrices:  # the matrix covers the bounding box
        span = matrix["cellSize"] * matrix["tileWidth"]
        assert LAMB93_LEFT + matrix["matrixWidth"] * span >= box["upperRight"][0]
        assert LAMB93_TOP - matrix["matrixHeight"] * span <= box["lowerLeft"][1]


def test_lamb93_tiles_hold_the_rows_in_lambert93_tile_units():
    """A LAMB93 tile over Guérande: the communes it crosses, geometries in the tile's own
    coordinates (4096 units, y down from its top-left corner), unprojected from Lambert-93."""
    from territory.models import Commune

    client = Client()
    tileset = document(client.get("/ogc/collections/communes/tiles/LAMB93"))
    assert tileset["crs"] == "http://www.opengis.net/def/crs/EPSG/0/2154"
    guerande = Commune.objects.get(insee="44069")
    centre = guerande.geom.point_on_surface
    level = 10
    row, col = lamb93_tile(centre.x, centre.y, level)
    response = client.get(f"/ogc/collections/communes/tiles/LAMB93/{level}/{row}/{col}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    features = decoded["communes"]["features"]
    assert "Guérande" in {f["properties"]["nom"] for f in features}
    span = 8192.0 / 2 ** level * 256
    i = (centre.x - (LAMB93_LEFT + col * span)) / span * 4096
    j = ((LAMB93_TOP - row * span) - centre.y) / span * 4096
    from shapely.geometry import Point, shape

    outline = shape(next(f for f in features if f["properties"]["nom"] == "Guérande")["geometry"])
    assert outline.buffer(2).contains(Point(i, j))
    assert response["ETag"]
    again = client.get(f"/ogc/collections/communes/tiles/LAMB93/{level}/{row}/{col}",
                       HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    empty = client.get("/ogc/collections/communes/tiles/LAMB93/10/0/0")  # the Channel's corner
    assert empty.status_code == 204


@pytest.mark.parametrize("path, status", [
    ("LAMB93/17/0/0", 404), ("LAMB93/0/1/0", 400), ("LAMB93/0/0/1", 400),
    ("LAMB93/16/37304/0", 400), ("LAMB93/16/0/52233", 400), ("LAMB93/x/0/0", 400),
    ("LAMB93/0/" + "9" * 30 + "/0", 400)])
def test_bad_lamb93_tile_requests_answer_ogc_api_exceptions(path, status):
    response = Client().get(f"/ogc/collections/communes/tiles/{path}")
    assert response.status_code == status and document(response)["description"]
