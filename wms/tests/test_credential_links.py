"""A personal token given in the URL (?token=, ?access_token=) authenticates the request and is
then removed from it: no generated link (WFS next/previous, capabilities OnlineResource, REST
pagination, MapProxy URLs) carries it, so a document forwarded or cached never hands the
credential on. Following a link with the token in a header keeps working."""
import json
import re

import pytest

from accounts.models import User
from accounts.tokens import create_token
from layers.models import AccessRule, Audience, Permission

from .wfs_support import PARCELS, make_parcels


WFS = "/ows?SERVICE=WFS&REQUEST="
URLS = [
    WFS + f"GetFeature&VERSION=2.0.0&TYPENAMES={PARCELS}&COUNT=5&STARTINDEX=5",
    WFS + f"GetFeature&VERSION=2.0.0&TYPENAMES={PARCELS}&COUNT=5&STARTINDEX=5"
          "&OUTPUTFORMAT=application/json",
    WFS + f"GetPropertyValue&VERSION=2.0.0&TYPENAMES={PARCELS}&VALUEREFERENCE=nom&COUNT=5"
          "&STARTINDEX=5",
    WFS + "GetCapabilities&VERSION=2.0.0",
    WFS + "GetCapabilities&VERSION=1.1.0",
    WFS + f"GetFeature&VERSION=1.1.0&TYPENAME={PARCELS}&MAXFEATURES=5",
    WFS + f"DescribeFeatureType&VERSION=2.0.0&TYPENAMES={PARCELS}",
    "/ows?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0",
    "/ows?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1",
    "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml",
    "/mapproxy/service?SERVICE=WMTS&REQUEST=GetCapabilities",
    "/mapproxy/tms/1.0.0/",
    f"/mapproxy/tms/1.0.0/{PARCELS}/GoogleMapsCompatible",
    "/api/layers/?limit=1&offset=1",  # pagination links (the layer is on another page)
    f"/api/layers/{PARCELS}/",
    f"/api/layers/{PARCELS}/features?limit=5&offset=5",
]


@pytest.fixture
def parcels(wms_world, settings, tmp_path):
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"
    layer = make_parcels(rules=[])
    layer.cacheable = True
    layer.save()
    # Visible to signed-in users only: the token is what makes the layer appear.
    AccessRule.objects.create(layer=layer, audience=Audience.AUTHENTICATED,
                              permission=Permission.DOWNLOAD)
    return layer


@pytest.fixture
def token():
    return create_token(User.objects.get(username="agent.labaule"), "QGIS")[1]


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def leaks(client, url, name, token):
    """The URL answered with the token in parameter `name`: what of it the document carries."""
    response = client.get(f"{url}&{name}={token}" if "?" in url else f"{url}?{name}={token}")
    text = body(response)
    assert response.status_code == 200, (url, text[:500])
    # The token did authenticate: the layer (visible to signed-in users only) is there.
    assert PARCELS in text or url.startswith("/api/layers/?"), url
    return token in text or bool(re.search(r"[?&;](access_)?token=", text, re.I))


def test_url_token_never_copied_into_a_document(client, parcels, token):
    assert [url for url in URLS if leaks(client, url, "token", token)] == []


@pytest.mark.parametrize("name", ["access_token", "TOKEN", "Access_Token"])
def test_every_spelling_of_the_parameter_is_removed(client, parcels, token, name):
    assert [url for url in URLS[:3] + URLS[-3:] if leaks(client, url, name, token)] == []


def test_wfs_next_link_pages_on_with_the_token_in_a_header(client, parcels, token):
    first = client.get(WFS + f"GetFeature&VERSION=2.0.0&TYPENAMES={PARCELS}&COUNT=5"
                       f"&OUTPUTFORMAT=application/json&token={token}")
    page = json.loads(body(first))
    links = {link["rel"]: link["href"] for link in page["links"]}
    assert len(page["features"]) == 5 and token not in links["next"]
    second = client.get(links["next"].replace("http://testserver", ""),
                        headers={"Authorization": f"Bearer {token}"})
    following = json.loads(body(second))
    assert len(following["features"]) == 5
    assert {f["id"] for f in following["features"]}.isdisjoint(f["id"] for f in page["features"])


def test_gml_links_and_rest_links_are_otherwise_intact(client, parcels, token):
    gml = body(client.get(WFS + f"GetFeature&VERSION=2.0.0&TYPENAMES={PARCELS}&COUNT=5"
                          f"&STARTINDEX=5&token={token}"))
    links = dict(re.findall(r'(next|previous)="([^"]+)"', gml))
    assert set(links) == {"next", "previous"}
    assert "STARTINDEX=10" in links["next"] and "STARTINDEX=0" in links["previous"]
    assert f"TYPENAMES={PARCELS}" in links["next"]
    rest = json.loads(body(client.get(f"/api/layers/{PARCELS}/features?limit=5&offset=5"
                                      f"&token={token}")))
    assert "offset=10" in rest["next"] and "offset=0" in rest["previous"]
    assert token not in json.dumps(rest)


def test_a_url_token_is_removed_even_when_invalid(client, parcels):
    response = client.get("/api/layers/?limit=1&token=cg_faux")
    assert response.status_code == 401 and b"cg_faux" not in response.content
