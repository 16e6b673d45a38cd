"""OGC API – Features Part 3: queryables, CQL2 text and JSON filters (basic, advanced
comparisons, spatial, temporal comparisons), filter-crs, property query parameters; each result
compared with the rows the same condition selects among every feature."""
import json

import pytest
from django.test import Client

from .support import EPSG, document, login

pytestmark = pytest.mark.django_db
ITEMS = "/ogc/collections/communes/items"


@pytest.fixture
def client():
    return Client()


def every(client):
    return document(client.get(ITEMS + "?limit=1000"))["features"]


def names(client, **params):
    response = client.get(ITEMS, {"limit": 1000, **params})
    assert response.status_code == 200, response.content[:300]
    page = document(response)
    assert page["numberMatched"] == len(page["features"])
    return {f["properties"]["nom"] for f in page["features"]}


def test_queryables_list_the_readable_properties_with_their_types(client):
    response = client.get("/ogc/collections/communes/queryables")
    assert response["Content-Type"] == "application/schema+json"
    schema = document(response)
    assert schema["properties"]["population"]["type"] == "integer"
    assert schema["properties"]["nom"]["type"] == "string"
    assert schema["properties"]["geom"]["format"] == "geometry-any"
    link = [l for l in document(client.get("/ogc/collections/communes"))["links"]
            if l["rel"].endswith("/queryables")]
    assert link and link[0]["href"].endswith("/communes/queryables")


@pytest.mark.parametrize("text, keep", [
    ("population > 5000", lambda p: p["population"] > 5000),
    ("population >= 2095 AND population < 4593",
     lambda p: 2095 <= p["population"] < 4593),
    ("nom = 'Guérande' OR nom = 'Batz-sur-Mer'", lambda p: p["nom"] in ("Guérande",
                                                                         "Batz-sur-Mer")),
    ("NOT (population <= 3000)", lambda p: not p["population"] <= 3000),
    ("nom LIKE 'La %'", lambda p: p["nom"].startswith("La ")),
    ("population BETWEEN 1000 AND 3000", lambda p: 1000 <= p["population"] <= 3000),
    ("insee IN ('44069', '44055')", lambda p: p["insee"] in ("44069", "44055")),
    ("departement IS NULL", lambda p: p["departement"] is None),
    ("CASEI(nom) = casei('GUÉRANDE')", lambda p: p["nom"].lower() == "guérande"),
])
def test_cql2_text_filters_select_exactly_the_matching_rows(client, text, keep):
    expected = {f["properties"]["nom"] for f in every(client) if keep(f["properties"])}
    assert names(client, filter=text) == expected
    assert names(client, **{"filter": text, "filter-lang": "cql2-text"}) == expected


def test_cql2_json_filters(client):
    expected = {f["properties"]["nom"] for f in every(client)
                if f["properties"]["population"] > 5000 and f["properties"]["nom"] != "Guérande"}
    query = {"op": "and", "args": [
        {"op": ">", "args": [{"property": "population"}, 5000]},
        {"op": "<>", "args": [{"property": "nom"}, "Guérande"]}]}
    assert names(client, **{"filter": json.dumps(query), "filter-lang": "cql2-json"}) == expected


def test_spatial_filters_in_crs84_and_in_another_filter_crs(client):
    point = "POINT(-2.4286 47.3281)"  # Guérande's town centre
    assert names(client, filter=f"S_INTERSECTS(geom, {point})") == {"Guérande"}
    assert names(client, filter="S_INTERSECTS(geom, BBOX(-2.44,47.31,-2.41,47.34))") == {
        "Guérande"}
    from pyproj import Transformer
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:2154", always_xy=True).transform(-2.4286,
                                                                                     47.3281)
    assert names(client, **{"filter": f"S_INTERSECTS(geom, POINT({x} {y}))",
                            "filter-crs": EPSG + "2154"}) == {"Guérande"}
    assert names(client, **{"filter": "S_INTERSECTS(geom, POINT(47.3281 -2.4286))",
                            "filter-crs": EPSG + "4326"}) == {"Guérande"}
    everything = {f["properties"]["nom"] for f in every(client)}
    assert names(client, filter=f"NOT S_INTERSECTS(geom, {point})") == everything - {"Guérande"}
    geojson = {"op": "s_intersects", "args": [{"property": "geom"},
                                              {"type": "Point", "coordinates": [-2.4286, 47.3281]}]}
    assert names(client, **{"filter": json.dumps(geojson), "filter-lang": "cql2-json"}) == {
        "Guérande"}


def test_property_query_parameters_from_the_queryables(client):
    assert names(client, nom="Guérande") == {"Guérande"}
    assert names(client, insee=["44069", "44055"]) == {"Guérande", "La Baule-Escoublac"}


@pytest.mark.parametrize("params", [
    {"filter": "population >"},
    {"filter": "inconnue = 3"},
    {"filter": "population = 'beaucoup'"},
    {"filter": "{pas du json", "filter-lang": "cql2-json"},
    {"filter": "population = 1", "filter-lang": "ecql"},
    {"filter": "S_INTERSECTS(geom, POINT(1 2))", "filter-crs": "EPSG:1234"},
    {"filter": "S_INTERSECTS(population, POINT(1 2))"},
    {"filter": "nom LIKE 'a' AND " * 3000 + "nom = 'x'"},
    {"population": "beaucoup"},
    {"filter": "S_INTERSECTS(geom, BBOX(1,2,3))"},
])
def test_bad_filters_answer_400_with_a_message(client, params):
    response = client.get(ITEMS, params)
    assert response.status_code == 400, (params, response.content[:200])
    assert document(response)["description"]


def test_filter_on_a_restricted_users_rows_never_leaves_them(access_scenario):
    client = login(Client(), "agent.labaule")
    page = document(client.get("/ogc/collections/acces_territoire/items",
                               {"filter": "code_insee = '44069' OR code_insee = '44055'"}))
    assert {f["properties"]["code_insee"] for f in page["features"]} == {"44055"}
    assert page["numberMatched"] == 1
