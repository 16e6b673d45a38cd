"""OGC API – Features Part 1 Core (OGC 17-069r4, Annex A): one test per abstract test, run over
every collection the user sees (the administrator sees them all), plus the GeoJSON, HTML and
OpenAPI 3.0 requirements classes. The official suite (ets-ogcapi-features10, Java) cannot be
fetched here: these are its assertions, written against the real server and database."""
import re

import pytest
from django.test import Client

from layers.models import Layer

from .support import CRS84, body, collection_ids, document, every_feature, local, login, rel

pytestmark = pytest.mark.django_db
GEOJSON = "application/geo+json"


@pytest.fixture
def admin():
    return login(Client(), "admin.sig")


def all_collections(client):
    ids = collection_ids(client)
    assert set(ids) == set(Layer.objects.filter(kind="vector").values_list("name", flat=True))
    return ids


# --- A.2.2 landing page ------------------------------------------------------------------------
def test_conf_core_root_op():
    response = Client().get("/ogc/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_conf_core_root_success():
    links = document(Client().get("/ogc/"))["links"]
    for name in ("self", "service-desc", "service-doc", "conformance", "data"):
        assert rel(links, name), name
    assert rel(links, "service-desc")[0]["type"].startswith("application/vnd.oai.openapi+json")


# --- A.2.3 API definition ----------------------------------------------------------------------
def test_conf_core_api_definition_op_and_success():
    href = rel(document(Client().get("/ogc/"))["links"], "service-desc")[0]["href"]
    response = Client().get(local(href))
    assert response.status_code == 200
    api = document(response)
    assert api["openapi"].startswith("3.0")
    assert api["servers"][0]["url"] == "http://testserver/ogc"
    for path in ("/", "/conformance", "/collections", "/collections/{collectionId}",
                 "/collections/{collectionId}/items",
                 "/collections/{collectionId}/items/{featureId}"):
        assert "get" in api["paths"][path]


# --- A.2.4 conformance -------------------------------------------------------------------------
def test_conf_core_conformance_op_and_success():
    response = Client().get("/ogc/conformance")
    assert response.status_code == 200
    classes = document(response)["conformsTo"]
    for name in ("core", "geojson", "html", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}" in classes


# --- A.2.5 feature collections -----------------------------------------------------------------
def test_conf_core_fc_md_op_success_links_items_extent(admin):
    response = admin.get("/ogc/collections")
    assert response.status_code == 200
    collections = document(response)
    assert rel(collections["links"], "self")
    for collection in collections["collections"]:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", collection["id"])
        items = rel(collection["links"], "items", GEOJSON)
        assert items and items[0]["href"].endswith(f"/collections/{collection['id']}/items")
        bbox = collection["extent"]["spatial"]["bbox"][0]
        assert collection["extent"]["spatial"]["crs"] == CRS84
        assert -180 <= bbox[0] <= bbox[2] <= 180 and -90 <= bbox[1] <= bbox[3] <= 90
    all_collections(admin)


# --- A.2.6 one collection ----------------------------------------------------------------------
def test_conf_core_sfc_md_op_and_success(admin):
    listed = {c["id"]: c for c in document(admin.get("/ogc/collections"))["collections"]}
    for name in all_collections(admin):
        response = admin.get(f"/ogc/collections/{name}")
        assert response.status_code == 200
        assert document(response) == listed[name]


# --- A.2.7 features ----------------------------------------------------------------------------
def test_conf_core_fc_op_and_response(admin):
    for name in all_collections(admin):
        response = admin.get(f"/ogc/collections/{name}/items")
        assert response.status_code == 200, name
        assert response["Content-Type"] == GEOJSON
        page = document(response)
        assert page["type"] == "FeatureCollection"
        assert rel(page["links"], "self") and rel(page["links"], "alternate")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page["timeStamp"])
        assert page["numberMatched"] == Layer.objects.get(name=name).feature_count
        assert page["numberReturned"] == len(page["features"]) <= 10


def test_conf_core_fc_limit_definition():
    api = document(Client().get("/ogc/api"))
    schema = api["components"]["parameters"]["limit"]["schema"]
    assert schema["type"] == "integer" and schema["minimum"] == 1 and schema["maximum"] >= 1000


def test_conf_core_fc_limit_response(admin):
    for name in all_collections(admin):
        count = Layer.objects.get(name=name).feature_count
        for limit in (1, 2, 10000):
            page = document(admin.get(f"/ogc/collections/{name}/items?limit={limit}"))
            assert page["numberReturned"] == min(limit, count)
        # Beyond the maximum: capped, not refused.
        page = document(admin.get(f"/ogc/collections/{name}/items?limit=999999"))
        assert page["numberReturned"] == min(count, 10000)


def test_conf_core_fc_bbox_definition_and_response(admin):
    api = document(admin.get("/ogc/api"))
    assert api["components"]["parameters"]["bbox"]["schema"]["minItems"] == 4
    # A box over Guérande's town centre: only features meeting it; one over the Alps: none.
    for name in all_collections(admin):
        inside = document(admin.get(f"/ogc/collections/{name}/items?limit=10000&"
                                    "bbox=-2.44,47.31,-2.41,47.34"))
        everything = document(admin.get(f"/ogc/collections/{name}/items?limit=10000"))
        assert inside["numberMatched"] <= everything["numberMatched"]
        assert inside["numberMatched"] == len(inside["features"])
        alps = document(admin.get(f"/ogc/collections/{name}/items?bbox=6,45,7,46"))
        assert alps["numberMatched"] == 0 and alps["features"] == []
    communes = document(admin.get("/ogc/collections/communes/items?bbox=-2.44,47.31,-2.41,47.34"))
    assert {f["properties"]["nom"] for f in communes["features"]} == {"Guérande"}


def test_conf_core_fc_time_definition_and_response(admin):
    api = document(admin.get("/ogc/api"))
    assert "datetime" in api["components"]["parameters"]
    for name in all_collections(admin):
        for value in ("2020-01-01T00:00:00Z", "../2030-01-01", "2000-01-01/.."):
            assert admin.get(f"/ogc/collections/{name}/items?datetime={value}").status_code == 200
        assert admin.get(f"/ogc/collections/{name}/items?datetime=hier").status_code == 400


def test_conf_core_fc_links_next_pages_give_every_feature_once(admin):
    for name in all_collections(admin):
        features, pages, matched = every_feature(admin, f"/ogc/collections/{name}/items?limit=7")
        ids = [f["id"] for f in features]
        assert len(ids) == len(set(ids)) == matched == Layer.objects.get(name=name).feature_count
        assert pages == max(1, -(-matched // 7))


def test_conf_core_fc_rel_type_prev(admin):
    page = document(admin.get("/ogc/collections/communes/items?limit=5"))
    second = document(admin.get(local(rel(page["links"], "next")[0]["href"])))
    previous = document(admin.get(local(rel(second["links"], "prev")[0]["href"])))
    assert [f["id"] for f in previous["features"]] == [f["id"] for f in page["features"]]


# --- A.2.8 one feature -------------------------------------------------------------------------
def test_conf_core_f_op_and_success(admin):
    for name in all_collections(admin):
        features = document(admin.get(f"/ogc/collections/{name}/items?limit=3"))["features"]
        for feature in features:
            response = admin.get(f"/ogc/collections/{name}/items/{feature['id']}")
            assert response.status_code == 200
            one = document(response)
            assert one["type"] == "Feature" and one["id"] == feature["id"]
            assert one["properties"] == feature["properties"]
            assert rel(one["links"], "self") and rel(one["links"], "collection")
            assert response["ETag"]
        assert admin.get(f"/ogc/collections/{name}/items/999999999").status_code == 404


# --- GeoJSON, HTML, OpenAPI 3.0 ------------------------------------------------------------------
def test_conf_geojson_content(admin):
    for name in all_collections(admin):
        for feature in document(admin.get(f"/ogc/collections/{name}/items?limit=5"))["features"]:
            assert set(feature) >= {"type", "id", "geometry", "properties"}
            assert feature["geometry"] is None or feature["geometry"]["type"] in (
                "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                "MultiPolygon")


def test_conf_html_content(admin):
    for url in ("/ogc/?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html",
                "/ogc/collections/communes?f=html", "/ogc/collections/communes/items?f=html",
                "/ogc/collections/communes/items/1?f=html", "/ogc/api?f=html"):
        response = admin.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        assert b'<html lang="fr"' in body(response)
    browser = admin.get("/ogc/collections", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert browser["Content-Type"].startswith("text/html")


def test_conf_oas30_oas_impl_every_path_answers(admin):
    api = document(admin.get("/ogc/api"))
    feature = document(admin.get("/ogc/collections/communes/items?limit=1"))["features"][0]
    for path, operations in api["paths"].items():
        url = "/ogc" + path.replace("{collectionId}", "communes").replace(
            "{featureId}", str(feature["id"])).replace("{tileMatrixSetId}", "WebMercatorQuad")
        url = url.replace("{styleId}", "default")
        url = url.replace("{tileMatrix}/{tileRow}/{tileCol}", "12/1434/2020")
        assert admin.get(url).status_code == 200, url


def test_unknown_collection_and_bad_parameters_answer_ogc_api_exceptions():
    client = Client()
    for url, status in (("/ogc/collections/nexiste_pas", 404),
                        ("/ogc/collections/nexiste_pas/items", 404),
                        ("/ogc/collections/communes/items?limit=0", 400),
                        ("/ogc/collections/communes/items?limit=abc", 400),
                        ("/ogc/collections/communes/items?bbox=1,2,3", 400),
                        ("/ogc/collections/communes/items?bbox=1,2,NaN,4", 400),
                        ("/ogc/collections/communes/items?inconnu=1", 400),
                        ("/ogc/collections/communes/items?f=xml", 400),
                        ("/ogc/nexiste-pas", 404)):
        response = client.get(url)
        assert response.status_code == status, url
        payload = document(response)
        assert payload["code"] and payload["description"], url


def test_a_catalogue_layer_without_its_table_is_neither_listed_nor_served():
    from layers.models import AccessRule, Audience, Permission

    layer = Layer.objects.create(name="sans_table", title="Couche sans table")
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    client = Client()
    assert "sans_table" not in collection_ids(client)
    for url in ("/ogc/collections/sans_table", "/ogc/collections/sans_table/items",
                "/ogc/collections/sans_table/items/1"):
        response = client.get(url)
        assert response.status_code == 404 and document(response)["code"] == "NotFound"
