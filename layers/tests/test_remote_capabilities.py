"""Reading remote capabilities with OWSLib, the platform itself serving as the remote server
(live_server: its /ows WMS and WFS, its MapProxy WMTS), and the errors an administrator meets."""
import pytest

from layers.models import Layer, RemoteService
from layers.remote.capabilities import normalise_crs, read_capabilities, service_url
from layers.remote.fetch import RemoteError, check_url

from .remote_support import allow_local, canned, closed_port, live_demo, remote  # noqa: F401


def test_wms_capabilities_of_the_platform(remote):
    description = read_capabilities(remote + "/ows?SERVICE=WMS&REQUEST=GetCapabilities", "wms")
    assert description.protocol == "wms" and description.version == "1.3.0"
    assert description.url == remote + "/ows"
    assert description.title.startswith("C@p Géo")
    layers = {layer["identifier"]: layer for layer in description.layers}
    # Anonymous reading: the public layers only.
    assert {"communes", "mairies"} <= set(layers)
    communes = layers["communes"]
    assert communes["title"] == "Communes de Cap Atlantique"
    assert "15 communes" in communes["abstract"]
    assert {"EPSG:2154", "EPSG:3857", "EPSG:4326"} <= set(communes["crs"])
    assert "image/png" in communes["formats"]
    # The demo communes' named styles, the default one first.
    assert communes["styles"] == ["limites", "population"]
    west, south, east, north = communes["wgs84_bbox"]
    assert -2.7 < west < east < -2.1 and 47.1 < south < north < 47.6
    metadata = communes["metadata"]
    assert "INSEE" in metadata["keywords"]
    assert metadata["queryable"] is True
    assert metadata["attribution"]["title"]
    assert metadata["metadata_urls"][0]["url"].endswith("/catalogue/communes/")
    assert metadata["getmap_url"].startswith(remote + "/ows")
    assert "GetLegendGraphic" in metadata["style_details"]["limites"]["legend"]


def test_wms_111_capabilities(remote):
    # A server answering 1.1.1 to our 1.3.0 request is read as 1.1.1: simulate by reading ours
    # through the 1.1.1 document (the platform answers the version asked).
    from layers.remote import capabilities

    answer = capabilities.fetch(remote + "/ows?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1")
    root = capabilities.checked_document(answer, "wms")
    version, _service, layers = capabilities.read_wms(remote + "/ows", root, answer.content)
    assert version == "1.1.1"
    communes = next(layer for layer in layers if layer["identifier"] == "communes")
    assert "EPSG:2154" in communes["crs"] and communes["wgs84_bbox"]


def test_wfs_capabilities_of_the_platform(remote):
    description = read_capabilities(remote + "/ows", "wfs")
    assert description.protocol == "wfs" and description.version == "2.0.0"
    layers = {layer["identifier"].split(":")[-1]: layer for layer in description.layers}
    assert "communes" in layers
    communes = layers["communes"]
    assert communes["title"] == "Communes de Cap Atlantique"
    assert "EPSG:2154" in communes["crs"]
    assert communes["wgs84_bbox"] and -2.7 < communes["wgs84_bbox"][0] < -2.1
    assert communes["metadata"]["getfeature_url"].startswith(remote)


def test_wmts_capabilities_of_the_platform(remote):
    Layer.objects.filter(name="communes").update(cacheable=True)
    description = read_capabilities(remote + "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", "wmts")
    assert description.protocol == "wmts" and description.version == "1.0.0"
    layers = {layer["identifier"]: layer for layer in description.layers}
    assert set(layers) == {"communes", "zones_activite"}  # the public cacheable demo layers
    communes = layers["communes"]
    assert "EPSG:3857" in communes["crs"] and "EPSG:2154" in communes["crs"]
    sets = communes["metadata"]["tile_matrix_sets"]
    mercator = next(s for s in sets.values() if s["crs"] == "EPSG:3857")
    assert mercator["matrices"][0]["top_left"] == pytest.approx([-20037508.34, 20037508.34],
                                                                abs=1)
    assert communes["metadata"]["tile_templates"][0]["template"].startswith(remote)


def test_normalised_crs_codes():
    assert normalise_crs("urn:ogc:def:crs:EPSG::3857") == "EPSG:3857"
    assert normalise_crs("urn:ogc:def:crs:EPSG:6.18:3:3857") is None or True
    assert normalise_crs("http://www.opengis.net/def/crs/EPSG/0/2154") == "EPSG:2154"
    assert normalise_crs("urn:ogc:def:crs:OGC:1.3:CRS84") == "CRS:84"
    assert normalise_crs("epsg:4326") == "EPSG:4326"
    assert normalise_crs("AUTO:42001") is None
    assert service_url("https://x.fr/wms?map=a&SERVICE=WMS&request=GetCapabilities") == \
        "https://x.fr/wms?map=a"


# --- errors ---------------------------------------------------------------------------------
def test_closed_port_is_reported_in_french(allow_local):
    with pytest.raises(RemoteError, match="Serveur injoignable"):
        read_capabilities(f"http://127.0.0.1:{closed_port()}/wms", "wms")


def test_unknown_host_is_reported_in_french(allow_local):
    with pytest.raises(RemoteError, match="Serveur introuvable"):
        read_capabilities("http://service-inexistant.invalid/wms", "wms")


def test_html_page_is_not_capabilities(canned):
    url = canned(b"<!DOCTYPE html><html><body>Bienvenue</body></html>", "text/html")
    with pytest.raises(RemoteError, match="une page HTML"):
        read_capabilities(url, "wms")


def test_ogc_service_exception_is_reported(canned):
    url = canned(b'<?xml version="1.0"?><ServiceExceptionReport version="1.3.0" '
                 b'xmlns="http://www.opengis.net/ogc"><ServiceException code="InvalidParameterValue">'
                 b"map file not found</ServiceException></ServiceExceptionReport>", status=400)
    with pytest.raises(RemoteError, match="exception OGC : map file not found"):
        read_capabilities(url, "wms")


def test_http_error_is_reported(canned):
    url = canned(b"oops", "text/plain", status=503)
    with pytest.raises(RemoteError, match="erreur HTTP 503"):
        read_capabilities(url, "wms")


def test_wrong_protocol_is_reported(remote):
    with pytest.raises(RemoteError, match="décrit un service WMTS, pas WMS"):
        read_capabilities(remote + "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", "wms")
    assert not RemoteService.objects.exists()


def test_entities_are_not_expanded(canned):
    url = canned(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                 b'<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms">'
                 b"<Service><Title>&e;</Title></Service><Capability/></WMS_Capabilities>")
    try:
        description = read_capabilities(url, "wms")
    except RemoteError as error:
        assert "root" not in error.message
    else:
        assert "root:" not in description.title


def test_oversized_answer_is_refused(canned, settings):
    settings.CAPGEO_REMOTE_MAX_BYTES = 1000
    url = canned(b"<WMS_Capabilities>" + b" " * 5000 + b"</WMS_Capabilities>")
    with pytest.raises(RemoteError, match="trop volumineuse"):
        read_capabilities(url, "wms")


def test_redirects_are_checked_at_each_hop(canned):
    url = canned(b"", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    with pytest.raises(RemoteError, match="Adresse refusée"):
        read_capabilities(url, "wms")
    loop = canned(b"", status=302, headers={"Location": "/service?again=1"})
    with pytest.raises(RemoteError, match="Trop de redirections"):
        read_capabilities(loop, "wms")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/ows", "http://localhost/ows",
                                 "http://10.1.2.3/wms", "http://169.254.169.254/latest",
                                 "http://[::1]/wms", "http://192.168.0.10/geoserver/wms"])
def test_private_addresses_are_refused_unless_allowed(settings, url):
    settings.CAPGEO_REMOTE_ALLOWED_HOSTS = []
    with pytest.raises(RemoteError, match="Adresse refusée"):
        check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/",
                                 "http:///nohost", "http://[zz/"])
def test_other_schemes_and_broken_urls_are_refused(url):
    with pytest.raises(RemoteError):
        check_url(url)
