"""WMS service exceptions: every code, both versions' reports, INIMAGE/BLANK, and bad input.

None of these requests draws layer data, so they run in an ordinary (rolled back) transaction.
"""
import pytest
from lxml import etree

from layers.testing import make_vector_layer

from .conftest import PUBLIC_VIEW, image_of, make_style

OGC = "{http://www.opengis.net/ogc}"
BOX = "280000,6690000,300000,6710000"


@pytest.fixture
def layer(db):
    layer = make_vector_layer("wms_erreurs", "POINT", [("nom", "text")],
                              [{"nom": "a", "geom": "POINT(290000 6700000)"}], PUBLIC_VIEW)
    make_style(layer, {"kind": "single", "symbol": [{"type": "point", "fill": "#ff0000"}]},
               name="rouge")
    return layer


@pytest.fixture
def hidden(db):
    return make_vector_layer("wms_cachee", "POINT", [("nom", "text")],
                             [{"nom": "a", "geom": "POINT(290000 6700000)"}], [],
                             queryable=False)


def getmap(**overrides):
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "wms_erreurs",
              "STYLES": "", "CRS": "EPSG:2154", "BBOX": BOX, "WIDTH": "64", "HEIGHT": "64",
              "FORMAT": "image/png"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def getfeatureinfo(**overrides):
    params = getmap(REQUEST="GetFeatureInfo", QUERY_LAYERS="wms_erreurs", I="32", J="32",
                    INFO_FORMAT="application/json")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def report(response, version="1.3.0"):
    """(code, locator, message) of a service exception report."""
    assert response.status_code == 400, response.content[:300]
    if version == "1.3.0":
        assert response["Content-Type"].startswith("text/xml")
        root = etree.fromstring(response.content)
        assert root.tag == OGC + "ServiceExceptionReport" and root.get("version") == "1.3.0"
        exception = root.find(OGC + "ServiceException")
    else:
        assert response["Content-Type"].startswith("application/vnd.ogc.se_xml")
        root = etree.fromstring(response.content, etree.XMLParser(load_dtd=False, no_network=True))
        assert root.tag == "ServiceExceptionReport" and root.get("version") == "1.1.1"
        exception = root.find("ServiceException")
    return exception.get("code"), exception.get("locator"), exception.text


CASES = [
    # (parameters, expected code, locator)
    (getmap(LAYERS="inconnue"), "LayerNotDefined", "LAYERS"),
    (getmap(LAYERS="wms_erreurs,"), "LayerNotDefined", "LAYERS"),
    (getmap(STYLES="n_existe_pas"), "StyleNotDefined", "STYLES"),
    (getmap(STYLES="<script>,'; DROP TABLE x"), "StyleNotDefined", "STYLES"),
    # NUL is refused in every parameter before the WMS reads it (platform_web.input_guard).
    (getmap(STYLES="\x00\x01garbage"), "InvalidParameterValue", "STYLES"),
    (getmap(STYLES="\x01garbage"), "StyleNotDefined", "STYLES"),
    (getmap(CRS="EPSG:9999"), "InvalidCRS", "CRS"),
    (getmap(CRS="n'importe quoi"), "InvalidCRS", "CRS"),
    (getmap(FORMAT="image/gif"), "InvalidFormat", "FORMAT"),
    (getmap(FORMAT="application/pdf"), "InvalidFormat", "FORMAT"),
    (getmap(LAYERS=None), "MissingParameterValue", "LAYERS"),
    (getmap(CRS=None), "MissingParameterValue", "CRS"),
    (getmap(BBOX=None), "MissingParameterValue", "BBOX"),
    (getmap(FORMAT=None), "MissingParameterValue", "FORMAT"),
    (getmap(REQUEST=None), "MissingParameterValue", "REQUEST"),
    (getmap(BBOX="300000,6690000,280000,6710000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="280000,6710000,300000,6690000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="280000,6690000,280000,6710000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="NaN,6690000,300000,6710000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="280000,6690000,inf,6710000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="280000,6690000,300000"), "InvalidParameterValue", "BBOX"),
    (getmap(BBOX="a,b,c,d"), "InvalidParameterValue", "BBOX"),
    (getmap(WIDTH="0"), "InvalidParameterValue", "WIDTH"),
    (getmap(HEIGHT="100000"), "InvalidParameterValue", "HEIGHT"),
    (getmap(WIDTH="-5"), "InvalidParameterValue", "WIDTH"),
    (getmap(WIDTH="12.5"), "InvalidParameterValue", "WIDTH"),
    (getmap(TRANSPARENT="peut-être"), "InvalidParameterValue", "TRANSPARENT"),
    (getmap(BGCOLOR="rouge"), "InvalidParameterValue", "BGCOLOR"),
    (getmap(SLD_BODY="<garbage"), "InvalidParameterValue", "SLD_BODY"),
    (getmap(SLD="http://example.org/style.sld"), "InvalidParameterValue", "SLD"),
    (getmap(LAYERS=",".join(["wms_erreurs"] * 21), STYLES=""), "InvalidParameterValue", "LAYERS"),
    (getmap(REQUEST="DescribeLayer"), "OperationNotSupported", "REQUEST"),
    (getfeatureinfo(I="64"), "InvalidPoint", "I"),
    (getfeatureinfo(J="-1"), "InvalidPoint", "J"),
    (getfeatureinfo(I="x"), "InvalidPoint", "I"),
    (getfeatureinfo(I=None), "MissingParameterValue", "I"),
    (getfeatureinfo(INFO_FORMAT="image/png"), "InvalidFormat", "INFO_FORMAT"),
    (getfeatureinfo(QUERY_LAYERS="mairies_inconnues"), "LayerNotDefined", "QUERY_LAYERS"),
    (getfeatureinfo(QUERY_LAYERS=None), "MissingParameterValue", "QUERY_LAYERS"),
    (getfeatureinfo(FEATURE_COUNT="beaucoup"), "InvalidParameterValue", "FEATURE_COUNT"),
    ({"SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "LAYER": "wms_erreurs",
      "FORMAT": "image/svg"}, "InvalidFormat", "FORMAT"),
    ({"SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "LAYER": "wms_erreurs",
      "STYLE": "bleu"}, "StyleNotDefined", "STYLE"),
    ({"SERVICE": "WMS", "REQUEST": "GetLegendGraphic"}, "MissingParameterValue", "LAYER"),
]


@pytest.mark.parametrize("params,code,locator", CASES)
def test_exception_codes_1_3_0(client, layer, params, code, locator):
    found, found_locator, message = report(client.get("/ows", params))
    assert (found, found_locator) == (code, locator)
    assert message and message.strip()


def test_french_messages(client, layer):
    _code, _locator, message = report(client.get("/ows", getmap(LAYERS="inconnue")))
    assert message == "Couche inconnue : « inconnue »."
    _code, _locator, message = report(client.get("/ows", getmap(WIDTH="100000")))
    assert "doit être compris entre 1 et 4096 pixels" in message


def test_maximum_size_is_a_setting(client, layer, settings):
    settings.CAPGEO_WMS_MAX_SIZE = 100
    code, locator, message = report(client.get("/ows", getmap(WIDTH="101")))
    assert (code, locator) == ("InvalidParameterValue", "WIDTH") and "100 pixels" in message


def test_layer_not_queryable(client, layer, hidden, admin_user):
    client.force_login(admin_user)
    params = getfeatureinfo(LAYERS="wms_cachee", QUERY_LAYERS="wms_cachee")
    code, locator, message = report(client.get("/ows", params))
    assert (code, locator) == ("LayerNotQueryable", "QUERY_LAYERS")


def test_invalid_srs_and_report_in_1_1_1(client, layer):
    params = getmap(VERSION="1.1.1", CRS=None, SRS="EPSG:27572")
    assert report(client.get("/ows", params), "1.1.1")[:2] == ("InvalidSRS", "SRS")
    params = getmap(VERSION="1.1.1", CRS=None, SRS="EPSG:2154", LAYERS="inconnue")
    assert report(client.get("/ows", params), "1.1.1")[:2] == ("LayerNotDefined", "LAYERS")
    params = getfeatureinfo(VERSION="1.1.1", CRS=None, SRS="EPSG:2154", I=None, J=None,
                            X="10", Y="99")
    assert report(client.get("/ows", params), "1.1.1")[:2] == ("InvalidPoint", "Y")


def test_parameter_names_are_case_insensitive(client, layer):
    params = {k.lower() if i % 2 else k.title(): v for i, (k, v) in enumerate(getmap().items())}
    response = client.get("/ows", {**params, "layers": "inconnue"})
    assert report(response)[0] == "LayerNotDefined"
    response = client.get("/ows", {"service": "wms", "request": "getcapabilities"})
    assert response.status_code == 200 and b"WMS_Capabilities" in response.content


def test_version_negotiation(client, layer):
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities"})
    assert b'<WMS_Capabilities version="1.3.0"' in response.content
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                   "VERSION": "2.0.0"})
    assert b'version="1.3.0"' in response.content
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                   "VERSION": "1.2.0"})
    assert b'<WMT_MS_Capabilities version="1.1.1"' in response.content
    response = client.get("/ows", {"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                   "WMTVER": "1.0.0"})
    assert b'<WMT_MS_Capabilities version="1.1.1"' in response.content


def test_inimage_and_blank(client, layer):
    response = client.get("/ows", getmap(LAYERS="inconnue", EXCEPTIONS="INIMAGE",
                                         WIDTH="200", HEIGHT="100"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = image_of(response.content)
    assert image.size == (200, 100)
    reds = [p for p in image.getcolors(1 << 16) if p[1][0] > 120 and p[1][1] < 60]
    assert reds, "the message is written in red"

    response = client.get("/ows", getmap(LAYERS="inconnue", EXCEPTIONS="BLANK",
                                         BGCOLOR="0x00FF00", FORMAT="image/jpeg"))
    assert response["Content-Type"] == "image/jpeg"
    image = image_of(response.content)
    assert all(abs(a - b) < 8 for a, b in zip(image.getpixel((10, 10)), (0, 255, 0, 255)))

    response = client.get("/ows", getmap(LAYERS="inconnue", EXCEPTIONS="BLANK",
                                         TRANSPARENT="TRUE"))
    assert image_of(response.content).getpixel((5, 5))[3] == 0

    response = client.get("/ows", getmap(VERSION="1.1.1", CRS=None, SRS="EPSG:2154",
                                         LAYERS="inconnue",
                                         EXCEPTIONS="application/vnd.ogc.se_inimage"))
    assert response["Content-Type"] == "image/png"
    # An exception that prevents making the image (bad size) falls back to XML.
    response = client.get("/ows", getmap(WIDTH="0", EXCEPTIONS="INIMAGE"))
    assert report(response)[0] == "InvalidParameterValue"


def test_garbage_never_a_server_error(client, wms_world):
    # Committed (some of these requests are valid and drawn by Mapnik, which reads committed rows).
    make_vector_layer("wms_erreurs", "POINT", [("nom", "text")],
                      [{"nom": "a", "geom": "POINT(290000 6700000)"}], PUBLIC_VIEW)
    garbage = ["", " ", "\x00", "%", "🙂", "a" * 5000, "1,2,3,4,5,6", "-0", "1e400"]
    names = ["BBOX", "WIDTH", "HEIGHT", "CRS", "FORMAT", "LAYERS", "STYLES", "BGCOLOR",
             "TRANSPARENT", "EXCEPTIONS", "VERSION", "I", "J", "FEATURE_COUNT", "INFO_FORMAT"]
    for name in names:
        for value in garbage:
            for params in (getmap(**{name: value}), getfeatureinfo(**{name: value})):
                response = client.get("/ows", params)
                assert response.status_code in (200, 400), (name, value, response.content[:200])
