"""A user restricted to his commune's rows sees their count and extent, never the whole layer's
(catalogue pages, REST, WMS and WFS capabilities, the web map's zoom to layer)."""
import json

import pytest
from django.db import connection
from lxml import etree

from accounts.models import User
from layers.extents import clear_cache
from layers.testing import GUERANDE, build_access_scenario

pytestmark = pytest.mark.django_db

RESTRICTED = ("acces_territoire", "acces_insee")
WMS_NS = {"wms": "http://www.opengis.net/wms"}
OWS = "{http://www.opengis.net/ows/1.1}"
WFS = "{http://www.opengis.net/wfs/2.0}"


@pytest.fixture
def scenario():
    clear_cache()
    return build_access_scenario()


def guerande_hall():
    """The Guérande town hall's lon/lat, the only row agent.guerande may see."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(h.location, 4326) p "
                       "FROM territory_townhall h JOIN territory_commune c ON c.id = h.commune_id "
                       "WHERE c.insee = %s) s", [GUERANDE])
        return cursor.fetchone()


def whole_box(name):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                       f"ST_Extent(ST_Transform(geom, 4326)) e FROM layers_data.{name}) s")
        return cursor.fetchone()


def as_user(client, username):
    client.force_login(User.objects.get(username=username))
    return client


def assert_his_box(box, lon, lat):
    """A single point's box (padded by 1e-5°): his town hall, not the layer's two."""
    assert box[0] == pytest.approx(lon, abs=2e-5) and box[2] == pytest.approx(lon, abs=2e-5)
    assert box[1] == pytest.approx(lat, abs=2e-5) and box[3] == pytest.approx(lat, abs=2e-5)


@pytest.mark.parametrize("name", RESTRICTED)
def test_catalogue_pages_show_his_rows_count_and_extent(client, scenario, name):
    lon, lat = guerande_hall()
    tree = etree.HTML(as_user(client, "agent.guerande").get(f"/catalogue/{name}/").content)
    count = tree.xpath("//dt[normalize-space()=\"Nombre d'objets\"]/following-sibling::dd[1]")
    assert count[0].text.strip() == "1"
    extent = [float(v) for v in tree.xpath("//*[@id='catalogue-map']/@data-extent")[0].split(",")]
    assert_his_box(extent, lon, lat)
    listing = etree.HTML(client.get("/catalogue/", {"q": ""}).content)
    card = listing.xpath(f"//li[.//a[@href='/catalogue/{name}/']]")[0]
    objects = card.xpath(".//dt[normalize-space()='Objets']/following-sibling::dd[1]")[0]
    assert objects.text.strip().startswith("1 ")
    # Someone of the intercommunality sees both rows.
    tree = etree.HTML(as_user(client, "controleur.spanc").get(f"/catalogue/{name}/").content)
    count = tree.xpath("//dt[normalize-space()=\"Nombre d'objets\"]/following-sibling::dd[1]")
    assert count[0].text.strip() == "2"


@pytest.mark.parametrize("name", RESTRICTED)
def test_rest_layer_detail_and_list_show_his_rows(client, scenario, name):
    lon, lat = guerande_hall()
    detail = as_user(client, "agent.guerande").get(f"/api/layers/{name}/").json()
    assert detail["feature_count"] == 1
    assert_his_box(detail["extent"]["wgs84"], lon, lat)
    listed = {layer["name"]: layer for layer in client.get("/api/layers/").json()["results"]}
    assert listed[name]["feature_count"] == 1
    assert_his_box(listed[name]["extent"]["wgs84"], lon, lat)
    whole = as_user(client, "controleur.spanc").get(f"/api/layers/{name}/").json()
    assert whole["feature_count"] == 2
    assert whole["extent"]["wgs84"] == pytest.approx(list(whole_box(name)), abs=1e-9)


def test_wms_and_wfs_capabilities_advertise_his_rows_box(client, scenario):
    lon, lat = guerande_hall()
    as_user(client, "agent.guerande")
    wms = etree.fromstring(client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                               "VERSION": "1.3.0"}).content)
    wfs = etree.fromstring(client.get("/ows", {"SERVICE": "WFS", "REQUEST": "GetCapabilities",
                                               "VERSION": "2.0.0"}).content)
    for name in RESTRICTED:
        layer = wms.xpath(f"//wms:Layer[wms:Name='{name}']", namespaces=WMS_NS)[0]
        geographic = layer.xpath("wms:EX_GeographicBoundingBox", namespaces=WMS_NS)[0]
        values = {child.tag.split("}")[1]: float(child.text) for child in geographic}
        assert_his_box((values["westBoundLongitude"], values["southBoundLatitude"],
                        values["eastBoundLongitude"], values["northBoundLatitude"]), lon, lat)
        feature_type = [ft for ft in wfs.iter(f"{WFS}FeatureType")
                        if ft.findtext(f"{WFS}Name").endswith(name)][0]
        box = feature_type.find(f"{OWS}WGS84BoundingBox")
        lower = [float(v) for v in box.findtext(f"{OWS}LowerCorner").split()]
        upper = [float(v) for v in box.findtext(f"{OWS}UpperCorner").split()]
        assert_his_box(lower + upper, lon, lat)


def test_web_map_zooms_to_his_rows(client, scenario):
    from layers.extents import WEB_MERCATOR

    config = as_user(client, "agent.guerande").get("/carte/config.json").json()
    entries = {entry["name"]: entry for theme in config["themes"] for entry in theme["layers"]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(h.location, %s) p "
                       "FROM territory_townhall h JOIN territory_commune c ON c.id = h.commune_id "
                       "WHERE c.insee = %s) s", [WEB_MERCATOR, GUERANDE])
        x, y = cursor.fetchone()
    for name in RESTRICTED:
        minx, miny, maxx, maxy = entries[name]["extent"]
        assert minx == pytest.approx(x, abs=2) and maxx == pytest.approx(x, abs=2)
        assert miny == pytest.approx(y, abs=2) and maxy == pytest.approx(y, abs=2)


def test_his_summary_follows_the_data(client, scenario):
    """Cached per process, but keyed on the layer's data date: a change is seen at once."""
    from layers.tables import refresh_layer_metadata

    as_user(client, "agent.guerande")
    assert client.get("/api/layers/acces_insee/").json()["feature_count"] == 1
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO layers_data.acces_insee (code_insee, nom, geom) SELECT "
                       "code_insee, 'Annexe', ST_Translate(geom, 100, 100) FROM "
                       "layers_data.acces_insee WHERE code_insee = %s", [GUERANDE])
    refresh_layer_metadata(scenario["acces_insee"])
    assert client.get("/api/layers/acces_insee/").json()["feature_count"] == 2


@pytest.mark.parametrize("restriction", ["area", "condition"])
def test_a_user_restricted_by_area_or_condition_sees_his_rows_count_and_extent(client, scenario,
                                                                                restriction):
    """Not only commune members are restricted to some rows: a rule's area or attribute condition
    restricts a user of no commune (a contractor) too — his count and extent are his rows'."""
    from django.contrib.gis.geos import MultiPolygon

    from layers.models import AccessRule, Layer, Permission, RuleAudience
    from territory.models import Commune

    layer = Layer.objects.get(name="acces_admins")
    fields = {"area": MultiPolygon(Commune.objects.get(insee=GUERANDE).geom.buffer(1))} \
        if restriction == "area" else \
        {"read_condition": {"column": "code_insee", "op": "=", "value": GUERANDE}}
    contractor = User.objects.create_user("prestataire.zone", password="x")
    rule = AccessRule.objects.create(layer=layer, audience=RuleAudience.USERS,
                                     permission=Permission.VIEW, **fields)
    rule.full_clean()
    rule.users.set([contractor])
    clear_cache()
    lon, lat = guerande_hall()
    client.force_login(contractor)
    detail = client.get("/api/layers/acces_admins/").json()
    assert detail["feature_count"] == 1
    assert_his_box(detail["extent"]["wgs84"], lon, lat)
    tree = etree.HTML(client.get("/catalogue/acces_admins/").content)
    count = tree.xpath("//dt[normalize-space()=\"Nombre d'objets\"]/following-sibling::dd[1]")
    assert count[0].text.strip() == "1"
    response = client.get("/api/layers/acces_admins/features")
    features = json.loads(b"".join(response.streaming_content))["features"]
    assert [f["properties"]["code_insee"] for f in features] == [GUERANDE]
