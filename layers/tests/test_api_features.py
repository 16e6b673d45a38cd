"""/api/layers/{name}/features: filters, paging, projections and refusals (never a 500)."""
import json

import pytest

from accounts.models import User
from layers.models import Audience, Permission
from layers.testing import make_vector_layer

URL = "/api/layers/api_points/features"
TRICKY_NAME = 'L\'"Étang", de la Brière'
MULTILINE_NAME = "Première ligne\nseconde ligne"


def points_rows():
    """25 points on a 1 km grid near Guérande, one without geometry, two tricky names."""
    rows = []
    for i in range(5):
        for j in range(5):
            n = i * 5 + j
            rows.append({
                "code_insee": "44069" if i < 3 else "44055",
                "nom": f"point {n:02d}",
                "rang": n,
                "releve": f"2024-01-{1 + n:02d}",
                "geom": f"POINT({280000 + i * 1000} {6700000 + j * 1000})",
            })
    rows[3]["nom"] = TRICKY_NAME
    rows[4]["nom"] = MULTILINE_NAME
    rows.append({"code_insee": "44069", "nom": "sans géométrie", "rang": 99, "releve": None,
                 "geom": None})
    return rows


def make_points_layer(name="api_points", rules=None):
    return make_vector_layer(
        name, "POINT",
        [("code_insee", "varchar(5)"), ("nom", "text"), ("rang", "integer"), ("releve", "date")],
        points_rows(),
        rules if rules is not None else [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
        insee_field="code_insee", title="Points de test de l'API",
    )


@pytest.fixture
def points(db):
    return make_points_layer()


def get_json(client, url, status=200, **params):
    response = client.get(url, params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == status, body[:500]
    assert response.status_code != 500
    return response, json.loads(body)


def ranks(collection):
    return [feature["properties"]["rang"] for feature in collection["features"]]


def test_page_is_a_geojson_feature_collection_ordered_by_fid(client, points):
    response, body = get_json(client, URL)
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 26 and body["numberReturned"] == 26
    assert body["next"] is None and body["previous"] is None
    ids = [feature["id"] for feature in body["features"]]
    assert ids == sorted(ids) and len(set(ids)) == 26
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["geometry"]["type"] == "Point"
    assert first["properties"] == {"code_insee": "44069", "nom": "point 00", "rang": 0,
                                   "releve": "2024-01-01"}
    assert body["features"][-1]["geometry"] is None


def test_paging_links_are_stable_and_complete(client, points):
    seen = []
    url, params = URL, {"limit": 10}
    pages = 0
    while url:
        _, body = get_json(client, url, **params)
        params = {}
        assert body["numberMatched"] == 26
        assert body["numberReturned"] == len(body["features"])
        seen += [feature["id"] for feature in body["features"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert len(seen) == 26 and seen == sorted(seen)
    # The same page asked twice is the same page; previous goes back exactly one page.
    _, again = get_json(client, URL, limit=10, offset=10)
    _, twice = get_json(client, URL, limit=10, offset=10)
    assert [f["id"] for f in again["features"]] == [f["id"] for f in twice["features"]] == seen[10:20]
    assert "offset=0" in again["previous"] and "offset=20" in again["next"]
    _, beyond = get_json(client, URL, offset=500)
    assert beyond["features"] == [] and beyond["numberReturned"] == 0
    assert beyond["numberMatched"] == 26


def test_bbox_filter_in_wgs84_and_lambert93(client, points):
    # The first column of the grid (x = 280000) in Lambert-93.
    _, body = get_json(client, URL, **{"bbox": "279500,6699500,280500,6704500", "bbox-crs": "2154"})
    assert sorted(ranks(body)) == [0, 1, 2, 3, 4]
    # The same column as a box in degrees around the points of x = 280000.
    _, lambert = get_json(client, URL, crs="2154", **{"bbox": "279500,6699500,280500,6704500",
                                                      "bbox-crs": "EPSG:2154"})
    lons = [f["geometry"]["coordinates"][0] for f in body["features"]]
    lats = [f["geometry"]["coordinates"][1] for f in body["features"]]
    _, degrees = get_json(client, URL, bbox=f"{min(lons) - 1e-4},{min(lats) - 1e-4},"
                                             f"{max(lons) + 1e-4},{max(lats) + 1e-4}")
    assert sorted(ranks(degrees)) == [0, 1, 2, 3, 4]
    assert {tuple(f["geometry"]["coordinates"]) for f in lambert["features"]} == {
        (280000.0, 6700000.0 + j * 1000) for j in range(5)}
    # A world-wide box is clipped to Lambert-93's domain, not a projection error.
    _, world = get_json(client, URL, bbox="-180,-90,180,90")
    assert world["numberMatched"] == 25  # the feature without geometry never intersects
    _, nowhere = get_json(client, URL, bbox="100,10,101,11")
    assert nowhere["numberMatched"] == 0


def test_attribute_filters_typed_and_with_quotes(client, points):
    _, body = get_json(client, URL, nom=TRICKY_NAME)
    assert ranks(body) == [3]
    assert body["features"][0]["properties"]["nom"] == TRICKY_NAME
    _, body = get_json(client, URL, code_insee="44055")
    assert body["numberMatched"] == 10
    _, body = get_json(client, URL, rang="7")
    assert ranks(body) == [7]
    response = client.get(URL + "?rang=7&rang=8&code_insee=44069")
    assert sorted(ranks(json.loads(b"".join(response.streaming_content)))) == [7, 8]
    _, body = get_json(client, URL, releve="2024-01-03")
    assert ranks(body) == [2]
    _, body = get_json(client, URL, nom="'; DROP TABLE layers_data.api_points; --")
    assert body["numberMatched"] == 0
    _, body = get_json(client, URL)
    assert body["numberMatched"] == 26


def test_output_crs_coordinate_ranges(client, points):
    ranges = {
        "4326": ((-2.8, -2.1), (47.1, 47.6)),
        "2154": ((265000, 312000), (6690000, 6728000)),
        "3857": ((-320000, -230000), (5950000, 6050000)),
    }
    for crs, ((xmin, xmax), (ymin, ymax)) in ranges.items():
        response, body = get_json(client, URL, crs=crs)
        located = [f for f in body["features"] if f["geometry"]]
        assert len(located) == 25
        for feature in located:
            x, y = feature["geometry"]["coordinates"]
            assert xmin < x < xmax and ymin < y < ymax, (crs, x, y)
        if crs == "4326":
            assert "crs" not in body
        else:
            assert response["Content-Crs"] == f"<http://www.opengis.net/def/crs/EPSG/0/{crs}>"
            assert body["crs"]["properties"]["name"] == f"urn:ogc:def:crs:EPSG::{crs}"
    _, by_uri = get_json(client, URL, crs="http://www.opengis.net/def/crs/EPSG/0/2154")
    assert by_uri["features"][0]["geometry"]["coordinates"] == [280000, 6700000]


@pytest.mark.parametrize("params, parameter, words", [
    ({"couleur": "rouge"}, "couleur", ["couleur", "code_insee, nom, rang, releve"]),
    ({"bbox": "1,2,3"}, "bbox", ["minx,miny,maxx,maxy"]),
    ({"bbox": "a,b,c,d"}, "bbox", ["emprise"]),
    ({"bbox": "3,2,1,4"}, "bbox", ["inférieur"]),
    ({"bbox": "-200,40,0,50"}, "bbox", ["longitude"]),
    ({"bbox": "nan,1,2,3"}, "bbox", ["emprise"]),
    ({"bbox": "0,0,1,1", "bbox-crs": "27572"}, "bbox-crs", ["non pris en charge"]),
    ({"crs": "900913"}, "crs", ["non pris en charge"]),
    ({"crs": "EPSG:abc"}, "crs", ["non pris en charge"]),
    ({"limit": "10001"}, "limit", ["10000", "export"]),
    ({"limit": "0"}, "limit", ["entier"]),
    ({"limit": "dix"}, "limit", ["entier"]),
    ({"limit": "1" + "0" * 30}, "limit", ["entier"]),
    ({"offset": "-1"}, "offset", ["entier"]),
    ({"f": "kml"}, "f", ["geojson, csv, gpkg ou shp"]),
    ({"rang": "sept"}, "rang", ["invalide", "integer"]),
    ({"releve": "2024-13-45"}, "releve", ["invalide", "date"]),
    ({"nom": "nul\x00"}, "nom", ["invalide"]),
])
def test_bad_parameters_are_400_with_a_french_message(client, points, params, parameter, words):
    response = client.get(URL, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]


def test_limit_over_the_maximum_is_refused_not_clamped(client, points, settings):
    settings.CAPGEO_API_FEATURES_MAX_LIMIT = 20
    assert client.get(URL, {"limit": 21}).status_code == 400
    _, body = get_json(client, URL, limit=20)
    assert body["numberReturned"] == 20
    settings.CAPGEO_API_FEATURES_DEFAULT_LIMIT = 5
    _, body = get_json(client, URL)
    assert body["numberReturned"] == 5 and "limit=5" in body["next"]


def test_attribute_named_like_drf_format_override_is_a_filter(client, db):
    make_vector_layer("api_format", "POINT", [("format", "text")],
                      [{"format": "A4", "geom": "POINT(280000 6700000)"},
                       {"format": "A3", "geom": "POINT(281000 6700000)"}],
                      [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    _, body = get_json(client, "/api/layers/api_format/features", format="A3")
    assert [f["properties"]["format"] for f in body["features"]] == ["A3"]


def test_accept_header_does_not_matter(client, points):
    response = client.get(URL, HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 200
    response = client.get(URL, {"f": "csv"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200


def test_restricted_rows_through_the_grant_with_filters(client, db):
    make_points_layer("api_points_insee", rules=[
        {"audience": Audience.AUTHENTICATED, "permission": Permission.VIEW,
         "row_restriction": "commune_insee"}])
    client.force_login(User.objects.get(username="agent.labaule"))
    url = "/api/layers/api_points_insee/features"
    _, body = get_json(client, url)
    assert body["numberMatched"] == 10
    assert {f["properties"]["code_insee"] for f in body["features"]} == {"44055"}
    # Asking for the other commune's rows gives nothing, not an error.
    _, body = get_json(client, url, code_insee="44069")
    assert body["numberMatched"] == 0 and body["features"] == []
    # A page is VIEW; an export needs DOWNLOAD.
    response = client.get(url, {"f": "geojson"})
    assert response.status_code == 403
    assert "télécharger" in response.json()["detail"]


def test_remote_or_missing_table_is_404_not_500(client, points):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute('DROP TABLE layers_data."api_points"')
    response = client.get(URL)
    assert response.status_code == 404
    assert "publiées" in response.json()["detail"]


def test_unknown_layer_is_404_in_french(client, db):
    response = client.get("/api/layers/nexiste_pas/features")
    assert response.status_code == 404
    assert "introuvable" in response.json()["detail"]


@pytest.mark.parametrize("params", [
    {"bbox": "1e300,1e300,1e301,1e301", "bbox-crs": "3857"},
    {"bbox": "-1e308,-1e308,1e308,1e308", "bbox-crs": "2154"},
    {"bbox": "-20037508,-20048966,20037508,20048966", "bbox-crs": "3857"},
    {"offset": str(2**53)},
    {"limit": "10000", "offset": "3"},
])
def test_extreme_but_valid_values_never_fail(client, points, params):
    response = client.get(URL, params)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        body = json.loads(b"".join(response.streaming_content))
        assert body["numberReturned"] == len(body["features"])
    else:
        assert response.json()["parameter"] == "bbox"
