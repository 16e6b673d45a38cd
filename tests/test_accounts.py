"""People and roles: demo accounts, memberships, logins, the admin with its offline map."""
import re

import pytest

from accounts.models import Role, User
from territory.demo import demo_accounts

pytestmark = pytest.mark.django_db


def test_one_demo_account_per_role_and_agents_of_two_communes():
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    agent_communes = set(
        User.objects.filter(role=Role.MUNICIPAL_AGENT).values_list("commune__insee", flat=True)
    )
    assert len(agent_communes) >= 2 and None not in agent_communes


def test_memberships_commune_or_intercommunality():
    agent = User.objects.get(username="agent.guerande")
    assert agent.commune.name == "Guérande"
    assert agent.organisation_label == "Guérande"
    manager = User.objects.get(username="responsable.spanc")
    assert manager.commune is None
    assert manager.organisation_label == "Cap Atlantique"


def test_gis_admin_role_gives_admin_access():
    user = User.objects.create_user("sig2", password="x-secret-123", role=Role.GIS_ADMIN)
    assert user.is_staff and user.is_gis_admin
    viewer = User.objects.create_user("viewer2", password="x-secret-123", role=Role.VIEWER)
    assert not viewer.is_staff and not viewer.is_gis_admin
    viewer.is_active = False
    assert not viewer.is_gis_admin


@pytest.mark.parametrize("account", demo_accounts(), ids=lambda a: a["username"])
def test_every_demo_account_can_log_in(client, account):
    response = client.post(
        "/connexion/", {"username": account["username"], "password": account["password"]}
    )
    assert response.status_code == 302, response.content[:500]
    home = client.get("/")
    assert account["username"] in home.content.decode() or account["last_name"] in home.content.decode()


def test_wrong_password_is_refused_in_french(client):
    response = client.post("/connexion/", {"username": "agent.guerande", "password": "nope"})
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect" in response.content.decode()


def test_admin_lists_the_communes_with_an_offline_map(client):
    client.login(username="admin.sig", password="demo-capgeo")
    listing = client.get("/admin/territory/commune/")
    assert listing.status_code == 200
    page = listing.content.decode()
    for name in ["Guérande", "La Baule-Escoublac", "Pénestin", "Camoël"]:
        assert name in page
    assert "15 communes" in page
    from territory.models import Commune

    guerande = Commune.objects.get(insee="44069")
    change = client.get(f"/admin/territory/commune/{guerande.pk}/change/").content.decode()
    assert "MultiPolygon" in change and "SRID=" not in change.split("vSerializedField")[0][-50:]
    # OpenLayers and the basemap come from the platform itself, never from a CDN or remote tiles.
    assert "/static/vendor/ol/ol." in change
    # Every address the page loads is the platform's own (a random CSRF token may hold "cdn").
    loaded = re.findall(r'(?:src|href)="([^"]+)"', change)
    assert loaded and all(url.startswith(("/", "#", "?")) for url in loaded), loaded
    assert "openstreetmap" not in change.lower()
    assert "/territoire/communes.geojson" in change


def test_admin_forbidden_to_a_municipal_agent(client):
    client.login(username="agent.guerande", password="demo-capgeo")
    response = client.get("/admin/territory/commune/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
