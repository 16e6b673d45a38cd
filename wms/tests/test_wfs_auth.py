"""Desktop authentication: Basic, personal access tokens (header, X-Api-Key, URL), revocation,
last use, the /compte/ page, and the DRF class for /api/."""
import re

import pytest
from django.utils import timezone

from accounts.models import PersonalAccessToken, User
from accounts.tokens import create_token, hash_token, revoke_token
from layers.testing import build_access_scenario

from .wfs_support import basic

pytestmark = pytest.mark.django_db

CAPS = "/ows?SERVICE=WFS&REQUEST=GetCapabilities"


@pytest.fixture
def scenario():
    return build_access_scenario()


@pytest.fixture
def token():
    user = User.objects.get(username="agent.guerande")
    return create_token(user, "QGIS bureau")


def names(response):
    assert response.status_code == 200, response.content
    return set(re.findall(rb"<Name>capgeo:(acces_\w+)</Name>", response.content))


def test_anonymous_sees_public_layers_only(client, scenario):
    assert names(client.get(CAPS)) == {b"acces_public"}


def test_basic_authentication(client, scenario):
    got = names(client.get(CAPS, headers={"Authorization": basic("agent.guerande")}))
    assert b"acces_guerande" in got


@pytest.mark.parametrize("how", ["bearer", "x-api-key", "token", "access_token"])
def test_token_in_header_or_url(client, scenario, token, how):
    _record, text = token
    url, headers = CAPS, {}
    if how == "bearer":
        headers["Authorization"] = f"Bearer {text}"
    elif how == "x-api-key":
        headers["X-Api-Key"] = text
    else:
        url += f"&{how}={text}"
    assert b"acces_guerande" in names(client.get(url, headers=headers))
    record = PersonalAccessToken.objects.get(token_hash=hash_token(text))
    assert record.last_used_at is not None
    assert timezone.now() - record.last_used_at < timezone.timedelta(minutes=1)


@pytest.mark.parametrize("headers, url", [
    ({"Authorization": basic("agent.guerande", "mauvais")}, CAPS),
    ({"Authorization": "Bearer cg_inconnu"}, CAPS),
    ({"Authorization": "Basic !!pas-du-base64"}, CAPS),
    ({}, CAPS + "&token=cg_inconnu"),
])
def test_invalid_credentials_are_401_ogc_exceptions(client, scenario, headers, url):
    response = client.get(url, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="C@p Géo"')
    assert b"ows:ExceptionReport" in response.content and b'locator="Authorization"' in response.content


def test_revoked_token_is_refused(client, scenario, token):
    record, text = token
    revoke_token(record)
    response = client.get(CAPS, headers={"Authorization": f"Bearer {text}"})
    assert response.status_code == 401


def test_only_the_hash_is_stored(token):
    record, text = token
    assert record.token_hash == hash_token(text) and text not in record.token_hash
    assert text.startswith("cg_") and record.prefix == text[:10] and len(text) > 40


def test_profile_page_creates_once_and_revokes(client):
    user = User.objects.get(username="lecteur")
    client.force_login(user)
    page = client.get("/compte/")
    assert page.status_code == 200 and "Jetons d'accès personnels".encode() in page.content
    created = client.post("/compte/", {"name": "QGIS portable"})
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    text = re.search(rb'<code id="nouveau-jeton">(cg_[\w-]+)</code>', created.content).group(1).decode()
    record = user.access_tokens.get()
    assert record.name == "QGIS portable" and record.token_hash == hash_token(text)
    again = client.get("/compte/")
    assert text.encode() not in again.content and record.prefix.encode() in again.content
    # Another user cannot revoke it.
    other = User.objects.get(username="agent.labaule")
    client.force_login(other)
    assert client.post(f"/compte/jetons/{record.pk}/revoquer/").status_code == 404
    client.force_login(user)
    revoked = client.post(f"/compte/jetons/{record.pk}/revoquer/")
    assert revoked.status_code == 302
    record.refresh_from_db()
    assert record.revoked_at is not None
    client.logout()
    assert client.get(CAPS, headers={"Authorization": f"Bearer {text}"}).status_code == 401


def test_profile_page_needs_login(client):
    response = client.get("/compte/")
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_drf_api_accepts_tokens_and_refuses_bad_ones(client, scenario, token):
    _record, text = token
    ok = client.get("/api/layers/", headers={"Authorization": f"Bearer {text}"})
    assert ok.status_code == 200
    anonymous = client.get("/api/layers/")
    assert len(ok.json().get("results", ok.json())) > len(anonymous.json().get("results", anonymous.json()))
    bad = client.get("/api/layers/", headers={"Authorization": "Bearer cg_faux"})
    assert bad.status_code == 401
