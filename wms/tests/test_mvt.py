"""Vector tiles: content, attributes, simplification, access scenario, headers, bad input."""
import math

import mapbox_vector_tile
import pytest
from django.db import connection

from accounts.models import User
from layers.models import Audience, Permission
from layers.testing import (GUERANDE, LA_BAULE, SCENARIO_EXPECTED_ROWS, SCENARIO_RULES,
                            build_access_scenario, make_vector_layer)
from wms.tiles.mvt import BUFFER, EXTENT

PUBLIC_RULE = [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}]


def lonlat(x, y):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), "
                       "2154), 4326) p", [x, y])
        return cursor.fetchone()


def tile_of(x, y, z):
    """XYZ tile holding the Lambert-93 point (x, y) at zoom z."""
    lon, lat = lonlat(x, y)
    n = 1 << z
    column = int((lon + 180.0) / 360.0 * n)
    row = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, column, row


def town_hall(insee):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(h.location), ST_Y(h.location) FROM territory_townhall h "
                       "JOIN territory_commune c ON c.id = h.commune_id WHERE c.insee = %s", [insee])
        return cursor.fetchone()


def common_tile(points):
    """The deepest tile holding every point."""
    for z in range(16, -1, -1):
        tiles = {tile_of(x, y, z) for x, y in points}
        if len(tiles) == 1:
            return tiles.pop()
    raise AssertionError("no common tile")


def fetch(client, name, z, x, y, **headers):
    return client.get(f"/tiles/{name}/{z}/{x}/{y}.mvt", headers=headers)


def decode(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content)


def rings_vertex_count(geometry):
    coordinates = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        return sum(len(ring) for ring in coordinates)
    return sum(len(ring) for polygon in coordinates for ring in polygon)


@pytest.fixture
def zones(db):
    """Two polygons: a 2,000-vertex disc of 800 m around Guérande's town hall, a square at La Baule."""
    gx, gy = town_hall(GUERANDE)
    bx, by = town_hall(LA_BAULE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_AsText(ST_Buffer(ST_MakePoint(%s, %s), 800, 500))", [gx, gy])
        disc = cursor.fetchone()[0]
    square = f"POLYGON(({bx-100} {by-100},{bx+100} {by-100},{bx+100} {by+100},{bx-100} {by+100},{bx-100} {by-100}))"
    return make_vector_layer(
        "zones_mvt", "POLYGON",
        [("code_insee", "varchar(5)"), ("nom", "text"), ("surface", "double precision"),
         ("ouverte", "boolean"), ("creation", "date")],
        [{"code_insee": GUERANDE, "nom": "Disque", "surface": 2.0, "ouverte": True,
          "creation": "2020-05-01", "geom": disc},
         {"code_insee": LA_BAULE, "nom": "Carré", "surface": 0.04, "ouverte": False,
          "creation": None, "geom": square}],
        PUBLIC_RULE,
    )


def test_features_carry_every_attribute_by_default(client, zones):
    z, x, y = common_tile([town_hall(GUERANDE), town_hall(LA_BAULE)])
    tile = decode(fetch(client, "zones_mvt", z, x, y))
    layer = tile["zones_mvt"]
    assert layer["extent"] == EXTENT
    by_name = {f["properties"]["nom"]: f for f in layer["features"]}
    assert set(by_name) == {"Disque", "Carré"}
    disc = by_name["Disque"]["properties"]
    assert disc == {"code_insee": GUERANDE, "nom": "Disque", "surface": 2.0, "ouverte": True,
                    "creation": "2020-05-01"}
    assert "creation" not in by_name["Carré"]["properties"]  # NULL values are left out
    assert all(isinstance(f["id"], int) for f in layer["features"])  # fid as the feature id


def test_only_the_chosen_attributes(client, zones):
    zones.mvt_attributes = ["nom", "surface"]
    zones.save()
    z, x, y = tile_of(*town_hall(GUERANDE), 14)
    features = decode(fetch(client, "zones_mvt", z, x, y))["zones_mvt"]["features"]
    assert [set(f["properties"]) for f in features] == [{"nom", "surface"}]


def test_geometry_stays_within_the_tile_and_its_buffer(client, zones):
    z, x, y = tile_of(*town_hall(GUERANDE), 16)  # the 800 m disc overflows this tile
    features = decode(fetch(client, "zones_mvt", z, x, y))["zones_mvt"]["features"]
    assert len(features) == 1
    points = [pt for ring in features[0]["geometry"]["coordinates"] for pt in ring]
    assert all(-BUFFER <= px <= EXTENT + BUFFER and -BUFFER <= py <= EXTENT + BUFFER
               for px, py in points)
    # It was clipped: some vertices sit on the buffer's edge.
    assert any(abs(px) == BUFFER or px == EXTENT + BUFFER for px, _ in points)


def test_low_zoom_tiles_are_simplified(client, zones):
    gx, gy = town_hall(GUERANDE)
    counts = {}
    for z in (9, 14):
        features = decode(fetch(client, "zones_mvt", *tile_of(gx, gy, z)))["zones_mvt"]["features"]
        disc = next(f for f in features if f["properties"]["nom"] == "Disque")
        counts[z] = rings_vertex_count(disc["geometry"])
    # The source ring has 2,001 vertices; each zoom keeps what its resolution can show.
    assert counts[9] < counts[14] / 2 < 2001 / 8, counts
    assert counts[9] >= 4  # still a polygon, not collapsed


def test_empty_tile_is_204(client, zones):
    response = fetch(client, "zones_mvt", 14, 0, 0)
    assert response.status_code == 204
    assert response.content == b""


def test_public_layer_is_publicly_cacheable_with_etag(client, zones):
    z, x, y = tile_of(*town_hall(GUERANDE), 14)
    response = fetch(client, "zones_mvt", z, x, y)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    etag = response["ETag"]
    again = fetch(client, "zones_mvt", z, x, y, if_none_match=etag)
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("path, status", [
    ("zones_mvt/25/0/0", 400),
    ("zones_mvt/3/8/0", 400),
    ("zones_mvt/3/0/8", 400),
    ("zones_mvt/-1/0/0", 400),
    ("zones_mvt/3/-2/0", 400),
    ("zones_mvt/999999999999/0/0", 400),
    ("couche_inconnue/3/0/0", 404),
    ("Pas%20une%20couche/3/0/0", 404),
])
def test_bad_tile_requests(client, zones, path, status):
    response = client.get(f"/tiles/{path}.mvt")
    assert response.status_code == status
    assert "Couche inconnue" in response.content.decode() or "hors de la grille" in response.content.decode()


def test_post_is_refused(client, zones):
    assert client.post("/tiles/zones_mvt/3/0/0.mvt").status_code == 405


# --- the shared access scenario ----------------------------------------------------------------

@pytest.fixture
def scenario(db):
    return build_access_scenario()


def login(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


@pytest.mark.parametrize("username", sorted(SCENARIO_EXPECTED_ROWS))
def test_access_scenario(client, scenario, username):
    login(client, username)
    z, x, y = common_tile([town_hall(GUERANDE), town_hall(LA_BAULE)])
    expected = SCENARIO_EXPECTED_ROWS[username]
    for name in SCENARIO_RULES:
        response = fetch(client, name, z, x, y)
        if name not in expected:
            assert response.status_code == 404, (username, name)
            assert name not in response.content.decode() or "Couche inconnue" in response.content.decode()
            continue
        features = decode(response)[name]["features"]
        assert {f["properties"]["code_insee"] for f in features} == expected[name], (username, name)


def test_agent_of_la_baule_never_gets_guerande_restricted_features(client, scenario):
    login(client, "agent.labaule")
    gx, gy = town_hall(GUERANDE)
    for z in (8, 12, 16):
        for name in ("acces_territoire", "acces_insee"):
            response = fetch(client, name, *tile_of(gx, gy, z))
            if response.status_code == 204:
                continue
            codes = {f["properties"]["code_insee"] for f in decode(response)[name]["features"]}
            assert GUERANDE not in codes, (name, z)
            assert response["Cache-Control"] == "private, no-cache"


def test_restricted_rows_are_private_and_public_rows_public_for_a_member(client, scenario):
    login(client, "agent.guerande")
    z, x, y = common_tile([town_hall(GUERANDE), town_hall(LA_BAULE)])
    assert fetch(client, "acces_insee", z, x, y)["Cache-Control"] == "private, no-cache"
    assert fetch(client, "acces_connectes", z, x, y)["Cache-Control"] == "private, no-cache"
    assert fetch(client, "acces_public", z, x, y)["Cache-Control"] == "public, max-age=300"


def test_restricted_layers_are_refused_to_anonymous_even_for_empty_tiles(client, scenario):
    for name in SCENARIO_RULES:
        if name == "acces_public":
            continue
        assert fetch(client, name, 14, 0, 0).status_code == 404
        assert fetch(client, name, 30, 0, 0).status_code == 404  # not even a 400 leaks it
