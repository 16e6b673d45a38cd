"""HTTP caching of the OGC services: capabilities validators and 304 (wms.capabilities_revalidation), private
WFS answers, exact WFS pages, and a SERVICE parameter required when the request is ambiguous."""
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils.http import http_date

from accounts.models import User
from layers.models import Audience, Permission, Theme
from layers.testing import build_access_scenario, make_vector_layer

from .wfs_support import basic

pytestmark = pytest.mark.django_db

CAPABILITIES = {
    "wms-1.3.0": "/ows?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0",
    "wms-1.1.1": "/ows?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1",
    "wfs-2.0.0": "/ows?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0",
    "wfs-1.1.0": "/ows?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=1.1.0",
    "wmts-rest": "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml",
    "wmts-kvp": "/mapproxy/service?SERVICE=WMTS&REQUEST=GetCapabilities",
    "tms": "/mapproxy/tms/1.0.0/",
}


@pytest.fixture
def scenario(settings, tmp_path):
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    layers = build_access_scenario()
    for layer in layers.values():
        layer.cacheable = True
        layer.save()
    return layers


def as_user(username=None):
    client = Client()
    if username:
        client.force_login(User.objects.get(username=username))
    return client


def age_catalogue(seconds=30):
    """The current catalogue version as first served `seconds` ago (instead of waiting)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wms_catalogue_seen SET seen_at = seen_at - make_interval("
                       "secs => %s)", [seconds])


def publish(name):
    return make_vector_layer(name, "POINT", [("nom", "text")],
                             [{"nom": "un", "geom": "POINT(290000 6706000)"}],
                             [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
                             cacheable=True)


# --- capabilities: validators and 304 ---------------------------------------------------------
@pytest.mark.parametrize("kind", CAPABILITIES)
def test_capabilities_revalidate_and_see_a_new_layer(scenario, kind):
    url, client = CAPABILITIES[kind], as_user()
    first = client.get(url)
    assert first.status_code == 200, first.content[:300]
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
    assert first["Cache-Control"] == "no-cache, no-store, max-age=0" and first["Expires"]
    assert {"Cookie", "Authorization", "Accept-Language"} <= \
        {v.strip() for v in first["Vary"].split(",")}
    assert b"acces_public" in first.content and b"publiee_apres" not in first.content

    # Unchanged: 304, without a body, with the same validators.
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert again["Cache-Control"] == "no-cache, no-store, max-age=0"
    assert client.get(url, headers={"If-None-Match": f'"autre", W/{etag}'}).status_code == 304

    # Last-Modified, once the catalogue version is older than the current second.
    age_catalogue()
    dated = client.get(url)
    assert dated["ETag"] == etag
    modified = dated["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": http_date(0)}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    assert client.get(url, headers={"If-None-Match": '"autre"',
                                    "If-Modified-Since": modified}).status_code == 200

    # A layer published afterwards: the client's copy is stale, the new document lists it.
    publish("publiee_apres")
    fresh = client.get(url, headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    assert b"publiee_apres" in fresh.content
    assert "Last-Modified" not in fresh or fresh["Last-Modified"] != modified


@pytest.mark.parametrize("kind", ["wms-1.3.0", "wfs-2.0.0", "wmts-rest"])
def test_etag_follows_the_audience(scenario, kind):
    url = CAPABILITIES[kind]
    tags = {}
    for who in (None, "agent.guerande", "agent.labaule", "admin.sig"):
        response = as_user(who).get(url)
        assert response.status_code == 200
        tags[who] = response["ETag"]
        assert response["Cache-Control"] == ("private, " if who else "") + "no-cache, no-store, max-age=0"
    assert len(set(tags.values())) == 4  # different layers, different documents
    # Same audience, same document: anonymous twice, Basic and session of one user.
    assert as_user().get(url)["ETag"] == tags[None]
    basic_client = Client()
    same = basic_client.get(url, headers={"Authorization": basic("agent.guerande")})
    assert same["ETag"] == tags["agent.guerande"]
    # Another user's tag never validates this user's copy.
    refused = as_user("agent.labaule").get(url, headers={"If-None-Match": tags["agent.guerande"]})
    assert refused.status_code == 200 and b"acces_guerande" not in refused.content


def test_etag_follows_rules_styles_and_themes(scenario):
    url, client = CAPABILITIES["wms-1.3.0"], as_user()
    tags = [client.get(url)["ETag"]]
    layer = scenario["acces_connectes"]
    layer.access_rules.update(audience=Audience.PUBLIC)  # now anonymous sees it
    tags.append(client.get(url)["ETag"])
    theme = Theme.objects.get(pk=layer.theme_id)
    theme.name = "Thème renommé"
    theme.save()
    tags.append(client.get(url)["ETag"])
    assert b"Th\xc3\xa8me renomm\xc3\xa9" in client.get(url).content
    assert len(set(tags)) == 3


def test_capabilities_etag_depends_on_the_language_and_the_query(scenario):
    url = CAPABILITIES["wms-1.3.0"]
    french = as_user().get(url)["ETag"]
    english = as_user().get(url, headers={"Accept-Language": "en"})["ETag"]
    lower = as_user().get(url.replace("VERSION=1.3.0", "version=1.1.1"))["ETag"]
    assert len({french, english, lower}) == 3


def test_errors_get_no_validators(scenario):
    response = as_user().get("/ows?SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=9.9.9")
    assert response.status_code == 400 and b"VersionNegotiationFailed" in response.content
    assert "ETag" not in response and "Last-Modified" not in response


# --- SERVICE ------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["REQUEST=GetCapabilities&VERSION=2.0.0",
                                   "REQUEST=GetCapabilities&VERSION=1.3.0",
                                   "REQUEST=GetCapabilities", "request=getcapabilities",
                                   "", "REQUEST=Inconnue"])
def test_ambiguous_requests_need_service(scenario, query):
    response = as_user().get(f"/ows?{query}")
    assert response.status_code == 400
    assert b'exceptionCode="MissingParameterValue"' in response.content
    assert b'locator="service"' in response.content and b"SERVICE" in response.content


def test_operations_of_one_service_name_it(scenario):
    # WFS 2.0 requires SERVICE in KVP itself: its own exception report says so.
    for query in ("REQUEST=DescribeFeatureType&TYPENAMES=acces_public",
                  "REQUEST=GetFeature&TYPENAMES=acces_public&COUNT=1"):
        wfs = as_user().get(f"/ows?{query}")
        assert wfs.status_code == 400 and b"MissingParameterValue" in wfs.content
    # WMS is lenient for its own operations (as before).
    legend = as_user().get("/ows?REQUEST=GetLegendGraphic&VERSION=1.3.0&LAYER=acces_public"
                           "&FORMAT=image/png")
    assert legend.status_code == 200 and legend["Content-Type"] == "image/png"
    missing = as_user().get("/ows?REQUEST=GetMap&VERSION=1.3.0")  # a WMS error, not SERVICE's
    assert missing.status_code == 400 and b"ServiceExceptionReport" in missing.content
    unknown = as_user().get("/ows?SERVICE=WCS&REQUEST=GetCapabilities")
    assert unknown.status_code == 400 and b"InvalidParameterValue" in unknown.content
