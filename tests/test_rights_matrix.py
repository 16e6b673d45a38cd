"""One rule table, every protocol: rows, columns and operations as fine as the data charter asks.

RIGHTS_RULES (below) puts every kind of rule on four layers holding the town halls of Guérande
and La Baule — columns hidden per audience, a DENY beaten by a higher priority, validity dates,
attribute conditions, groups and named users. EXPECTED says what each user gets: the rows and
columns he views, the rows and columns he downloads. Every protocol must answer exactly that —
the feature source itself, the REST page, layer sheet and CSV export, WMS GetFeatureInfo, vector
tiles, OGC API Features (items and queryables), WFS capabilities, DescribeFeatureType, GetFeature and GetPropertyValue, the tile caches
(WMTS: one cache per distinct effective rights), the open-data portal — with nothing beyond. The
writes (WFS-T and the source) and clip vs intersect have their own tests below, and the journal
of personal-data reads records what the matrix read.
"""
import csv
import datetime
import io
import json
import math
import re
import xml.etree.ElementTree as ET

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from territory.models import Commune, TownHall
from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.features import OperationDenied, OutsideWriteFilter, ReadOnlyColumn
from layers.models import (AccessRule, AreaMode, Audience, Effect, Operation, Permission,
                           PersonalDataRead, RowRestriction, RuleAudience)
from layers.testing import GUERANDE, LA_BAULE, make_vector_layer, red_disc_style

from .maps_drawn import halls_on_ogcapi_map

pytestmark = pytest.mark.django_db

BOTH = {GUERANDE, LA_BAULE}
ALL = {"code_insee", "nom", "proprietaire", "telephone"}
PUBLIC_COLUMNS = {"code_insee", "nom"}
ATTRIBUTES = [("code_insee", "varchar(5)"), ("nom", "text"), ("proprietaire", "text"),
              ("telephone", "varchar(20)")]
SPANC = ["spanc_manager", "spanc_inspector"]
TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)

# Layer -> its rules (AccessRule fields; "communes", "users", "groups" by name).
RIGHTS_RULES = {
    "droits_colonnes": [
        {"audience": Audience.ROLES, "roles": SPANC, "permission": Permission.DOWNLOAD},
        {"audience": Audience.ROLES, "roles": ["municipal_agent"],
         "operations": ["view", "download"], "row_restriction": RowRestriction.COMMUNE_INSEE,
         "columns": {"code_insee": "read", "nom": "read"}},
        {"audience": Audience.PUBLIC, "operations": ["view"],
         "columns": {"code_insee": "read", "nom": "read", "proprietaire": "hidden"}},
    ],
    "droits_refus": [
        {"audience": Audience.AUTHENTICATED, "permission": Permission.DOWNLOAD},
        {"audience": Audience.ROLES, "roles": ["municipal_agent"], "effect": Effect.DENY,
         "operations": ["view"], "priority": 5},
        {"audience": RuleAudience.USERS, "users": ["agent.labaule"], "operations": ["view"],
         "priority": 10},
    ],
    "droits_dates": [
        {"audience": Audience.AUTHENTICATED, "operations": ["view"], "valid_until": TODAY - DAY},
        {"audience": Audience.ROLES, "roles": ["spanc_manager"], "permission": Permission.DOWNLOAD,
         "valid_from": TODAY - DAY, "valid_until": TODAY + 30 * DAY},
        {"audience": Audience.PUBLIC, "operations": ["view"], "valid_from": TODAY + DAY},
    ],
    "droits_condition": [
        {"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD,
         "read_condition": {"column": "code_insee", "op": "=", "value": GUERANDE}},
        {"audience": RuleAudience.GROUPS, "groups": ["Prestataires"], "permission": Permission.DOWNLOAD,
         "read_condition": {"column": "code_insee", "op": "in", "value": [LA_BAULE]}},
    ],
}


def grants(view_rows, view_columns=ALL, download_rows=None, download_columns=None):
    """(rows viewed, columns viewed, rows downloaded or None, columns downloaded)."""
    return (view_rows, view_columns, download_rows,
            download_columns if download_columns is not None else view_columns)


EVERYTHING = {name: grants(BOTH, ALL, BOTH) for name in RIGHTS_RULES}
EXPECTED = {
    "anonymous": {
        "droits_colonnes": grants(BOTH, PUBLIC_COLUMNS),
        "droits_condition": grants({GUERANDE}, ALL, {GUERANDE}),
    },
    "agent.guerande": {
        "droits_colonnes": grants(BOTH, PUBLIC_COLUMNS, {GUERANDE}),
        "droits_condition": grants({GUERANDE}, ALL, {GUERANDE}),
    },
    "agent.labaule": {
        "droits_colonnes": grants(BOTH, PUBLIC_COLUMNS, {LA_BAULE}),
        "droits_refus": grants(BOTH),
        "droits_condition": grants({GUERANDE}, ALL, {GUERANDE}),
    },
    "responsable.spanc": {
        "droits_colonnes": grants(BOTH, ALL, BOTH),
        "droits_refus": grants(BOTH, ALL, BOTH),
        "droits_dates": grants(BOTH, ALL, BOTH),
        "droits_condition": grants({GUERANDE}, ALL, {GUERANDE}),
    },
    "lecteur": {
        "droits_colonnes": grants(BOTH, PUBLIC_COLUMNS),
        "droits_refus": grants(BOTH, ALL, BOTH),
        "droits_condition": grants({GUERANDE}, ALL, {GUERANDE}),
    },
    "prestataire.fibre": {
        "droits_colonnes": grants(BOTH, PUBLIC_COLUMNS),
        "droits_refus": grants(BOTH, ALL, BOTH),
        "droits_condition": grants(BOTH, ALL, BOTH),
    },
    "admin.sig": EVERYTHING,
}
USERS = sorted(EXPECTED)


def halls():
    return {h.commune.insee: h for h in TownHall.objects.select_related("commune")
            .filter(commune__insee__in=[GUERANDE, LA_BAULE])}


def make_rules(layer, rules):
    for fields in rules:
        fields = dict(fields)
        communes = fields.pop("communes", [])
        users = fields.pop("users", [])
        groups = fields.pop("groups", [])
        rule = AccessRule.objects.create(layer=layer, **fields)
        rule.full_clean()
        if communes:
            rule.communes.set(Commune.objects.filter(insee__in=communes))
        if users:
            rule.users.set(User.objects.filter(username__in=users))
        if groups:
            rule.groups.set(Group.objects.filter(name__in=groups))


def hall_rows():
    return [{"code_insee": insee, "nom": f"Mairie de {hall.commune.name}",
             "proprietaire": f"Propriétaire {insee}", "telephone": f"02 40 00 {insee[-2:]} 00",
             "geom": hall.location.wkt} for insee, hall in sorted(halls().items())]


@pytest.fixture
def rights():
    return make_rights()


@pytest.fixture
def committed_rights(transactional_db):
    """The rule table committed (maps are drawn by Mapnik on its own connections), each layer
    drawn as big red discs."""
    from maps import renderer

    renderer.clear_cache()
    layers = make_rights()
    for layer in layers.values():
        red_disc_style(layer)
    return layers


def make_rights():
    Group.objects.get_or_create(name="Prestataires")
    layers = {}
    for name, rules in RIGHTS_RULES.items():
        layer = make_vector_layer(name, "POINT", ATTRIBUTES, hall_rows(), insee_field="code_insee",
                                  personal_columns=["proprietaire", "telephone"], cacheable=True)
        make_rules(layer, rules)
        layers[name] = layer
    return layers


def user(username):
    return AnonymousUser() if username == "anonymous" else User.objects.get(username=username)


def client_for(username):
    client = Client()
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def answer(features):
    """(rows by INSEE code, property names) of GeoJSON-like features."""
    features = list(features)
    return ({f["properties"]["code_insee"] for f in features},
            set().union(*(f["properties"].keys() for f in features)) if features else None)


# --- each protocol: (rows, columns), or None when it refuses the layer -----------------------
def through_source(username, name, permission):
    try:
        source = AccessPolicy.for_user(user(username)).source(name, permission)
    except (LayerNotFound, AccessDenied):
        return None
    return answer(source.features(source.query()))


def through_rest_page(client, name):
    response = client.get(f"/api/layers/{name}/features")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, body(response)[:300]
    return answer(json.loads(body(response))["features"])


def through_rest_sheet(client, name):
    response = client.get(f"/api/layers/{name}/")
    if response.status_code == 404:
        return None
    return {a["name"] for a in response.json()["attributes"]}


def through_rest_export(client, name):
    response = client.get(f"/api/layers/{name}/features", {"f": "csv"})
    if response.status_code in (403, 404):
        assert b"Mairie" not in body(response)
        return None
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    return {row["code_insee"] for row in rows}, set(rows[0]) - {"x", "y", "wkt", "fid"}


def through_feature_info(client, name):
    features, size = [], 101
    for hall in halls().values():
        x, y, half = hall.location.x, hall.location.y, size // 2 + 0.5
        response = client.get("/ows", {
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo", "LAYERS": name,
            "QUERY_LAYERS": name, "STYLES": "", "CRS": "EPSG:2154",
            "BBOX": f"{x - half},{y - half},{x + half},{y + half}", "WIDTH": size,
            "HEIGHT": size, "I": size // 2, "J": size // 2, "FORMAT": "image/png",
            "INFO_FORMAT": "application/json", "FEATURE_COUNT": 10})
        if response.status_code == 400:
            assert b"LayerNotDefined" in response.content and b"Mairie" not in response.content
            return None
        assert response.status_code == 200
        features += json.loads(response.content)["features"]
    return answer(features)


def common_tile():
    with connection.cursor() as cursor:
        lonlats = []
        for hall in halls().values():
            cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(%s::geometry, 4326) p",
                           [hall.location.ewkt])
            lonlats.append(cursor.fetchone())
    for z in range(16, 0, -1):
        n = 1 << z
        tiles = {(int((lon + 180) / 360 * n),
                  int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
                 for lon, lat in lonlats}
        if len(tiles) == 1:
            return (z, *tiles.pop())
    return 0, 0, 0


def through_tiles(client, name):
    z, x, y = common_tile()
    response = client.get(f"/tiles/{name}/{z}/{x}/{y}.mvt")
    if response.status_code == 404:
        return None
    if response.status_code == 204:
        return set(), None
    assert response.status_code == 200
    return answer(mapbox_vector_tile.decode(response.content)[name]["features"])


def common_lamb93_tile():
    """(level, row, col) of the deepest LAMB93 tile (OGC API – Tiles) holding both halls."""
    from wms.tiles import grids

    left, top = grids.LAMBERT93_BBOX[0], grids.LAMBERT93_BBOX[3]
    points = [(hall.location.x, hall.location.y) for hall in halls().values()]
    for level in range(len(grids.LAMBERT93_RESOLUTIONS) - 1, -1, -1):
        span = grids.LAMBERT93_RESOLUTIONS[level] * grids.LAMBERT93_TILE_SIZE
        tiles = {(int((top - y) // span), int((x - left) // span)) for x, y in points}
        if len(tiles) == 1:
            return (level, *tiles.pop())
    return 0, 0, 0


def through_ogcapi_tiles(client, name):
    level, row, col = common_lamb93_tile()
    response = client.get(f"/ogc/collections/{name}/tiles/LAMB93/{level}/{row}/{col}")
    if response.status_code == 404:
        assert b"Mairie" not in body(response)
        return None
    if response.status_code == 204:
        return set(), None
    assert response.status_code == 200
    return answer(mapbox_vector_tile.decode(response.content)[name]["features"])


def through_ogcapi_map(client, name):
    """The halls drawn (a red disc at their pixel) on the OGC API – Maps map of the layer."""
    places = {insee: (hall.location.x, hall.location.y) for insee, hall in halls().items()}
    return halls_on_ogcapi_map(client, name, places)


def through_ogcapi(client, name):
    response = client.get(f"/ogc/collections/{name}/items", {"f": "json", "limit": 100})
    if response.status_code == 404:
        assert b"Mairie" not in body(response)
        return None
    assert response.status_code == 200, body(response)[:300]
    rows, columns = answer(json.loads(body(response))["features"])
    queryables = client.get(f"/ogc/collections/{name}/queryables", {"f": "json"})
    assert queryables.status_code == 200
    assert set(queryables.json()["properties"]) & ALL == columns
    return rows, columns


WFS = "/ows?SERVICE=WFS&VERSION=2.0.0&"


def through_wfs(client, name):
    response = client.get(WFS + f"REQUEST=GetFeature&TYPENAMES={name}&OUTPUTFORMAT=geojson")
    if response.status_code == 400:
        assert b'locator="typeNames"' in body(response) and b"Mairie" not in body(response)
        return None
    assert response.status_code == 200
    return answer(json.loads(body(response))["features"])


def through_describe(client, name):
    response = client.get(WFS + f"REQUEST=DescribeFeatureType&TYPENAMES={name}")
    if response.status_code == 400:
        return None
    assert response.status_code == 200, response.content[:300]
    names = {e.get("name") for e in ET.fromstring(response.content).iter()
             if e.tag.endswith("}element")}
    return names & ALL


def through_property_values(client, name):
    """The columns GetPropertyValue answers (a hidden one is refused like an unknown one)."""
    answered = set()
    for column in sorted(ALL):
        response = client.get(WFS + f"REQUEST=GetPropertyValue&TYPENAMES={name}"
                                    f"&VALUEREFERENCE={column}")
        text = body(response)
        if response.status_code == 200:
            answered.add(column)
        else:
            assert response.status_code == 400 and b"Propri" not in text and b"02 40" not in text
    return answered or None


def capabilities_layers(client):
    content = client.get(WFS + "REQUEST=GetCapabilities").content
    return {name.decode() for name in re.findall(rb"<Name>capgeo:(droits_\w+)</Name>", content)}


# --- the matrix -------------------------------------------------------------------------------
@pytest.mark.parametrize("username", USERS)
def test_every_protocol_gives_exactly_the_rows_and_columns_of_the_rule_table(rights, username):
    client = client_for(username)
    expected_layers = EXPECTED[username]
    assert capabilities_layers(client) == {name for name, g in expected_layers.items()
                                           if g[2] is not None}
    for name in RIGHTS_RULES:
        view_rows, view_columns, download_rows, download_columns = \
            expected_layers.get(name, (None, None, None, None))
        viewed = (view_rows, view_columns) if view_rows is not None else None
        downloaded = (download_rows, download_columns) if download_rows is not None else None
        answers = {
            "source (view)": through_source(username, name, Permission.VIEW),
            "REST page": through_rest_page(client, name),
            "WMS GetFeatureInfo": through_feature_info(client, name),
            "MVT": through_tiles(client, name),
            "OGC API Features": through_ogcapi(client, name),
            "OGC API Tiles (LAMB93)": through_ogcapi_tiles(client, name),
        }
        for protocol, got in answers.items():
            assert got == viewed, (username, name, protocol)
        assert through_rest_sheet(client, name) == view_columns, (username, name, "REST sheet")
        answers = {
            "source (download)": through_source(username, name, Permission.DOWNLOAD),
            "REST export": through_rest_export(client, name),
            "WFS GetFeature": through_wfs(client, name),
        }
        for protocol, got in answers.items():
            assert got == downloaded, (username, name, protocol)
        expected_columns = download_columns if download_rows is not None else None
        assert through_describe(client, name) == expected_columns, (username, name, "Describe")
        assert through_property_values(client, name) == expected_columns, \
            (username, name, "GetPropertyValue")


def test_ogc_api_maps_draw_exactly_the_viewed_rows(committed_rights):
    """OGC API – Maps (drawn as WMS GetMap draws): each user's map shows the town halls he views,
    nothing of a layer he may not view (404)."""
    for username in USERS:
        client = client_for(username)
        for name in RIGHTS_RULES:
            view_rows = EXPECTED[username].get(name, (None,))[0]
            assert through_ogcapi_map(client, name) == view_rows, (username, name)


LISTED = re.compile(rb"droits_(?:colonnes|refus|dates|condition)\b")
TITLED = re.compile(rb"Droits (colonnes|refus|dates|condition)\b")


def listed(response, pattern=LISTED):
    assert response.status_code == 200, body(response)[:300]
    found = {m.group(0).decode() for m in pattern.finditer(body(response))}
    return {f"droits_{name.split()[-1].lower()}" if name.startswith("Droits") else name
            for name in found}


@pytest.mark.django_db(transaction=True)  # pycsw reads the records on its own connection
@pytest.mark.parametrize("username", USERS)
def test_every_listing_names_exactly_the_layers_of_the_rule_table(rights, username, settings,
                                                                   tmp_path):
    """The layers a user is told of, by every endpoint that lists layers: exactly those the rule
    table lets him view (download for WFS, above) — and the CSW catalogue, the same for every
    visitor, exactly those the anonymous public may view."""
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    client = client_for(username)
    viewable = set(EXPECTED[username])
    answers = {
        "WMS GetCapabilities": listed(client.get("/ows", {
            "SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"})),
        "WMTS capabilities": listed(client.get("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml")),
        "TMS": listed(client.get("/mapproxy/tms/1.0.0/")),
        "OGC API collections": listed(client.get("/ogc/collections", {"f": "json"})),
        "REST catalogue": listed(client.get("/api/layers/", {"limit": 500})),
    }
    for protocol, got in answers.items():
        assert got == viewable, (username, protocol)
    records = client.get("/csw", {"SERVICE": "CSW", "VERSION": "2.0.2", "REQUEST": "GetRecords",
                                  "TYPENAMES": "csw:Record", "ELEMENTSETNAME": "full",
                                  "RESULTTYPE": "results", "MAXRECORDS": "100"})
    assert listed(records, TITLED) == set(EXPECTED["anonymous"]), (username, "CSW")


def test_tile_caches_are_never_shared_across_different_rights(rights):
    """WMTS: each audience's cache of a layer is chosen from its effective rights; two audiences
    share a cache only when they see the same rows and columns."""
    from layers.audience import Audience as TileAudience
    from wms.tiles.config import layer_caches

    seen = {}
    for username in USERS:
        for name, layer in rights.items():
            found = layer_caches(layer, TileAudience.of(user(username)))
            expected = EXPECTED[username].get(name)
            if expected is None:
                assert found is None, (username, name)
                continue
            _variant, cache = found
            seen.setdefault(cache, set()).add((expected[0] and frozenset(expected[0]),
                                               frozenset(expected[1])))
    assert all(len(views) == 1 for views in seen.values()), seen
    assert len({c for c in seen if c.startswith("droits_colonnes")}) >= 2


def test_open_data_shows_only_what_the_anonymous_public_may_download(rights):
    from opendata.datasets import public_attributes, public_datasets

    published = set(public_datasets().filter(name__in=RIGHTS_RULES).values_list("name", flat=True))
    assert published == {name for name, g in EXPECTED["anonymous"].items() if g[2] is not None}
    assert {a["name"] for a in public_attributes(rights["droits_colonnes"])} == PUBLIC_COLUMNS
    page = Client().get("/donnees/droits_condition/")
    assert page.status_code == 200


def test_the_rules_change_bumps_the_catalogue_version_and_the_next_request_follows(rights):
    client = client_for("lecteur")
    assert through_rest_sheet(client, "droits_colonnes") == PUBLIC_COLUMNS
    rule = AccessRule.objects.get(layer__name="droits_colonnes", audience=Audience.PUBLIC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM wms_catalogue_version")
        before = cursor.fetchone()[0]
        rule.columns = {**rule.columns, "telephone": "read"}
        rule.save()
        cursor.execute("SELECT version FROM wms_catalogue_version")
        assert cursor.fetchone()[0] > before
    assert through_rest_sheet(client, "droits_colonnes") == PUBLIC_COLUMNS | {"telephone"}
    assert through_tiles(client, "droits_colonnes")[1] == PUBLIC_COLUMNS | {"telephone"}


# --- styles: colours never tell a hidden column's values ---------------------------------------
OWNER_COLOURS = {GUERANDE: "#00c000", LA_BAULE: "#0000ff"}
DEFAULT_POINT = "#d7301f"  # layers.styles.DEFAULT_POINT_FILL: the layer's default symbol


def owner_style(layer):
    """droits_colonnes classed by its owner column (and labelled with the phone), a colour per
    owner: whoever sees the colours knows the owner."""
    from layers.models import Style

    categories = [{"value": f"Propriétaire {insee}", "title": f"Propriétaire {insee}",
                   "symbol": [{"type": "point", "mark": "circle", "size": 30, "fill": colour}]}
                  for insee, colour in OWNER_COLOURS.items()]
    return Style.objects.create(
        layer=layer, name="proprietaires", title="Par propriétaire", is_default=True,
        kind="categorized", definition={
            "kind": "categorized", "attribute": "proprietaire", "categories": categories,
            "other": None, "label": {"attribute": "telephone", "size": 10}})


def close_to(pixel, colour, tolerance=40):
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return pixel[3] > 100 and all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], rgb))


def picture(response):
    from PIL import Image

    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(body(response))).convert("RGBA")


def getmap_colour(client, insee):
    hall = halls()[insee].location
    return picture(client.get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "droits_colonnes",
        "STYLES": "", "CRS": "EPSG:2154", "WIDTH": 101, "HEIGHT": 101, "FORMAT": "image/png",
        "TRANSPARENT": "TRUE", "BBOX": f"{hall.x - 50.5},{hall.y - 50.5},{hall.x + 50.5},"
                                       f"{hall.y + 50.5}"})).getpixel((50, 50))


def ogcapi_map_colour(client, insee):
    hall = halls()[insee].location
    return picture(client.get("/ogc/collections/droits_colonnes/map", {
        "bbox": f"{hall.x - 50.5},{hall.y - 50.5},{hall.x + 50.5},{hall.y + 50.5}",
        "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2154", "width": 101,
        "height": 101, "transparent": "true"})).getpixel((50, 50))


def wmts_colour(client, insee):
    from wms.tests.test_tiles import webmercator_tile

    hall = halls()[insee].location
    col, row, i, j = webmercator_tile(hall.x, hall.y, 15)
    return picture(client.get(f"/mapproxy/wmts/droits_colonnes/default/GoogleMapsCompatible/15/"
                              f"{col}/{row}.png")).getpixel((i, j))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", USERS)
def test_a_style_never_shows_the_values_of_a_column_hidden_by_the_rules(rights, username,
                                                                        settings, tmp_path):
    """A style classed on the owners: who may read them sees a colour per owner (GetMap, WMTS
    tiles, legend, GetStyles); who may not gets every feature in the layer's default symbol, a
    legend without the classes, an SLD without their values — whatever the protocol (OGC API –
    Maps too), since the map engine draws the style from the user's feature source."""
    from maps import legend, renderer

    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    renderer.clear_cache()
    legend.clear_cache()
    owner_style(rights["droits_colonnes"])
    client = client_for(username)
    owners = "proprietaire" in EXPECTED[username]["droits_colonnes"][1]
    start = PersonalDataRead.objects.count()
    for insee, colour in OWNER_COLOURS.items():
        expected = colour if owners else DEFAULT_POINT
        assert close_to(getmap_colour(client, insee), expected), (username, insee, "GetMap")
        assert close_to(wmts_colour(client, insee), expected), (username, insee, "WMTS")
        assert close_to(ogcapi_map_colour(client, insee), expected), (username, insee, "Maps")
    # Drawing the owners' classes reads the owners: journaled (the maps drawn in the default
    # symbol read nothing personal).
    reads = list(PersonalDataRead.objects.order_by("pk")[start:])
    assert {r.layer_name for r in reads} <= {"droits_colonnes"}
    expected_protocols = {"wms-GetMap", "wmts", "ogc-api"} if owners else set()
    assert {r.protocol for r in reads} >= expected_protocols
    assert all("proprietaire" in r.columns and r.username == username for r in reads)
    assert bool(reads) == owners, username
    # The same tile again comes from the tile cache: journaled all the same (an image drawn for
    # a cache is read by whoever asks for its tiles), once.
    insee = next(iter(OWNER_COLOURS))
    start = PersonalDataRead.objects.count()
    assert close_to(wmts_colour(client, insee), OWNER_COLOURS[insee] if owners else DEFAULT_POINT)
    again = list(PersonalDataRead.objects.order_by("pk")[start:])
    assert [(r.protocol, r.username, r.layer_name) for r in again] == \
        ([("wmts", username, "droits_colonnes")] if owners else []), username
    key = picture(client.get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
        "LAYER": "droits_colonnes", "STYLE": "proprietaires", "FORMAT": "image/png"}))
    rows = (key.height - 2 * legend.PADDING + legend.ROW_GAP) // (legend.SWATCH + legend.ROW_GAP)
    assert rows == (2 if owners else 1), (username, "legend")
    first = key.getpixel((legend.PADDING + legend.SWATCH // 2, legend.PADDING + legend.SWATCH // 2))
    assert close_to(first, OWNER_COLOURS[GUERANDE] if owners else DEFAULT_POINT), username
    sld = body(client.get("/ows", {"SERVICE": "WMS", "VERSION": "1.3.0",
                                   "REQUEST": "GetStyles", "LAYERS": "droits_colonnes"}))
    assert (b"Propri\xc3\xa9taire 44069" in sld) == owners, (username, "GetStyles")
    assert (b"telephone" in sld) == ("telephone" in EXPECTED[username]["droits_colonnes"][1])


# --- personal data: « qui a lu quoi » ----------------------------------------------------------
def test_personal_data_reads_are_journaled_by_protocol_and_the_journal_is_append_only(rights):
    start = PersonalDataRead.objects.count()
    spanc, agent = client_for("responsable.spanc"), client_for("agent.guerande")
    through_rest_page(spanc, "droits_colonnes")
    through_wfs(spanc, "droits_colonnes")
    through_rest_export(spanc, "droits_colonnes")
    through_rest_page(agent, "droits_colonnes")
    through_wfs(agent, "droits_colonnes")
    reads = list(PersonalDataRead.objects.order_by("pk")[start:])
    assert [(r.username, r.layer_name, sorted(r.columns)) for r in reads] == \
        [("responsable.spanc", "droits_colonnes", ["proprietaire", "telephone"])] * 3
    assert [r.protocol for r in reads] == ["rest", "wfs-GetFeature", "rest"]
    assert reads[0].rows == 2 and reads[2].rows == 2
    with pytest.raises(DatabaseError), transaction.atomic():
        PersonalDataRead.objects.filter(pk=reads[0].pk).update(username="personne")
    with pytest.raises(DatabaseError), transaction.atomic():
        PersonalDataRead.objects.filter(pk=reads[0].pk).delete()


# --- writes -----------------------------------------------------------------------------------
EDIT_RULES = [
    # Municipal agents: the names of their commune's rows; INSEE code read-only; the owners
    # hidden; no insert, no geometry change, no delete.
    {"audience": Audience.ROLES, "roles": ["municipal_agent"],
     "operations": ["view", "download", "update_attributes"],
     "write_restriction": RowRestriction.COMMUNE_INSEE,
     "columns": {"nom": "write", "code_insee": "read"}},
    {"audience": Audience.ROLES, "roles": SPANC, "permission": Permission.EDIT},
    # The reader may insert, inside Guérande only (write area).
    {"audience": RuleAudience.USERS, "users": ["lecteur"], "operations": ["view", "insert"]},
]
NS = ('xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
      'xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')
EDITED = "droits_edition"


@pytest.fixture
def editable():
    layer = make_vector_layer(EDITED, "POINT", ATTRIBUTES, hall_rows(), insee_field="code_insee")
    make_rules(layer, EDIT_RULES)
    guerande = Commune.objects.get(insee=GUERANDE).geom
    area = guerande if isinstance(guerande, MultiPolygon) else MultiPolygon(guerande)
    AccessRule.objects.filter(layer=layer, audience=RuleAudience.USERS).update(write_area=area)
    return layer


def table_rows():
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT fid, code_insee, nom, ST_AsText(geom) FROM layers_data."{EDITED}" '
                       "ORDER BY fid")
        return cursor.fetchall()


def fid_of(insee):
    return next(fid for fid, code, *_ in table_rows() if code == insee)


def transaction_11(body):
    return (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" '
            f'version="1.1.0" {NS}>{body}</wfs:Transaction>')


def update(fid, name, value):
    return (f'<wfs:Update typeName="capgeo:{EDITED}"><wfs:Property><wfs:Name>{name}</wfs:Name>'
            f'<wfs:Value>{value}</wfs:Value></wfs:Property><ogc:Filter>'
            f'<ogc:FeatureId fid="{EDITED}.{fid}"/></ogc:Filter></wfs:Update>')


def point(x, y):
    return f'<gml:Point srsName="urn:ogc:def:crs:EPSG::2154"><gml:pos>{x} {y}</gml:pos></gml:Point>'


def insert(x, y, insee=GUERANDE):
    return (f'<wfs:Insert><capgeo:{EDITED}><capgeo:code_insee>{insee}</capgeo:code_insee>'
            f'<capgeo:nom>Nouvelle</capgeo:nom><capgeo:geom>{point(x, y)}</capgeo:geom>'
            f'</capgeo:{EDITED}></wfs:Insert>')


def delete(fid):
    return (f'<wfs:Delete typeName="capgeo:{EDITED}"><ogc:Filter>'
            f'<ogc:FeatureId fid="{EDITED}.{fid}"/></ogc:Filter></wfs:Delete>')


def post(username, document):
    return client_for(username).post("/ows", data=transaction_11(document),
                                     content_type="text/xml")


def refused(response, locator=None):
    assert response.status_code in (400, 403), response.content[:500]
    text = response.content.decode()
    assert "ExceptionReport" in text and ("PermissionDenied" in text
                                          or "InvalidParameterValue" in text), text
    return text


def test_wfs_t_refuses_every_write_beyond_the_rules_and_nothing_changes(editable):
    before = table_rows()
    guerande, la_baule = fid_of(GUERANDE), fid_of(LA_BAULE)
    hall = halls()[GUERANDE].location
    attempts = [
        ("read-only column", update(guerande, "code_insee", LA_BAULE)),
        ("hidden column", update(guerande, "proprietaire", "X")),
        ("geometry without update_geometry", f'<wfs:Update typeName="capgeo:{EDITED}">'
         f'<wfs:Property><wfs:Name>geom</wfs:Name><wfs:Value>{point(hall.x + 5, hall.y)}'
         f'</wfs:Value></wfs:Property><ogc:Filter><ogc:FeatureId fid="{EDITED}.{guerande}"/>'
         f'</ogc:Filter></wfs:Update>'),
        ("another commune's row", update(la_baule, "nom", "Pas chez moi")),
        ("insert without insert", insert(hall.x, hall.y)),
        ("delete without delete", delete(guerande)),
        # An allowed change followed by a refused one: the whole document is rolled back.
        ("allowed then refused", update(guerande, "nom", "Changé") + delete(guerande)),
    ]
    for label, document in attempts:
        refused(post("agent.guerande", document))
        assert table_rows() == before, label
    response = post("agent.guerande", update(guerande, "nom", "Mairie renommée"))
    assert response.status_code == 200, response.content
    assert [r[2] for r in table_rows() if r[0] == guerande] == ["Mairie renommée"]


def test_an_insert_outside_the_write_filter_is_refused_and_inside_it_accepted(editable):
    before = table_rows()
    guerande, la_baule = halls()[GUERANDE].location, halls()[LA_BAULE].location
    refused(post("lecteur", insert(la_baule.x, la_baule.y, LA_BAULE)))
    assert table_rows() == before
    assert post("lecteur", insert(guerande.x + 10, guerande.y)).status_code == 200
    assert len(table_rows()) == len(before) + 1
    refused(post("lecteur", update(fid_of(GUERANDE), "nom", "Non")))  # no update for him


def test_the_source_itself_refuses_what_the_rules_do_not_allow(editable):
    source = AccessPolicy.for_user(user("agent.guerande")).source(EDITED, Permission.EDIT)
    assert source.operations == {"view", "download", "update_attributes"}
    assert [c.name for c in source.writable] == ["nom"]
    before = table_rows()
    with pytest.raises(ReadOnlyColumn):
        source.checked_values({"code_insee": LA_BAULE})
    with pytest.raises(OperationDenied), transaction.atomic():
        source.delete([fid_of(GUERANDE)])
    with pytest.raises(OperationDenied), transaction.atomic():
        source.update([fid_of(GUERANDE)], {}, None, set_geometry=True)
    with pytest.raises(OutsideWriteFilter), transaction.atomic():
        source.update([fid_of(LA_BAULE)], {"nom": "Ailleurs"})
    assert table_rows() == before
    spanc = AccessPolicy.for_user(user("responsable.spanc")).source(EDITED, Permission.EDIT)
    assert spanc.operations == {op.value for op in Operation}
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(user("prestataire.fibre")).source(EDITED, Permission.EDIT)


# --- areas: intersect and clip ----------------------------------------------------------------
def test_clip_cuts_geometries_to_the_area_intersect_keeps_them_whole_and_whole_wins(rights):
    """One polygon spanning both communes, one small inside Guérande. lecteur: area Guérande in
    clip mode; agent.labaule: same area in intersect mode; agent.guerande: both rules — the
    intersect one gives the big polygon whole (documented: a row given by a rule that does not
    clip is shown whole)."""
    guerande = Commune.objects.get(insee=GUERANDE).geom
    area = guerande if isinstance(guerande, MultiPolygon) else MultiPolygon(guerande)
    h = halls()
    big = (f"POLYGON(({h[GUERANDE].location.x - 300} {h[GUERANDE].location.y - 300},"
           f"{h[LA_BAULE].location.x + 300} {h[GUERANDE].location.y - 300},"
           f"{h[LA_BAULE].location.x + 300} {h[LA_BAULE].location.y + 300},"
           f"{h[GUERANDE].location.x - 300} {h[LA_BAULE].location.y + 300},"
           f"{h[GUERANDE].location.x - 300} {h[GUERANDE].location.y - 300}))")
    small = h[GUERANDE].location.buffer(50).wkt
    layer = make_vector_layer("droits_zone", "POLYGON", [("nom", "text")],
                              [{"nom": "grand", "geom": big}, {"nom": "petit", "geom": small}])
    for username, mode in (("lecteur", AreaMode.CLIP), ("agent.labaule", AreaMode.INTERSECT),
                           ("agent.guerande", AreaMode.CLIP),
                           ("agent.guerande", AreaMode.INTERSECT)):
        rule = AccessRule.objects.create(layer=layer, audience=RuleAudience.USERS,
                                         permission=Permission.DOWNLOAD, area=area, area_mode=mode)
        rule.users.set([User.objects.get(username=username)])

    def areas(username):
        source = AccessPolicy.for_user(user(username)).source("droits_zone", Permission.VIEW)
        return {f["properties"]["nom"]: GEOSGeometry(json.dumps(f["geometry"]), srid=2154).area
                for f in source.features(source.query(crs=2154))}

    whole = areas("admin.sig")
    clipped, intersected, both = areas("lecteur"), areas("agent.labaule"), areas("agent.guerande")
    assert intersected == pytest.approx(whole) and both == pytest.approx(whole)
    assert clipped["petit"] == pytest.approx(whole["petit"])
    assert 0 < clipped["grand"] < whole["grand"] * 0.99
    expected = GEOSGeometry(big, srid=2154).intersection(area).area
    assert clipped["grand"] == pytest.approx(expected, rel=1e-3)
    # The same cut over REST and WFS, and its own tile cache.
    page = json.loads(body(client_for("lecteur").get("/api/layers/droits_zone/features",
                                                      {"crs": "2154"})))
    rest = {f["properties"]["nom"]: GEOSGeometry(json.dumps(f["geometry"])).area
            for f in page["features"]}
    assert rest["grand"] == pytest.approx(clipped["grand"], rel=1e-3)
    wfs = json.loads(body(client_for("lecteur").get(
        WFS + "REQUEST=GetFeature&TYPENAMES=droits_zone&OUTPUTFORMAT=geojson"
              "&SRSNAME=urn:ogc:def:crs:EPSG::2154")))
    wfs_areas = {f["properties"]["nom"]: GEOSGeometry(json.dumps(f["geometry"])).area
                 for f in wfs["features"]}
    assert wfs_areas["grand"] == pytest.approx(clipped["grand"], rel=1e-2)


# --- the demo rules, as a newcomer meets them ---------------------------------------------------
def describe_columns(username, name):
    response = client_for(username).get(WFS + f"REQUEST=DescribeFeatureType&TYPENAMES={name}")
    assert response.status_code == 200, response.content[:300]
    return {e.get("name") for e in ET.fromstring(response.content).iter()
            if e.tag.endswith("}element")}


def test_demo_spanc_owners_are_for_the_spanc_roles_only(settings, tmp_path):
    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path  # the demo layers' thumbnails
    call_command("load_demo", stdout=io.StringIO())  # as a newcomer loads it (SPANC included)
    owners = {"proprietaire", "telephone_proprietaire"}
    assert not owners & describe_columns("agent.guerande", "spanc_installations")
    assert owners <= describe_columns("responsable.spanc", "spanc_installations")
    page = json.loads(body(client_for("agent.guerande").get(
        "/api/layers/spanc_installations/features")))
    assert page["features"] and not owners & set(page["features"][0]["properties"])
    before = PersonalDataRead.objects.count()
    client_for("responsable.spanc").get("/api/layers/spanc_installations/features")
    assert PersonalDataRead.objects.count() == before + 1


def test_demo_zones_activite_names_but_not_outlines_and_only_in_ones_commune():
    with connection.cursor() as cursor:
        cursor.execute("SELECT fid, code_insee, ST_AsText(geom) FROM layers_data.zones_activite "
                       "ORDER BY fid")
        zones = cursor.fetchall()
    own = next(fid for fid, insee, _ in zones if insee == GUERANDE)
    other = next(fid for fid, insee, _ in zones if insee != GUERANDE)

    def post_update(fid, prop, value):
        document = (f'<?xml version="1.0"?><wfs:Transaction service="WFS" version="1.1.0" {NS}>'
                    f'<wfs:Update typeName="capgeo:zones_activite"><wfs:Property>'
                    f'<wfs:Name>{prop}</wfs:Name><wfs:Value>{value}</wfs:Value></wfs:Property>'
                    f'<ogc:Filter><ogc:FeatureId fid="zones_activite.{fid}"/></ogc:Filter>'
                    f'</wfs:Update></wfs:Transaction>')
        return client_for("agent.guerande").post("/ows", data=document, content_type="text/xml")

    moved = (f'<gml:Polygon srsName="urn:ogc:def:crs:EPSG::2154"><gml:exterior><gml:LinearRing>'
             f'<gml:posList>290000 6705000 290100 6705000 290100 6705100 290000 6705000'
             f'</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>')
    refused(post_update(own, "geom", moved))
    refused(post_update(other, "nom", "Pas ma commune"))
    refused(post_update(own, "code_insee", LA_BAULE))
    assert post_update(own, "nom", "Zone renommée par la commune").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT fid, code_insee, ST_AsText(geom) FROM layers_data.zones_activite "
                       "ORDER BY fid")
        assert cursor.fetchall() == zones  # outlines and INSEE codes untouched
        cursor.execute("SELECT nom FROM layers_data.zones_activite WHERE fid = %s", [own])
        assert cursor.fetchone()[0] == "Zone renommée par la commune"


def test_demo_contractor_reads_two_communes_clipped_until_the_end_of_his_contract():
    contractor = AccessPolicy.for_user(user("prestataire.fibre"))
    source = contractor.source("reseau_fibre", Permission.DOWNLOAD)
    assert source.clip is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Union(geom) FROM territory_commune WHERE insee = ANY(%s)",
                       [[GUERANDE, LA_BAULE]])
        (area,) = cursor.fetchone()
    area = GEOSGeometry(area)
    features = source.features(source.query(crs=2154))
    assert features
    for feature in features:
        line = GEOSGeometry(json.dumps(feature["geometry"]), srid=2154)
        assert area.buffer(0.01).covers(line)
    # Another member of the contractors' group, without his named rule: denied.
    other = User.objects.create_user("autre.prestataire", password="x-secret-123")
    other.groups.add(Group.objects.get(name="Prestataires"))
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(other).source("reseau_fibre")
    # Past the end of the contract, the layer is gone for him (and his caches with it).
    rule = AccessRule.objects.get(layer__name="reseau_fibre", users__username="prestataire.fibre")
    rule.valid_until = TODAY - DAY
    rule.save()
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(user("prestataire.fibre")).source("reseau_fibre")
    assert client_for("prestataire.fibre").get(
        "/api/layers/reseau_fibre/features").status_code == 404


# --- the field sync writes the published spanc_installations layer under the same rules -------
def test_a_field_push_obeys_the_layers_write_filter_and_columns_like_wfs_t():
    """Issue 14: an inspector's push writes the published `spanc_installations` layer; the
    layer's rule (operations, read-only column, write area) decides it as it decides a WFS-T
    edit. Refused changes answer `rejected` with the reason, and nothing of them stays (the
    records, the published rows)."""
    import uuid

    from fieldsync import campaigns, publication
    from fieldsync.models import ControlKind, Installation
    from fieldsync.tests.conftest import Tablet, make_installation

    homes = {insee: make_installation(insee, f"1 rue de {insee}") for insee in BOTH}
    manager = User.objects.get(username="responsable.spanc")
    campaign, _count = campaigns.plan_campaign(
        manager, "Campagne droits", ControlKind.objects.get(code="bon_fonctionnement"),
        list(Commune.objects.filter(insee__in=BOTH)))
    campaigns.assign(manager, list(campaign.controls.all()),
                     User.objects.get(username="controleur.spanc"))
    publication.ensure_layers()
    rule = AccessRule.objects.get(layer__name="spanc_installations",
                                  roles__contains=["spanc_inspector"])
    assert {"insert", "update_attributes", "update_geometry"} <= set(rule.operations)
    guerande = Commune.objects.get(insee=GUERANDE).geom
    rule.write_area = guerande if isinstance(guerande, MultiPolygon) else MultiPolygon(guerande)
    rule.columns = {"telephone_proprietaire": "read"}
    rule.other_columns = "write"
    rule.operations = ["view", "download", "insert", "update_attributes"]  # no moves
    rule.save()

    tablet = Tablet("controleur.spanc")
    known = {i["id"]: i for i in tablet.package()["installations"]}
    home, away = (known[str(homes[insee].uuid)] for insee in (GUERANDE, LA_BAULE))

    def change(installation, op="update", **data):
        body = {"change_id": str(uuid.uuid4()), "entity": "installation", "op": op,
                "id": installation["id"] if installation else str(uuid.uuid4()), "data": data}
        if op == "update":
            body["base_version"] = installation["version"]
        return body

    def lonlat(insee):
        point = Commune.objects.get(insee=insee).geom.point_on_surface.transform(4326, clone=True)
        return {"type": "Point", "coordinates": [point.x, point.y]}

    def published():
        with connection.cursor() as cursor:
            cursor.execute('SELECT uuid::text, adresse, telephone_proprietaire FROM '
                           'layers_data."spanc_installations" ORDER BY fid')
            return cursor.fetchall()

    before, records = published(), list(Installation.objects.order_by("pk").values_list(
        "uuid", "address", "owner_phone", "version"))
    refused = {
        "outside the write area": change(away, address="Pas chez moi"),
        "read-only column": change(home, owner={"phone": "06 00 00 00 00"}),
        "a move without update_geometry": change(home, geometry=lonlat(GUERANDE)),
        "an insert outside the write area": change(None, "create", geometry=lonlat(LA_BAULE),
                                                   address="Nouvelle"),
    }
    response = tablet.push(list(refused.values()))[0]
    results = dict(zip(refused, response.json()["results"]))
    assert {k: r["status"] for k, r in results.items()} == dict.fromkeys(refused, "rejected")
    assert "filtre d'écriture" in results["outside the write area"]["reasons"][0]
    assert "telephone_proprietaire" in results["read-only column"]["reasons"][0]
    assert "owner.phone" in results["read-only column"]["reasons"][0]
    assert "déplacer" in results["a move without update_geometry"]["reasons"][0]
    assert "filtre d'écriture" in results["an insert outside the write area"]["reasons"][0]
    assert published() == before
    assert list(Installation.objects.order_by("pk").values_list(
        "uuid", "address", "owner_phone", "version")) == records

    allowed = [change(home, address="2 rue du Marais", owner={"name": "Jeanne Martin-Le Roux"}),
               change(None, "create", geometry=lonlat(GUERANDE), address="Lieu-dit Kerlo")]
    results = tablet.push(allowed)[0].json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    rows = {uuid_: address for uuid_, address, _phone in published()}
    assert rows[home["id"]] == "2 rue du Marais" and rows[results[1]["id"]] == "Lieu-dit Kerlo"
