"""Access rules over REST (/api/rules/): GIS administrators only, JSON errors in French, the same
validation as the admin, and the rights of a user computed by the policy itself."""
import pytest
from django.test import Client

from accounts.models import User
from layers.access import AccessPolicy
from layers.models import AccessRule, Layer, Permission

pytestmark = pytest.mark.django_db


def client_for(username):
    client = Client()
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def test_only_gis_administrators_read_or_change_the_rules():
    for username in (None, "agent.guerande", "responsable.spanc"):
        response = client_for(username).get("/api/rules/")
        assert response.status_code in (401, 403)
        assert "detail" in response.json()
    assert client_for("admin.sig").get("/api/rules/").status_code == 200


def test_create_a_rule_then_the_policy_follows_on_the_next_request():
    admin = client_for("admin.sig")
    agent = User.objects.get(username="agent.guerande")
    source = AccessPolicy.for_user(agent).source("mairies", Permission.VIEW)
    assert "telephone" in source.readable_names()
    response = admin.post("/api/rules/", {
        "layer": "mairies", "audience": "users", "users": ["agent.guerande"], "effect": "deny",
        "priority": 10, "operations": ["download"], "description": "Pas d'export"},
        content_type="application/json")
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["operations"] == ["download"] and rule["users"] == ["agent.guerande"]
    assert Permission.DOWNLOAD not in AccessPolicy.for_user(agent).permissions(
        Layer.objects.get(name="mairies"))
    listed = admin.get("/api/rules/", {"layer": "mairies"}).json()
    assert rule["id"] in [r["id"] for r in listed]
    effective = admin.get("/api/rules/effective/", {"user": "agent.guerande"}).json()
    mairies = next(entry for entry in effective if entry["layer"] == "mairies")
    assert "download" not in mairies["operations"] and "view" in mairies["operations"]
    assert admin.delete(f"/api/rules/{rule['id']}/").status_code == 204
    assert not AccessRule.objects.filter(pk=rule["id"]).exists()


@pytest.mark.parametrize("payload, field", [
    ({"read_condition": {"column": "inconnue", "op": "=", "value": "x"}}, "read_condition"),
    ({"read_condition": {"column": "insee", "op": "; DROP TABLE", "value": "x"}}, "read_condition"),
    ({"columns": {"telephone": "visible"}}, "columns"),
    ({"audience": "users"}, "users"),
    ({"valid_from": "2027-01-02", "valid_until": "2027-01-01"}, "valid_until"),
    ({"area": {"type": "Point", "coordinates": [-2.4, 47.3]}}, "area"),
])
def test_bad_rules_are_refused_in_french_json_and_nothing_is_saved(payload, field):
    before = AccessRule.objects.count()
    body = {"layer": "mairies", "audience": "authenticated", "operations": ["view"], **payload}
    response = client_for("admin.sig").post("/api/rules/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert AccessRule.objects.count() == before


def test_a_rule_area_round_trips_in_wgs84():
    square = {"type": "Polygon", "coordinates": [[[-2.45, 47.30], [-2.40, 47.30],
                                                  [-2.40, 47.34], [-2.45, 47.34],
                                                  [-2.45, 47.30]]]}
    response = client_for("admin.sig").post("/api/rules/", {
        "layer": "mairies", "audience": "authenticated", "operations": ["view"],
        "area": square, "area_mode": "clip"}, content_type="application/json")
    assert response.status_code == 201, response.content
    area = response.json()["area"]
    assert area["type"] == "MultiPolygon"
    assert area["coordinates"][0][0][0] == pytest.approx([-2.45, 47.30], abs=1e-6)
    assert AccessRule.objects.get(pk=response.json()["id"]).area.srid == 2154
