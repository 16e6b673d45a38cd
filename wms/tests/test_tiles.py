"""Cached raster tiles through the embedded MapProxy: WMTS (REST, KVP), TMS, access, bad input."""
import io

import pytest
from django.db import connection
from owslib.wmts import WebMapTileService
from PIL import Image

from accounts.models import User
from layers.models import Audience, Permission
from layers.testing import GUERANDE, LA_BAULE, SCENARIO_RULES, build_access_scenario, make_vector_layer
from layers.styles import DEFAULT_POINT_FILL
from wms.tiles.grids import LAMBERT93_BBOX, LAMBERT93_RESOLUTIONS

from .conftest import fill_style, make_style

# Tiles are drawn by the WMS renderer, which reads committed rows (its own PostGIS connections):
# the layers are committed (wms_world) and the demo put back after the module.
POLYGON_FILL = "#2ca25f"  # the squares' default style
POINT_FILL = DEFAULT_POINT_FILL  # the scenario's layers have no style: the built-in one

HALF = 20037508.342789244
PUBLIC_RULE = [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}]


def hex_rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def close(pixel, colour, tolerance=40):
    return pixel[3] > 100 and all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], hex_rgb(colour)))


def town_hall(insee):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(h.location), ST_Y(h.location) FROM territory_townhall h "
                       "JOIN territory_commune c ON c.id = h.commune_id WHERE c.insee = %s", [insee])
        return cursor.fetchone()


def mercator(x, y):
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), "
                       "2154), 3857) p", [x, y])
        return cursor.fetchone()


def webmercator_tile(x, y, z):
    """(col, row, pixel i, pixel j) of the Lambert-93 point in the GoogleMapsCompatible grid."""
    mx, my = mercator(x, y)
    size = 2 * HALF / (1 << z)
    fx, fy = (mx + HALF) / size, (HALF - my) / size
    return int(fx), int(fy), int((fx % 1) * 256), int((fy % 1) * 256)


def lambert93_tile(x, y, level):
    span = 256 * LAMBERT93_RESOLUTIONS[level]
    fx, fy = (x - LAMBERT93_BBOX[0]) / span, (LAMBERT93_BBOX[3] - y) / span
    return int(fx), int(fy), int((fx % 1) * 256), int((fy % 1) * 256)


def on_white(image):
    """The image as seen over a white page (transparent pixels' colour does not matter)."""
    return Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)


def png(response):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGBA")
    assert image.size == (256, 256)
    return image


def square(x, y, half):
    return (f"POLYGON(({x-half} {y-half},{x+half} {y-half},{x+half} {y+half},"
            f"{x-half} {y+half},{x-half} {y-half}))")


@pytest.fixture
def tiles_dir(settings, tmp_path):
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    return tmp_path / "tiles"


@pytest.fixture
def squares(wms_world, tiles_dir):
    """A cacheable public layer: a 600 m square around each of the two town halls, in a green
    default style."""
    layer = make_vector_layer(
        "carres_tuiles", "POLYGON", [("code_insee", "varchar(5)")],
        [{"code_insee": insee, "geom": square(*town_hall(insee), 300)} for insee in (GUERANDE, LA_BAULE)],
        PUBLIC_RULE, cacheable=True, abstract="Deux carrés de test.",
    )
    make_style(layer, fill_style(POLYGON_FILL), name="vert")
    return layer


@pytest.fixture
def scenario(wms_world, tiles_dir):
    layers = build_access_scenario()
    for layer in layers.values():
        layer.cacheable = True
        layer.save()
    return layers


def rest_tile(client, layer, grid, z, col, row):
    return client.get(f"/mapproxy/wmts/{layer}/{grid}/{z}/{col}/{row}.png")


def login(client, username):
    client.force_login(User.objects.get(username=username))
    return client


# --- capabilities ----------------------------------------------------------------------------

def test_wmts_capabilities_parse_with_owslib(client, squares):
    response = client.get("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml")
    assert response.status_code == 200
    wmts = WebMapTileService("http://testserver/mapproxy/wmts/1.0.0/WMTSCapabilities.xml",
                             xml=response.content)
    assert "carres_tuiles" in wmts.contents
    layer = wmts.contents["carres_tuiles"]
    assert set(layer.tilematrixsetlinks) == {"GoogleMapsCompatible", "LAMB93"}
    assert wmts.tilematrixsets["LAMB93"].crs.endswith("2154")
    assert len(wmts.tilematrixsets["LAMB93"].tilematrix) == len(LAMBERT93_RESOLUTIONS)
    assert wmts.tilematrixsets["GoogleMapsCompatible"].crs.endswith("3857")
    west, south, east, north = layer.boundingBoxWGS84
    assert -2.6 < west < east < -2.2 and 47.2 < south < north < 47.4
    # A client reads the tile URL template from the capabilities.
    template = layer.resourceURLs[0]["template"]
    assert template.startswith("http://testserver/mapproxy/wmts/carres_tuiles/")


def test_tms_listing(client, squares):
    response = client.get("/mapproxy/tms/1.0.0/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/mapproxy/tms/1.0.0/carres_tuiles/GoogleMapsCompatible" in text
    assert "/mapproxy/tms/1.0.0/carres_tuiles/LAMB93" in text


def test_capabilities_list_only_what_the_user_may_view(client, scenario):
    def identifiers():
        xml = client.get("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml").content
        return set(WebMapTileService("http://testserver/x", xml=xml).contents)

    demo = {"communes", "zones_activite"}  # cacheable demo layers, public
    assert identifiers() == {"acces_public"} | demo
    login(client, "agent.labaule")
    assert identifiers() == {"acces_public", "acces_connectes", "acces_territoire",
                             "acces_insee", "reseau_fibre"} | demo
    tms = client.get("/mapproxy/tms/1.0.0/").content.decode()
    assert "acces_guerande" not in tms and "acces_admins" not in tms


# --- tiles -------------------------------------------------------------------------------------

def test_webmercator_tile_has_the_feature_colour_where_expected(client, squares):
    x, y = town_hall(GUERANDE)
    col, row, i, j = webmercator_tile(x, y, 15)
    image = png(rest_tile(client, "carres_tuiles", "GoogleMapsCompatible", 15, col, row))
    assert close(image.getpixel((i, j)), POLYGON_FILL)
    # 600 m is about 60 pixels at z15 (4.8 m/px in Mercator, 3.3 m on the ground): 130 pixels
    # away from the town hall is outside the square.
    far = (i + 130) % 256, (j + 130) % 256
    assert image.getpixel(far)[3] == 0


def test_wmts_kvp_and_tms_return_the_same_tile_as_rest(client, squares):
    x, y = town_hall(LA_BAULE)
    z = 14
    col, row, i, j = webmercator_tile(x, y, z)
    rest = png(rest_tile(client, "carres_tuiles", "GoogleMapsCompatible", z, col, row))
    kvp = png(client.get("/mapproxy/service", {
        "SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "carres_tuiles",
        "STYLE": "default", "TILEMATRIXSET": "GoogleMapsCompatible", "TILEMATRIX": str(z),
        "TILEROW": str(row), "TILECOL": str(col), "FORMAT": "image/png"}))
    # MapProxy's TMS follows the TMS "global-mercator" profile: its level 0 has 2×2 tiles (so
    # TMS level z-1 is XYZ level z) and rows count from the south.
    tms = png(client.get(f"/mapproxy/tms/1.0.0/carres_tuiles/GoogleMapsCompatible/{z - 1}/{col}/"
                         f"{(1 << z) - 1 - row}.png"))
    assert on_white(rest).tobytes() == on_white(kvp).tobytes() == on_white(tms).tobytes()
    assert close(rest.getpixel((i, j)), POLYGON_FILL)


def test_lambert93_tile_has_the_feature_colour_where_expected(client, squares):
    x, y = town_hall(GUERANDE)
    level = 12  # 2 m per pixel: the square is 300 pixels wide
    col, row, i, j = lambert93_tile(x, y, level)
    image = png(rest_tile(client, "carres_tuiles", "LAMB93", level, col, row))
    assert close(image.getpixel((i, j)), POLYGON_FILL)
    col, row, i, j = lambert93_tile(x + 1000, y + 1000, level)  # 1 km away: empty
    image = png(rest_tile(client, "carres_tuiles", "LAMB93", level, col, row))
    assert image.getpixel((i, j))[3] == 0


def test_tiles_are_cached_on_disk_and_cache_headers(client, squares, tiles_dir):
    x, y = town_hall(GUERANDE)
    col, row, _i, _j = webmercator_tile(x, y, 13)
    response = rest_tile(client, "carres_tuiles", "GoogleMapsCompatible", 13, col, row)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    cached = list((tiles_dir / "caches" / "carres_tuiles" / "carres_tuiles" / "GoogleMapsCompatible"
                   / "13").rglob("*.png"))
    assert cached
    login(client, "agent.guerande")
    response = rest_tile(client, "carres_tuiles", "GoogleMapsCompatible", 13, col, row)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"


def test_configuration_follows_the_catalogue(client, squares):
    url = "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml"
    assert b"carres_tuiles" in client.get(url).content
    squares.cacheable = False
    squares.save()
    assert b"carres_tuiles" not in client.get(url).content
    x, y = town_hall(GUERANDE)
    col, row, _i, _j = webmercator_tile(x, y, 13)
    assert rest_tile(client, "carres_tuiles", "GoogleMapsCompatible", 13, col, row).status_code != 200


# --- access ------------------------------------------------------------------------------------

def test_restricted_tiles_are_refused_to_anonymous_like_unknown_layers(client, scenario):
    x, y = town_hall(GUERANDE)
    col, row, _i, _j = webmercator_tile(x, y, 14)
    unknown = rest_tile(client, "couche_inconnue", "GoogleMapsCompatible", 14, col, row)
    assert unknown.status_code in (400, 404)
    for name in SCENARIO_RULES:
        if name == "acces_public":
            assert rest_tile(client, name, "GoogleMapsCompatible", 14, col, row).status_code == 200
            continue
        for response in (
            rest_tile(client, name, "GoogleMapsCompatible", 14, col, row),
            client.get(f"/mapproxy/tms/1.0.0/{name}/GoogleMapsCompatible/13/{col}/{(1 << 14) - 1 - row}.png"),
            client.get("/mapproxy/service", {
                "SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": name,
                "STYLE": "default", "TILEMATRIXSET": "GoogleMapsCompatible", "TILEMATRIX": "14",
                "TILEROW": str(row), "TILECOL": str(col), "FORMAT": "image/png"}),
        ):
            assert response.status_code in (400, 404), (name, response.status_code)
            assert not response["Content-Type"].startswith("image/")
        same = rest_tile(client, name, "GoogleMapsCompatible", 14, col, row)
        assert same.status_code == unknown.status_code
        assert same.content.replace(name.encode(), b"X") == unknown.content.replace(b"couche_inconnue", b"X")


@pytest.mark.parametrize("name", ["acces_territoire", "acces_insee"])
def test_an_agent_of_la_baule_never_gets_guerande_restricted_features(client, scenario, tiles_dir, name):
    hall_x, hall_y = town_hall(GUERANDE)
    col, row, i, j = webmercator_tile(hall_x, hall_y, 15)
    # Guérande's agent first: his commune's cache now holds the town hall…
    login(client, "agent.guerande")
    image = png(rest_tile(client, name, "GoogleMapsCompatible", 15, col, row))
    assert close(image.getpixel((i, j)), POINT_FILL)
    # …La Baule's agent asks for the same tile and gets an empty one, from another cache.
    client.logout()
    login(client, "agent.labaule")
    image = png(rest_tile(client, name, "GoogleMapsCompatible", 15, col, row))
    assert image.getextrema()[3] == (0, 0)
    # Her own town hall fills her commune's cache, apart from Guérande's; nothing is shared.
    own_col, own_row, own_i, own_j = webmercator_tile(*town_hall(LA_BAULE), 15)
    image = png(rest_tile(client, name, "GoogleMapsCompatible", 15, own_col, own_row))
    assert close(image.getpixel((own_i, own_j)), POINT_FILL)
    caches = sorted(p.name for p in (tiles_dir / "caches" / name).iterdir())
    assert len(caches) == 2
    assert caches[0].startswith(f"{name}__{LA_BAULE}_") and caches[1].startswith(f"{name}__{GUERANDE}_")
    # An intercommunality inspector sees both, from the shared cache (every row).
    client.logout()
    login(client, "controleur.spanc")
    image = png(rest_tile(client, name, "GoogleMapsCompatible", 15, col, row))
    assert close(image.getpixel((i, j)), POINT_FILL)
    assert (tiles_dir / "caches" / name / name).is_dir()


def test_la_baule_agent_sees_his_own_restricted_features(client, scenario):
    x, y = town_hall(LA_BAULE)
    col, row, i, j = webmercator_tile(x, y, 15)
    login(client, "agent.labaule")
    image = png(rest_tile(client, "acces_insee", "GoogleMapsCompatible", 15, col, row))
    assert close(image.getpixel((i, j)), POINT_FILL)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "wmts/carres_tuiles/GoogleMapsCompatible/25/0/0.png",      # no such TileMatrix
    "wmts/carres_tuiles/Inconnue/3/0/0.png",                   # no such TileMatrixSet
    "wmts/carres_tuiles/GoogleMapsCompatible/3/8/0.png",       # outside the matrix
    "wmts/carres_tuiles/GoogleMapsCompatible/3/0/-1.png",
    "wmts/carres_tuiles/GoogleMapsCompatible/3/0/0.gif",
    "wmts/carres_tuiles/GoogleMapsCompatible/abc/0/0.png",
    "tms/1.0.0/carres_tuiles/GoogleMapsCompatible/30/0/0.png",
    "tms/1.0.0/carres_tuiles/LAMB93/3/99/99.png",
    "service?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=carres_tuiles",  # missing params
    "service?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=carres_tuiles&STYLE=default"
    "&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX=99&TILEROW=0&TILECOL=0&FORMAT=image/png",
    "service?SERVICE=WMTS&REQUEST=Inconnue",
    "nimportequoi",
])
def test_bad_requests_are_client_errors_never_500(client, squares, path):
    response = client.get("/mapproxy/" + path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.content[:300])
    assert not response["Content-Type"].startswith("image/")


def test_post_is_refused(client, squares):
    assert client.post("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml").status_code == 405
