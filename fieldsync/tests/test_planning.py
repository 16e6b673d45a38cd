"""Planning by map selection: the drawn zone (WGS 84 or Lambert-93), PostGIS selection within the
SPANC scope, the preview endpoint, the installations map layer and the campaign form."""
import json

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import Role, User
from territory.models import Commune
from fieldsync.models import Campaign, Control, ControlKind, ControlStatus
from fieldsync.planning import parse_area, select_installations

from . import manager_data
from .conftest import GUERANDE, LA_BAULE, make_installation, user

pytestmark = pytest.mark.django_db


def square(center, half, srid=4326):
    x, y = center
    ring = [[x - half, y - half], [x + half, y - half], [x + half, y + half],
            [x - half, y + half], [x - half, y - half]]
    geometry = {"type": "Polygon", "coordinates": [ring]}
    if srid == 2154:
        geometry["crs"] = {"type": "name", "properties": {"name": "EPSG:2154"}}
    return geometry


@pytest.fixture
def places(db):
    """Three Guérande installations 300 m apart on a line, one in La Baule."""
    commune = Commune.objects.get(insee=GUERANDE)
    origin = commune.geom.point_on_surface
    made = {}
    for index, name in enumerate(("west", "middle", "east")):
        installation = make_installation(GUERANDE, f"{name} de Guérande")
        installation.location = Point(origin.x + 300 * (index - 1), origin.y, srid=2154)
        installation.save()
        made[name] = installation
    made["baule"] = make_installation(LA_BAULE, "3 allée des Pins")
    return made


def logged(username):
    client = Client()
    client.force_login(user(username))
    return client


def preview(client, **payload):
    return client.post("/spanc/campagnes/selection/", payload, content_type="application/json")


def test_zone_in_wgs84_or_lambert93_reads_the_same(places):
    middle = places["middle"].location
    l93 = parse_area(json.dumps(square((middle.x, middle.y), 150, srid=2154)))
    assert l93.srid == 2154 and l93.geom_type == "MultiPolygon"
    wgs = middle.transform(4326, clone=True)
    w84 = parse_area(json.dumps({"type": "Feature", "properties": {},
                                 "geometry": square((wgs.x, wgs.y), 0.0015)}))
    assert w84.srid == 2154 and w84.contains(middle)
    collection = parse_area(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square((wgs.x, wgs.y), 0.001)},
        {"type": "Feature", "geometry": square((wgs.x + 0.01, wgs.y), 0.001)}]}))
    assert collection.num_geom == 2


@pytest.mark.parametrize("text, message", [
    ("{pas du json", "polygone GeoJSON lisible"),
    (json.dumps({"type": "Point", "coordinates": [-2.4, 47.3]}), "Un polygone est attendu"),
    (json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
     "se recoupe"),
    # Lambert-93 coordinates without saying so: not degrees.
    (json.dumps(square((290000, 6700000), 100)), "crs"),
    (json.dumps({**square((290000, 6700000), 100),
                 "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}),
     "non pris en charge"),
    (json.dumps(square((5000000, 6700000), 100, srid=2154)), "hors de la France"),
    (json.dumps({"type": "Polygon", "coordinates": "abc"}), "mal formé"),
])
def test_bad_zones_get_a_french_message(db, text, message):
    with pytest.raises(ValidationError) as raised:
        parse_area(text)
    assert message in " ".join(raised.value.messages)


def test_postgis_selects_installations_within_the_zone_in_the_managers_scope(places):
    middle = places["middle"].location
    area = parse_area(json.dumps(square((middle.x, middle.y), 400, srid=2154)))  # 3 of them
    manager = user("responsable.spanc")
    assert set(select_installations(manager, area=area)) == {
        places["west"], places["middle"], places["east"]}
    narrow = parse_area(json.dumps(square((middle.x, middle.y), 100, srid=2154)))
    assert list(select_installations(manager, area=narrow)) == [places["middle"]]
    # An installation with a control already open is not planned twice.
    manager_data.control(places["west"], status=ControlStatus.ASSIGNED)
    assert set(select_installations(manager, area=area)) == {places["middle"], places["east"]}
    # Zone and communes together: both apply.
    la_baule = Commune.objects.get(insee=LA_BAULE)
    assert list(select_installations(manager, [la_baule], area)) == []
    # A manager attached to La Baule sees nothing of Guérande, even inside the drawn zone.
    baule_manager = User.objects.create_user("spanc.baule", role=Role.SPANC_MANAGER,
                                             commune=la_baule)
    assert list(select_installations(baule_manager, area=area)) == []


def test_preview_endpoint(places):
    middle = places["middle"].location
    client = logged("responsable.spanc")
    answer = preview(client, area=square((middle.x, middle.y), 100, srid=2154))
    assert answer.status_code == 200
    assert answer.json() == {"count": 1, "ids": [str(places["middle"].uuid)]}
    wgs = middle.transform(4326, clone=True)
    answer = preview(client, area=json.dumps(square((wgs.x, wgs.y), 0.0055)))   # text, ~430 m
    assert answer.json()["count"] == 3
    assert preview(client, communes=[LA_BAULE]).json()["ids"] == [str(places["baule"].uuid)]
    assert preview(client).json() == {"count": 0, "ids": []}


def test_preview_refusals_are_french_and_never_500(places):
    client = logged("responsable.spanc")
    bad = client.post("/spanc/campagnes/selection/", "[", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    assert preview(client, area={"type": "Point", "coordinates": [1, 2]}).status_code == 400
    assert "ressort" in preview(client, communes=["99999"]).json()["error"]
    assert "Date invalide" in preview(client, communes=[GUERANDE],
                                      due_before="2025-02-30").json()["error"]
    scoped = User.objects.create_user("spanc.baule", role=Role.SPANC_MANAGER,
                                      commune=Commune.objects.get(insee=LA_BAULE))
    other = Client()
    other.force_login(scoped)
    assert "ressort" in preview(other, communes=[GUERANDE]).json()["error"]
    assert preview(logged("agent.guerande"), communes=[GUERANDE]).status_code == 403
    assert preview(logged("controleur.spanc"), communes=[GUERANDE]).status_code == 403
    anonymous = preview(Client(), communes=[GUERANDE])
    assert anonymous.status_code == 302 and "/connexion/" in anonymous["Location"]
    assert logged("responsable.spanc").get("/spanc/campagnes/selection/").status_code == 405


def test_installations_layer_of_the_planning_map(places):
    manager_data.control(places["east"], status=ControlStatus.SUBMITTED)
    response = logged("responsable.spanc").get("/spanc/campagnes/installations.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    features = {f["id"]: f for f in response.json()["features"]}
    assert set(features) == {str(i.uuid) for i in places.values()}
    east = features[str(places["east"].uuid)]
    assert east["properties"]["en_cours"] is True
    assert features[str(places["west"].uuid)]["properties"]["en_cours"] is False
    lon, lat = east["geometry"]["coordinates"]
    assert -3 < lon < -2 and 47 < lat < 48
    assert "Jeanne Martin" not in response.content.decode()          # no owner on the map
    scoped = User.objects.create_user("spanc.baule", role=Role.SPANC_MANAGER,
                                      commune=Commune.objects.get(insee=LA_BAULE))
    client = Client()
    client.force_login(scoped)
    only = client.get("/spanc/campagnes/installations.geojson").json()["features"]
    assert [f["id"] for f in only] == [str(places["baule"].uuid)]
    assert logged("agent.guerande").get("/spanc/campagnes/installations.geojson").status_code == 403


def test_campaign_form_plans_what_the_preview_showed(places):
    middle = places["middle"].location
    zone = square((middle.x, middle.y), 400, srid=2154)
    client = logged("responsable.spanc")
    shown = preview(client, area=zone, communes=[GUERANDE]).json()
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    page = client.get("/spanc/campagnes/nouvelle/").content.decode()
    assert 'id="planning-map"' in page and "vendor/ol/ol.js" in page
    response = client.post("/spanc/campagnes/nouvelle/", {
        "name": "Secteur du bourg", "kind": kind.pk, "communes": [GUERANDE],
        "area": json.dumps(zone)})
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="Secteur du bourg")
    planned = Control.objects.filter(campaign=campaign)
    assert sorted(str(c.installation.uuid) for c in planned) == sorted(shown["ids"])
    assert shown["count"] == 3 and campaign.area.srid == 2154
    assert {c.status for c in planned} == {ControlStatus.PLANNED}
    bad = client.post("/spanc/campagnes/nouvelle/", {"name": "X", "kind": kind.pk,
                                                      "area": json.dumps(square((0, 0), 1, 2154))})
    assert bad.status_code == 200 and "hors de la France" in bad.content.decode()


def test_campaign_api_reads_the_zone_like_the_map(places):
    middle = places["middle"].location
    client = logged("responsable.spanc")
    created = client.post("/api/sync/campaigns/", {
        "name": "API Lambert-93", "kind": "bon_fonctionnement",
        "area": square((middle.x, middle.y), 100, srid=2154)}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["planned"] == 1
    broken = client.post("/api/sync/campaigns/", {
        "name": "X", "kind": "bon_fonctionnement",
        "area": {"type": "Polygon", "coordinates": "abc"}}, content_type="application/json")
    assert broken.status_code == 400 and "mal formé" in broken.content.decode()
