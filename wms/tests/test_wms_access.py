"""The access policy in the WMS: capabilities, maps, feature info and legends, with the shared
scenario (layers/testing.py). Anonymous requests go through OWSLib; authenticated ones through
Django's test client (OWSLib cannot carry a session)."""
import json

import pytest
import requests
from django.test import Client
from lxml import etree
from owslib.util import ServiceException
from owslib.wms import WebMapService

from territory.models import TownHall
from layers.models import Layer
from layers.testing import GUERANDE, LA_BAULE, SCENARIO_EXPECTED_ROWS, SCENARIO_RULES

from .conftest import RED, image_of, make_style, near, pixel_of

WMS_NS = {"wms": "http://www.opengis.net/wms"}
OGC = "{http://www.opengis.net/ogc}"
SIZE = (300, 300)


def halls():
    return {insee: (h.location.x, h.location.y) for insee, h in (
        (h.commune.insee, h) for h in TownHall.objects.select_related("commune")
        .filter(commune__insee__in=[GUERANDE, LA_BAULE]))}


def scenario_box():
    points = halls().values()
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) - 2000, min(ys) - 2000, max(xs) + 2000, max(ys) + 2000)


def client_for(username):
    client = Client()
    if username != "anonymous":
        from accounts.models import User

        client.force_login(User.objects.get(username=username))
    return client


def capability_names(client):
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities"})
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    return set(root.xpath("//wms:Layer/wms:Name/text()", namespaces=WMS_NS))


def exception_code(response):
    assert response.status_code == 400, response.content[:300]
    return etree.fromstring(response.content).find(OGC + "ServiceException").get("code")


def map_params(layer, request="GetMap", **extra):
    return {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": request, "LAYERS": layer,
            "STYLES": "", "CRS": "EPSG:2154", "BBOX": ",".join(map(str, scenario_box())),
            "WIDTH": SIZE[0], "HEIGHT": SIZE[1], "FORMAT": "image/png", **extra}


@pytest.fixture
def big_points(scenario):
    """Each scenario layer drawn with big red points, so each town hall is a visible disc."""
    for layer in scenario.values():
        make_style(layer, {"kind": "single", "symbol": [
            {"type": "point", "mark": "circle", "size": 30, "fill": RED}]}, name="gros")
    return scenario


def test_anonymous_capabilities_and_refusals_with_owslib(live_server, big_points):
    wms = WebMapService(live_server.url + "/ows", version="1.3.0", timeout=60)
    visible = set(wms.contents) & set(SCENARIO_RULES)
    assert visible == set(SCENARIO_EXPECTED_ROWS["anonymous"])
    box = scenario_box()
    for name in set(SCENARIO_RULES) - visible:
        with pytest.raises(ServiceException, match="LayerNotDefined"):
            wms.getmap(layers=[name], styles=[""], srs="EPSG:2154", bbox=box, size=SIZE,
                       format="image/png")
        with pytest.raises(ServiceException, match="LayerNotDefined"):
            wms.getfeatureinfo(layers=[name], styles=[""], srs="EPSG:2154", bbox=box, size=SIZE,
                               format="image/png", query_layers=[name], xy=(150, 150),
                               info_format="application/json")
        legend = requests.get(live_server.url + "/ows", params={
            "SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "LAYER": name,
            "FORMAT": "image/png"}, timeout=30)
        assert legend.status_code == 400 and b'code="LayerNotDefined"' in legend.content
    # And the public layer is drawn for them.
    image = image_of(wms.getmap(layers=["acces_public"], styles=["gros"], srs="EPSG:2154",
                                bbox=box, size=SIZE, format="image/png").read())
    for x, y in halls().values():
        assert near(image.getpixel(pixel_of(x, y, box, *SIZE)), RED)


@pytest.mark.parametrize("username", sorted(SCENARIO_EXPECTED_ROWS))
def test_each_user_sees_exactly_their_layers_and_rows(big_points, username):
    client = client_for(username)
    expected = SCENARIO_EXPECTED_ROWS[username]
    assert capability_names(client) & set(SCENARIO_RULES) == set(expected)
    box, places = scenario_box(), halls()
    for name in SCENARIO_RULES:
        if name not in expected:
            for request in ("GetMap", "GetFeatureInfo"):
                params = map_params(name, request, QUERY_LAYERS=name, I=1, J=1)
                assert exception_code(client.get("/ows", params)) == "LayerNotDefined"
            legend = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic",
                                         "LAYER": name})
            assert exception_code(legend) == "LayerNotDefined"
            continue
        # Pixels: a red disc exactly at the town halls the user may see.
        response = client.get("/ows", map_params(name, STYLES="gros"))
        assert response["Content-Type"] == "image/png", response.content[:300]
        image = image_of(response.content)
        for insee, (x, y) in places.items():
            drawn = near(image.getpixel(pixel_of(x, y, box, *SIZE)), RED)
            assert drawn is (insee in expected[name]), (username, name, insee)
        # Feature info at each town hall: found only when visible.
        for insee, (x, y) in places.items():
            i, j = pixel_of(x, y, box, *SIZE)
            info = client.get("/ows", map_params(name, "GetFeatureInfo", QUERY_LAYERS=name, I=i,
                                                 J=j, INFO_FORMAT="application/json"))
            found = [f["properties"]["code_insee"] for f in json.loads(info.content)["features"]]
            assert found == ([insee] if insee in expected[name] else []), (username, name, insee)
        legend = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic",
                                     "LAYER": name, "STYLE": "gros"})
        assert legend["Content-Type"] == "image/png"


def test_restricted_rows_never_in_a_multi_layer_map(big_points):
    """La Baule's agent asks for everything at once: Guérande's restricted hall stays hidden."""
    client = client_for("agent.labaule")
    names = ["acces_territoire", "acces_insee"]
    response = client.get("/ows", map_params(",".join(names), STYLES="gros,gros"))
    image = image_of(response.content)
    box, places = scenario_box(), halls()
    assert near(image.getpixel(pixel_of(*places[LA_BAULE], box, *SIZE)), RED)
    assert not near(image.getpixel(pixel_of(*places[GUERANDE], box, *SIZE)), RED)
    x, y = places[GUERANDE]
    i, j = pixel_of(x, y, box, *SIZE)
    for info_format in ("text/html", "application/vnd.ogc.gml", "application/json"):
        info = client.get("/ows", map_params(",".join(names), "GetFeatureInfo", STYLES="gros,gros",
                                             QUERY_LAYERS=",".join(names), I=i, J=j,
                                             FEATURE_COUNT=10, INFO_FORMAT=info_format))
        assert info.status_code == 200
        assert b"Mairie de Gu" not in info.content and b"44069" not in info.content


def test_rules_tightened_are_applied_at_once(big_points):
    """The Map cache is keyed by the row filter: a rule change is effective on the next map."""
    client = client_for("agent.labaule")
    box, places = scenario_box(), halls()
    layer = Layer.objects.get(name="acces_connectes")
    image = image_of(client.get("/ows", map_params("acces_connectes", STYLES="gros")).content)
    assert near(image.getpixel(pixel_of(*places[GUERANDE], box, *SIZE)), RED)
    layer.access_rules.update(row_restriction="commune_territory")
    image = image_of(client.get("/ows", map_params("acces_connectes", STYLES="gros")).content)
    assert not near(image.getpixel(pixel_of(*places[GUERANDE], box, *SIZE)), RED)
    assert near(image.getpixel(pixel_of(*places[LA_BAULE], box, *SIZE)), RED)
