"""CSRF everywhere for browser sessions, never for desktop credentials (accounts/csrf.py).

A foreign page can make a signed-in browser post anything (a form, or fetch() with text/plain,
which needs no CORS preflight) and the browser adds the session cookie: every unsafe request
authenticated by the session alone must carry the CSRF token, on every endpoint. QGIS, GDAL and
scripts send Basic or a personal token with each request, which a browser never adds on its
own: they post without a token.
"""
import json
import uuid

import pytest
from django.test import Client

from accounts.models import User
from accounts.tokens import create_token
from fieldsync.models import Device
from layers.models import FeatureChange
from layers.testing import GUERANDE, build_access_scenario
from wms.tests.wfs_support import basic, query

pytestmark = pytest.mark.django_db

EDITOR = "controleur.spanc"
LAYER = "acces_spanc"
FOREIGN = {"Origin": "https://attaquant.example"}
TRANSACTION = (
    '<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" version="1.1.0" '
    'xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"><wfs:Insert><capgeo:acces_spanc>'
    f'<capgeo:code_insee>{GUERANDE}</capgeo:code_insee><capgeo:nom>Écrit par %s</capgeo:nom>'
    '<capgeo:geom><gml:Point srsName="urn:ogc:def:crs:EPSG::2154"><gml:pos>290500 6706010'
    '</gml:pos></gml:Point></capgeo:geom></capgeo:acces_spanc></wfs:Insert></wfs:Transaction>')
GET_FEATURE = (
    '<?xml version="1.0" encoding="UTF-8"?><wfs:GetFeature service="WFS" version="2.0.0" '
    'xmlns:wfs="http://www.opengis.net/wfs/2.0"><wfs:Query typeNames="acces_public"/>'
    '</wfs:GetFeature>')


@pytest.fixture
def scenario():
    return build_access_scenario()


def browser(username=EDITOR):
    """A signed-in browser: session cookie, and Django's real CSRF checks."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username=username))
    return client


def names():
    return [name for (name,) in query(f'SELECT nom FROM layers_data."{LAYER}" ORDER BY fid')]


def post_transaction(client, who, **headers):
    return client.post("/ows", data=TRANSACTION % who, content_type="text/plain",
                       headers={**FOREIGN, **headers})


def test_session_cookie_alone_cannot_run_a_wfs_transaction(scenario):
    before, changes = names(), FeatureChange.objects.count()
    response = post_transaction(browser(), "la session")
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("text/xml")
    assert b"ows:ExceptionReport" in response.content and b'locator="CSRF"' in response.content
    assert "Jeton CSRF absent ou invalide" in response.content.decode()
    assert names() == before and FeatureChange.objects.count() == changes


def test_session_without_token_same_origin_is_refused_too(scenario):
    # No Origin header at all (an old browser, a form): the token is what counts.
    response = browser().post("/ows", data=TRANSACTION % "la session", content_type="text/xml")
    assert response.status_code == 403 and "Écrit par la session" not in names()


def test_session_with_the_csrf_token_may_edit(scenario):
    client = browser()
    client.get("/carte/")  # a page of the platform sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/ows", data=TRANSACTION % "la page", content_type="text/xml",
                           headers={"X-CSRFToken": token, "Origin": "http://testserver"})
    assert response.status_code == 200, response.content
    assert "Écrit par la page" in names()


def test_basic_authentication_needs_no_csrf_token(scenario):
    client = Client(enforce_csrf_checks=True)
    response = post_transaction(client, "Basic", Authorization=basic(EDITOR))
    assert response.status_code == 200, response.content
    assert b"<wfs:totalInserted>1</wfs:totalInserted>" in response.content
    assert "Écrit par Basic" in names()


@pytest.mark.parametrize("how", ["bearer", "x-api-key", "url"])
def test_personal_token_needs_no_csrf_token(scenario, how):
    _record, text = create_token(User.objects.get(username=EDITOR), "QGIS")
    client = Client(enforce_csrf_checks=True)
    headers, url = dict(FOREIGN), "/ows"
    if how == "bearer":
        headers["Authorization"] = f"Bearer {text}"
    elif how == "x-api-key":
        headers["X-Api-Key"] = text
    else:
        url += f"?token={text}"
    response = client.post(url, data=TRANSACTION % how, content_type="text/plain", headers=headers)
    assert response.status_code == 200, response.content
    assert f"Écrit par {how}" in names()


def test_desktop_credentials_win_over_a_session_cookie(scenario):
    # QGIS's own browser session is irrelevant: the request is authenticated by its Basic header.
    response = post_transaction(browser("lecteur"), "Basic+session", Authorization=basic(EDITOR))
    assert response.status_code == 200 and "Écrit par Basic+session" in names()


def test_anonymous_xml_requests_need_no_token(scenario):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/ows", data=GET_FEATURE, content_type="text/xml", headers=FOREIGN)
    assert response.status_code == 200
    assert b"acces_public" in b"".join(response.streaming_content)


# --- the family: every unsafe endpoint a browser session could be made to call ----------------
def device_body():
    return json.dumps({"id": str(uuid.uuid4()), "name": "Tablette"})


UNSAFE = [
    # (method, path, body, content type, the view's answer to desktop credentials)
    ("post", "/api/sync/devices/", device_body, "text/plain", 201),
    ("post", "/api/sync/push/", lambda: json.dumps({"device": str(uuid.uuid4()), "changes": []}),
     "text/plain", 400),
    ("put", "/api/sync/photos/" + "0" * 64 + "/", lambda: b"x", "image/jpeg", 404),
    ("post", "/api/remote-services/", lambda: json.dumps({"url": "https://example.org/wms"}),
     "text/plain", 415),
    ("post", "/carte/impression/", lambda: json.dumps({"layers": []}), "text/plain", 400),
    ("post", "/mapproxy/service", lambda: "SERVICE=WMTS&REQUEST=GetCapabilities",
     "text/plain", 405),
    ("post", "/ows?SERVICE=WMS&REQUEST=GetMap", lambda: "x", "text/plain", 400),
    # OGC API: the collection is unknown outside the scenario, the view's own 404.
    ("post", "/ogc/collections/acces_public/items", lambda: "x", "text/plain", 404),
]


@pytest.mark.parametrize("method, path, body, content_type, _desktop", UNSAFE,
                         ids=[f"{m} {p}" for m, p, *_rest in UNSAFE])
def test_every_unsafe_endpoint_refuses_a_session_without_token(method, path, body,
                                                                content_type, _desktop):
    devices = Device.objects.count()
    client = browser("admin.sig")  # the most powerful session
    response = getattr(client, method)(path, data=body(), content_type=content_type,
                                       headers=FOREIGN)
    assert response.status_code == 403, (path, response.status_code, response.content[:300])
    text = response.content.decode()
    assert "CSRF" in text
    if "SERVICE=WMS" in path:
        assert "ServiceExceptionReport" in text  # the WMS's own report
    elif path.startswith(("/ows", "/mapproxy/")):
        assert "ows:ExceptionReport" in text
    else:
        assert response["Content-Type"] == "application/json"
        answer = json.loads(text)
        if path.startswith("/ogc/"):
            assert answer["code"] == "PermissionDenied"  # OGC API's exception format
    assert Device.objects.count() == devices


@pytest.mark.parametrize("method, path, body, content_type, desktop", UNSAFE,
                         ids=[f"{m} {p}" for m, p, *_rest in UNSAFE])
def test_every_unsafe_endpoint_accepts_desktop_credentials(method, path, body, content_type,
                                                            desktop):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, data=body(), content_type=content_type,
                                       headers={**FOREIGN, "Authorization": basic("admin.sig")})
    # The view itself answered (its own verdict on the body), not the CSRF guard.
    assert response.status_code == desktop, response.content[:300]


def test_django_views_keep_their_own_csrf_check():
    # Views without csrf_exempt (HTML forms) are Django's CsrfViewMiddleware's, for everyone.
    response = browser("lecteur").post("/compte/", {"name": "volé"}, headers=FOREIGN)
    assert response.status_code == 403
    assert not User.objects.get(username="lecteur").access_tokens.exists()
    response = Client(enforce_csrf_checks=True).post("/tiles/acces_public/0/0/0.mvt",
                                                     headers=FOREIGN)
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
