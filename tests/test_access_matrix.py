"""One access matrix, every protocol: the shared scenario (layers.testing) read by each user
through the feature source itself, the REST API (page and CSV export), WFS GetFeature, WMS
GetFeatureInfo, vector tiles and OGC API (items, LAMB93 tiles, maps) must give exactly the same
rows — those of SCENARIO_EXPECTED_ROWS for viewing, of SCENARIO_EXPECTED_DOWNLOAD for downloading — and
refuse the same layers. The protocol tests (layers/tests/test_api_access.py,
wms/tests/test_wfs_access.py, test_wms_access.py, test_mvt.py) check each protocol's details;
this one checks that they agree, since they all read through the one feature source.
"""
import csv
import io
import json
import math

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test import Client

from accounts.models import User
from territory.models import TownHall
from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.models import Permission
from layers.testing import (GUERANDE, LA_BAULE, SCENARIO_EXPECTED_DOWNLOAD,
                            SCENARIO_EXPECTED_ROWS, SCENARIO_RULES, build_access_scenario,
                            red_disc_style)

from .maps_drawn import halls_on_ogcapi_map

pytestmark = pytest.mark.django_db
USERS = sorted(SCENARIO_EXPECTED_ROWS)
SIZE = 101  # GetFeatureInfo: a 101 px map centred on each town hall, 1 m per pixel


@pytest.fixture
def scenario(db):
    return build_access_scenario()


def client_for(username):
    client = Client()
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def halls():
    return {h.commune.insee: (h.location.x, h.location.y)
            for h in TownHall.objects.select_related("commune")
            .filter(commune__insee__in=[GUERANDE, LA_BAULE])}


def common_tile(points):
    """The deepest XYZ tile holding every Lambert-93 point."""
    with connection.cursor() as cursor:
        lonlats = []
        for x, y in points:
            cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID("
                           "ST_MakePoint(%s, %s), 2154), 4326) p", [x, y])
            lonlats.append(cursor.fetchone())
    for z in range(16, 0, -1):
        n = 1 << z
        tiles = {(int((lon + 180) / 360 * n),
                  int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
                 for lon, lat in lonlats}
        if len(tiles) == 1:
            return (z, *tiles.pop())
    return 0, 0, 0


# --- each protocol: the set of INSEE codes it answers, or None when it refuses the layer --------
def through_source(username, name, permission):
    user = User.objects.get(username=username) if username != "anonymous" else None
    try:
        source = AccessPolicy.for_user(user).source(name, permission)
    except (LayerNotFound, AccessDenied):
        return None
    return {f["properties"]["code_insee"] for f in source.features(source.query())}


def through_rest_page(client, name):
    response = client.get(f"/api/layers/{name}/features")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, body(response)[:300]
    return {f["properties"]["code_insee"] for f in json.loads(body(response))["features"]}


def through_rest_export(client, name):
    response = client.get(f"/api/layers/{name}/features", {"f": "csv"})
    if response.status_code in (403, 404):
        assert b"Mairie" not in body(response)
        return None
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    return {row["code_insee"] for row in rows}


def through_wfs(client, name):
    response = client.get("/ows", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                   "TYPENAMES": name, "OUTPUTFORMAT": "geojson"})
    if response.status_code == 400:
        assert b'locator="typeNames"' in body(response) and b"Mairie" not in body(response)
        return None
    assert response.status_code == 200
    return {f["properties"]["code_insee"] for f in json.loads(body(response))["features"]}


def through_feature_info(client, name):
    found = set()
    for x, y in halls().values():
        half = SIZE // 2 + 0.5
        response = client.get("/ows", {
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo", "LAYERS": name,
            "QUERY_LAYERS": name, "STYLES": "", "CRS": "EPSG:2154",
            "BBOX": f"{x - half},{y - half},{x + half},{y + half}", "WIDTH": SIZE,
            "HEIGHT": SIZE, "I": SIZE // 2, "J": SIZE // 2, "FORMAT": "image/png",
            "INFO_FORMAT": "application/json", "FEATURE_COUNT": 10})
        if response.status_code == 400:
            assert b"LayerNotDefined" in response.content and b"Mairie" not in response.content
            return None
        assert response.status_code == 200
        found |= {f["properties"]["code_insee"] for f in json.loads(response.content)["features"]}
    return found


def through_tiles(client, name):
    z, x, y = common_tile(halls().values())
    return tile_codes(client.get(f"/tiles/{name}/{z}/{x}/{y}.mvt"), name)


def tile_codes(response, name):
    """The INSEE codes of a vector tile's features of layer `name` (None: layer unknown)."""
    if response.status_code == 404:
        return None
    if response.status_code == 204:
        return set()
    assert response.status_code == 200
    layers = mapbox_vector_tile.decode(response.content)
    return {f["properties"]["code_insee"] for f in layers[name]["features"]}


def through_ogcapi_items(client, name):
    response = client.get(f"/ogc/collections/{name}/items", {"limit": 100})
    if response.status_code == 404:
        assert b"Mairie" not in body(response)
        return None
    assert response.status_code == 200
    return {f["properties"]["code_insee"] for f in json.loads(body(response))["features"]}


def through_ogcapi_lamb93_tile(client, name):
    """OGC API – Tiles in LAMB93: the deepest Lambert-93 tile holding both town halls."""
    from wms.tiles import grids

    left, top = grids.LAMBERT93_BBOX[0], grids.LAMBERT93_BBOX[3]
    level, row, col = 0, 0, 0
    for candidate in range(len(grids.LAMBERT93_RESOLUTIONS) - 1, -1, -1):
        span = grids.LAMBERT93_RESOLUTIONS[candidate] * grids.LAMBERT93_TILE_SIZE
        tiles = {(int((top - y) // span), int((x - left) // span)) for x, y in halls().values()}
        if len(tiles) == 1:
            level, (row, col) = candidate, tiles.pop()
            break
    return tile_codes(client.get(f"/ogc/collections/{name}/tiles/LAMB93/{level}/{row}/{col}"),
                      name)


def through_ogcapi_map(client, name):
    """OGC API – Maps: the town halls drawn (a red disc at their pixel) on the layer's map."""
    return halls_on_ogcapi_map(client, name, halls())


@pytest.fixture
def committed_scenario(transactional_db):
    """The scenario committed (maps are drawn by Mapnik on its own connections), each layer
    drawn as big red discs."""
    from maps import renderer

    renderer.clear_cache()
    layers = build_access_scenario()
    for layer in layers.values():
        red_disc_style(layer)
    return layers


def test_ogc_api_maps_give_the_rows_of_the_one_matrix(committed_scenario):
    for username in USERS:
        client = client_for(username)
        for name in SCENARIO_RULES:
            visible = SCENARIO_EXPECTED_ROWS[username].get(name)
            assert through_ogcapi_map(client, name) == visible, (username, name, "OGC API map")


@pytest.mark.parametrize("username", USERS)
def test_every_protocol_gives_the_rows_of_the_one_matrix(scenario, username):
    client = client_for(username)
    for name in SCENARIO_RULES:
        visible = SCENARIO_EXPECTED_ROWS[username].get(name)           # None: not viewable
        downloadable = visible if name in SCENARIO_EXPECTED_DOWNLOAD[username] else None
        answers = {
            "source (view)": through_source(username, name, Permission.VIEW),
            "REST page": through_rest_page(client, name),
            "WMS GetFeatureInfo": through_feature_info(client, name),
            "MVT": through_tiles(client, name),
            "OGC API Features": through_ogcapi_items(client, name),
            "OGC API Tiles (LAMB93)": through_ogcapi_lamb93_tile(client, name),
        }
        for protocol, answer in answers.items():
            assert answer == visible, (username, name, protocol)
        answers = {
            "source (download)": through_source(username, name, Permission.DOWNLOAD),
            "REST export": through_rest_export(client, name),
            "WFS GetFeature": through_wfs(client, name),
        }
        for protocol, answer in answers.items():
            assert answer == downloadable, (username, name, protocol)
