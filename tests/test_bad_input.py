"""Hostile input across every URL space: a 400/404/405 in the protocol's own format, never a 500,
and nothing written to the database.

The families enumerated here (endpoints × bad values):
- a NUL character (%00, \\u0000) in a path, a query parameter's name or value, a JSON body or a
  form body (platform_web.input_guard.InputGuardMiddleware);
- numbers that are not finite or absurdly large (NaN, Infinity, 1e400, 10^30) in BBOX, GML
  coordinates, paging, image sizes, tile indices and print requests;
- documents nested too deep (XML filters, JSON bodies);
- malformed WMTS/TMS tile requests (MapProxy);
- errors of the URL resolver and of the framework (404, 405, CSRF, uncaught exceptions) under
  /api/, /ows and /mapproxy/ (platform_web.error_responses).
Formats: an OGC exception report parsable as XML on /ows and /mapproxy/, JSON with a "detail"
message under /api/ and /tiles/ (and the viewer's JSON endpoints), the French HTML page elsewhere.
"""
import base64
import json
import uuid

import pytest
from defusedxml import ElementTree
from django.db import connection
from django.test import Client, RequestFactory

from accounts.models import User

pytestmark = pytest.mark.django_db

OGC, JSON, HTML = "ogc", "json", "html"
NULS = ["a%00b", "%00", "%00%00%00"]
HUGE_INT = "1" + "0" * 30
NOT_FINITE = ["NaN", "nan", "Infinity", "-inf", "1e400"]


@pytest.fixture
def client():
    """A client that answers a crashing view with the 500 response a real server sends."""
    return Client(raise_request_exception=False)


@pytest.fixture(autouse=True)
def tiles_dir(settings, tmp_path):
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"


def url_space(url):
    path = url.split("?")[0]
    if path.startswith(("/ows", "/mapproxy/", "/csw")):
        return OGC
    if path.startswith(("/api/", "/tiles/", "/ogc/")) or path in ("/carte/recherche/",
                                                                 "/carte/impression/"):
        return JSON
    return HTML


def writes():
    """Rows inserted, updated or deleted by this test's transaction so far (rolled back ones
    included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                       "FROM pg_stat_xact_user_tables")
        return cursor.fetchone()[0]


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_error(response, space, statuses=(400,)):
    """The response is a client error in the format of its URL space; returns its message."""
    body = body_of(response)
    assert response.status_code in statuses, (response.status_code, body[:400])
    content_type = response.get("Content-Type", "")
    if space == OGC:
        assert "xml" in content_type, (content_type, body[:300])
        root = ElementTree.fromstring(body, forbid_dtd=False)
        assert root.tag.rpartition("}")[2] in ("ExceptionReport", "ServiceExceptionReport"), body
        texts = [element.text for element in root.iter()
                 if element.tag.rpartition("}")[2] in ("ExceptionText", "ServiceException")]
        assert texts and all(text and text.strip() for text in texts), body
        return texts[0]
    if space == JSON:
        assert content_type.startswith("application/json"), (content_type, body[:300])
        payload = json.loads(body)
        message = payload.get("detail") or payload.get("error")
        assert isinstance(message, str) and message.strip(), payload
        return message
    assert content_type.startswith("text/html"), content_type
    assert b"<html" in body and b"Traceback" not in body
    return body.decode()


def login(client, username="admin.sig"):
    client.force_login(User.objects.get(username=username))
    return client


# --- NUL characters ------------------------------------------------------------------------------

WMTS_KVP = ("/mapproxy/service?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={v}&STYLE=default"
            "&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX=3&TILEROW=0&TILECOL=0&FORMAT=image/png")
WMS_GETMAP = ("/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={v}&STYLES=&CRS=EPSG:3857"
              "&BBOX=0,0,1000,1000&WIDTH=64&HEIGHT=64&FORMAT=image/png")
NUL_URLS = [
    ("/carte/recherche/?q={v}", JSON, None),
    ("/carte/config.json?carte={v}", JSON, None),
    ("/carte/?carte={v}", HTML, None),
    ("/carte/cartes/?{v}=1", HTML, None),
    ("/tiles/{v}/0/0/0.mvt", JSON, None),
    ("/tiles/communes/0/0/0.mvt?x={v}", JSON, None),
    ("/mapproxy/wmts/{v}/GoogleMapsCompatible/3/0/0.png", OGC, None),
    ("/mapproxy/tms/1.0.0/{v}/GoogleMapsCompatible/3/0/0.png", OGC, None),
    (WMTS_KVP, OGC, None),
    ("/api/sync/installations/?commune={v}", JSON, "controleur.spanc"),
    ("/api/sync/changes/?since={v}", JSON, "controleur.spanc"),
    ("/api/sync/push/{v}/", JSON, "controleur.spanc"),
    ("/api/sync/push/6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5b/?x={v}", JSON, "controleur.spanc"),
    ("/api/layers/{v}/", JSON, None),
    ("/api/layers/?search={v}", JSON, None),
    ("/api/layers/communes/features?nom={v}", JSON, None),
    ("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={v}", OGC, None),
    ("/ows?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME=communes&{v}=1", OGC, None),
    (WMS_GETMAP, OGC, None),
    ("/csw?SERVICE=CSW&REQUEST={v}", OGC, None),
    ("/ogc/collections/{v}/items", JSON, None),
    ("/ogc/collections/communes/items?filter=nom%3D%27{v}%27", JSON, None),
    ("/ogc/collections/communes/items?nom={v}", JSON, None),
    ("/ogc/collections/communes/items/{v}", JSON, None),
    ("/ogc/collections/{v}/map", JSON, None),
    ("/ogc/collections/communes/items?sortby={v}", JSON, None),
    ("/ogc/collections/{v}/sortables", JSON, None),
    ("/ogc/collections/communes/map?bgcolor={v}", JSON, None),
    ("/ogc/collections/communes/styles/{v}/map", JSON, None),
    ("/ogc/map?collections={v}", JSON, None),
    ("/ogc/map?crs={v}", JSON, None),
    ("/ogc/collections/communes/tiles/{v}", JSON, None),
    ("/ogc/collections/communes/tiles/LAMB93/0/0/{v}", JSON, None),
    ("/ogc/tileMatrixSets/{v}", JSON, None),
    ("/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&ID={v}", OGC, None),
    ("/catalogue/?q={v}", HTML, None),
    ("/catalogue/{v}/", HTML, None),
    ("/donnees/?q={v}", HTML, None),
    ("/spanc/?commune={v}", HTML, "responsable.spanc"),
    ("/connexion/?next={v}", HTML, None),
]


@pytest.mark.parametrize("value", NULS)
@pytest.mark.parametrize("template, space, username", NUL_URLS,
                         ids=[url.split("?")[0] + "?" + url.partition("?")[2][:30]
                              for url, _s, _u in NUL_URLS])
def test_nul_in_paths_and_query_strings(client, template, space, username, value):
    if username:
        login(client, username)
    before = writes()
    response = client.get(template.format(v=value))
    message = assert_error(response, space)
    if space != HTML:
        assert "U+0000" in message
    assert writes() == before


# (The sync push is not here: the sync protocol rejects the one change holding a NUL, not the
# whole batch — platform_web.input_guard.NUL_CHECKED_PER_ITEM — and its tests say so.)
JSON_BODIES = [
    ("/api/sync/devices/", "controleur.spanc",
     lambda text: {"id": str(uuid.uuid4()), "name": text}),
    ("/api/sync/assignments/", "responsable.spanc", lambda text: {"controls": [text]}),
    ("/carte/impression/", None, lambda text: {"title": text, "bbox": [0, 0, 1000, 1000],
                                                "crs": "EPSG:3857", "layers": []}),
    ("/api/layers/", "admin.sig", lambda text: {"name": "couche_nul", "title": text}),
    ("/api/remote-services/", "admin.sig", lambda text: {"url": "https://example.org/" + text}),
]


@pytest.mark.parametrize("nul", ["\x00", "tr\x00ois", "\\u0000 en clair"],
                         ids=["escape", "inside", "literal-escape"])
@pytest.mark.parametrize("url, username, make", JSON_BODIES, ids=[u for u, _n, _m in JSON_BODIES])
def test_nul_in_json_bodies(client, url, username, make, nul):
    if username:
        login(client, username)
    before = writes()
    if nul.startswith("\\u"):
        # The six characters \u0000 (an escaped backslash in JSON) are not NUL: let through.
        body = json.dumps(make(nul))
        assert "\\\\u0000" in body
    else:
        body = json.dumps(make(nul))  # json.dumps writes NUL as \u0000
        assert "\\u0000" in body
    response = client.post(url, body, content_type="application/json")
    if nul.startswith("\\u"):
        assert response.status_code != 500 and "U+0000" not in body_of(response).decode()
        return
    message = assert_error(response, url_space(url))
    assert "U+0000" in message
    assert writes() == before


def test_raw_nul_byte_in_a_json_body(client):
    login(client, "controleur.spanc")
    before = writes()
    raw = json.dumps({"id": str(uuid.uuid4()), "name": "x"}).replace('"x"', '"x\x00"').encode()
    response = client.post("/api/sync/devices/", raw, content_type="application/json")
    assert "U+0000" in assert_error(response, JSON)
    assert writes() == before


@pytest.mark.parametrize("url", ["/connexion/", "/compte/"])
def test_nul_in_form_bodies(client, url):
    before = writes()
    response = client.post(url, "username=admin.sig%00&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, HTML)
    assert writes() == before


# --- numbers that are not finite or absurdly large ----------------------------------------------

WFS20 = "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&"
WFS110 = "/ows?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME=communes&"
WMS = ("/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=communes&STYLES=&CRS=EPSG:3857"
       "&FORMAT=image/png&")
GFI = ("/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=communes"
       "&QUERY_LAYERS=communes&STYLES=&CRS=EPSG:3857&BBOX=0,0,1000,1000&WIDTH=64&HEIGHT=64"
       "&INFO_FORMAT=application/json&")
# Coordinates: NaN and infinities are refused; a finite one, however large, is a valid box.
BAD_COORDINATE_URLS = [
    (WFS20 + "BBOX={v},0,1,1", OGC),
    (WFS20 + "BBOX=0,0,{v},1", OGC),
    (WFS20 + "BBOX=0,0,1,{v},urn:ogc:def:crs:EPSG::4326", OGC),
    (WFS110 + "BBOX={v},0,1,1", OGC),
    (WMS + "BBOX={v},0,1000,1000&WIDTH=64&HEIGHT=64", OGC),
    ("/api/layers/communes/features?bbox={v},47,-2,48", JSON),
    ("/ogc/collections/communes/map?bbox={v},47,-2,48", JSON),
    ("/ogc/map?bbox=-3,47,-2,{v}", JSON),
    ("/ogc/collections/communes/map?bbox=-3,47,-2,48&scale-denominator={v}", JSON),
]
# Integers: sizes, pixel positions, paging, tile indices.
BAD_NUMBER_URLS = [
    (WMS + "BBOX=0,0,1000,1000&WIDTH={v}&HEIGHT=64", OGC),
    (WMS + "BBOX=0,0,1000,1000&WIDTH=64&HEIGHT={v}", OGC),
    (GFI + "I={v}&J=1", OGC),
    ("/api/layers/communes/features?limit={v}", JSON),
    ("/api/layers/communes/features?offset={v}", JSON),
    ("/ogc/collections/communes/map?width={v}", JSON),
    ("/ogc/map?height={v}", JSON),
    ("/ogc/collections/communes/tiles/LAMB93/{v}/0/0", JSON),
    ("/ogc/collections/communes/tiles/LAMB93/3/{v}/0", JSON),
    ("/mapproxy/service?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=communes&STYLE=default"
     "&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX={v}&TILEROW=0&TILECOL=0&FORMAT=image/png",
     OGC),
    ("/mapproxy/service?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=communes&STYLE=default"
     "&TILEMATRIXSET=GoogleMapsCompatible&TILEMATRIX=3&TILEROW={v}&TILECOL=0&FORMAT=image/png",
     OGC),
]


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize("template, space", BAD_COORDINATE_URLS,
                         ids=[url.partition("?")[2][-45:] for url, _s in BAD_COORDINATE_URLS])
def test_coordinates_that_are_not_finite(client, template, space, value):
    before = writes()
    assert_error(client.get(template.format(v=value)), space)
    assert writes() == before


@pytest.mark.parametrize("value", NOT_FINITE + [HUGE_INT, "-" + HUGE_INT, "1.5", "x"])
@pytest.mark.parametrize("template, space", BAD_NUMBER_URLS,
                         ids=[url.partition("?")[2][-45:] for url, _s in BAD_NUMBER_URLS])
def test_integers_that_are_not_finite_huge_or_not_integers(client, template, space, value):
    before = writes()
    assert_error(client.get(template.format(v=value)), space)
    assert writes() == before


@pytest.mark.parametrize("path", [
    f"/tiles/communes/{HUGE_INT[:12]}/0/0.mvt",
    f"/tiles/communes/3/{HUGE_INT[:12]}/0.mvt",
    "/tiles/communes/3/0/-1.mvt",
])
def test_vector_tile_indices_out_of_the_grid(client, path):
    assert_error(client.get(path), JSON)


@pytest.mark.parametrize("query", [
    f"page={HUGE_INT}", "page=1e400", "page=-1", "page=abc", "page=1&page=2",
])
def test_rest_catalogue_paging(client, query):
    for page in ("/catalogue/", "/donnees/"):  # the HTML catalogues' pagers: the last page
        assert client.get(f"{page}?{query}").status_code == 200
    response = client.get("/api/layers/?" + query)
    if response.status_code == 200:  # a page beyond the end is empty, not an error
        assert isinstance(response.json()["results"], list)
    else:
        assert_error(response, JSON, statuses=(400, 404))


@pytest.mark.parametrize("query", [
    "limit=1&limit=2", "offset=1&offset=x", "bbox=-3,47,-2,48&bbox=x", "f=csv&f=geojson",
])
def test_duplicate_query_parameters(client, query):
    response = client.get("/api/layers/communes/features?" + query)
    assert response.status_code in (200, 400), body_of(response)[:300]
    if response.status_code == 400:
        assert_error(response, JSON)


ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="{gml}">
  <wfs:Query typeNames="communes"><fes:Filter><fes:BBOX>
  <fes:ValueReference>geom</fes:ValueReference>
  <gml:Envelope srsName="urn:ogc:def:crs:EPSG::2154"><gml:lowerCorner>{v} {v}</gml:lowerCorner>
  <gml:upperCorner>300000 6800000</gml:upperCorner></gml:Envelope></fes:BBOX></fes:Filter>
  </wfs:Query></wfs:GetFeature>"""
POLYGON_110 = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:GetFeature service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs"
  xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml">
  <wfs:Query typeName="communes"><ogc:Filter><ogc:Intersects>
  <ogc:PropertyName>geom</ogc:PropertyName>
  <gml:Polygon srsName="EPSG:2154"><gml:exterior><gml:LinearRing><gml:posList>
  0 0 {v} 0 1 1 0 0</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>
  </ogc:Intersects></ogc:Filter></wfs:Query></wfs:GetFeature>"""
INSERT_110 = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:Transaction service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs"
  xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs">
  <wfs:Insert><capgeo:mairies><capgeo:geom><gml:Point srsName="EPSG:2154">
  <gml:pos>{v} 6700000</gml:pos></gml:Point></capgeo:geom></capgeo:mairies></wfs:Insert>
</wfs:Transaction>"""


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize("document", [
    ENVELOPE.replace("{gml}", "http://www.opengis.net/gml/3.2"),
    ENVELOPE.replace("{gml}", "http://www.opengis.net/gml"),
    POLYGON_110, INSERT_110,
], ids=["envelope-gml32", "envelope-gml311", "polygon-wfs110", "insert-wfs110"])
def test_gml_coordinates_that_are_not_finite(client, document, value):
    login(client)  # may edit every layer: the refusal is about the coordinates
    before = writes()
    response = client.post("/ows", document.replace("{v}", value), content_type="text/xml")
    assert "Coordonnée invalide" in assert_error(response, OGC)
    assert writes() == before


def print_body(**fields):
    body = {"title": "Essai", "format": "png", "crs": "EPSG:3857",
            "bbox": [-280000, 5980000, -270000, 5990000], "layers": [{"name": "communes"}]}
    body.update(fields)
    return json.dumps(body)


@pytest.mark.parametrize("body", [
    print_body(bbox=[float("nan"), 0, 1, 1]),
    print_body(bbox=[0, 0, float("inf"), 1]),
    print_body(bbox=[0, 0, 1e308, 1e308]),
    print_body(dpi=10**30),
    print_body(dpi=1e400),
    print_body().replace('"png"', '"png", "dpi": 1e400'),
    print_body(layers=[{"name": "communes", "opacity": float("nan")}]),
])
def test_print_parameters(client, body):
    response = client.post("/carte/impression/", body, content_type="application/json")
    assert_error(response, JSON)


# --- /csw: whatever pycsw is given, an OWS exception report ----------------------------------------

CSW_RECORDS = "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&TYPENAMES=csw:Record&"


def csw_nested_not(depth):
    return ('<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">' + "<ogc:Not>" * depth
            + "<ogc:PropertyIsEqualTo><ogc:PropertyName>dc:title</ogc:PropertyName>"
            "<ogc:Literal>x</ogc:Literal></ogc:PropertyIsEqualTo>" + "</ogc:Not>" * depth
            + "</ogc:Filter>")


@pytest.mark.parametrize("query", [
    "STARTPOSITION=NaN", "STARTPOSITION=1e400", "STARTPOSITION=-1", "STARTPOSITION=" + HUGE_INT,
    "MAXRECORDS=NaN", "MAXRECORDS=-5", "MAXRECORDS=1.5",
    "CONSTRAINTLANGUAGE=CQL_TEXT&CONSTRAINT=" + "(" * 300 + "dc:title%3D%27a%27" + ")" * 300,
    "CONSTRAINTLANGUAGE=CQL_TEXT&CONSTRAINT=BBOX(ows:BoundingBox,1e400,0,1,1)",
    "CONSTRAINTLANGUAGE=CQL_TEXT&CONSTRAINT=BBOX(ows:BoundingBox," + "9" * 400 + ",0,1,1)",
    "CONSTRAINTLANGUAGE=FILTER&CONSTRAINT_LANGUAGE_VERSION=1.1.0&CONSTRAINT=" + csw_nested_not(1000),
    "ELEMENTSETNAME=" + "x" * 5000,
    "OUTPUTSCHEMA=http://nope&ELEMENTSETNAME=full",
])
def test_csw_bad_kvp_answers_an_ows_exception_report(client, query):
    from urllib.parse import quote

    url = CSW_RECORDS + "&".join(
        name + "=" + quote(value, safe=":,()") for name, _eq, value in
        (part.partition("=") for part in query.split("&")))
    assert_error(client.get(url), OGC)


@pytest.mark.parametrize("url", [
    "/csw?SERVICE=CSW&VERSION=3.0.0&REQUEST=GetRecords&TYPENAMES=csw:Record&startPosition=NaN",
    "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetDomain&PROPERTYNAME=" + "x" * 5000,
    "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecordById&ID=" + "x" * 5000,
    "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=DescribeRecord&TYPENAME=x:" + "y" * 1000,
    "/csw?SERVICE=CSW&VERSION=" + "9" * 40 + "&REQUEST=GetCapabilities&ACCEPTVERSIONS=" + "9" * 40,
    "/csw?SERVICE=" + "x" * 2000,
])
def test_csw_other_operations_with_bad_values(client, url):
    response = client.get(url)
    if response.status_code != 200:  # a GetDomain on an unknown property may answer empty
        assert_error(response, OGC)
    else:
        assert b"ExceptionReport" not in body_of(response)


@pytest.mark.parametrize("document", [
    '<?xml version="1.0"?><csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
    'service="CSW" version="2.0.2" resultType="results"><csw:Query typeNames="csw:Record">'
    '<csw:ElementSetName>brief</csw:ElementSetName><csw:Constraint version="1.1.0">'
    + csw_nested_not(1000) + "</csw:Constraint></csw:Query>"
    "</csw:GetRecords>",
    '<?xml version="1.0"?><csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
    'service="CSW" version="2.0.2" resultType="results" startPosition="NaN" '
    'maxRecords="1e400"><csw:Query typeNames="csw:Record"/></csw:GetRecords>',
    "\xff\xfe pas du XML",
    '<?xml version="1.0"?><csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
    'service="CSW" version="2.0.2"><csw:Query typeNames="csw:Record">'
    '<csw:ElementSetName>brief</csw:ElementSetName><csw:Constraint version="1.1.0">'
    '<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:BBOX>'
    '<ogc:PropertyName>ows:BoundingBox</ogc:PropertyName><gml:Envelope '
    'xmlns:gml="http://www.opengis.net/gml"><gml:lowerCorner>NaN 0</gml:lowerCorner>'
    "<gml:upperCorner>1 1e400</gml:upperCorner></gml:Envelope></ogc:BBOX></ogc:Filter>"
    "</csw:Constraint></csw:Query></csw:GetRecords>",
], ids=["deep-filter", "nan-paging", "not-xml", "nan-envelope"])
def test_csw_bad_documents_answer_an_ows_exception_report(client, document):
    assert_error(client.post("/csw", document, content_type="application/xml"), OGC)


# --- documents nested too deep -------------------------------------------------------------------

def nested_not(depth, prefix="fes", namespace="http://www.opengis.net/fes/2.0"):
    inner = (f"<{prefix}:PropertyIsEqualTo><{prefix}:ValueReference>nom</{prefix}:ValueReference>"
             f"<{prefix}:Literal>x</{prefix}:Literal></{prefix}:PropertyIsEqualTo>")
    if prefix == "ogc":
        inner = inner.replace("ValueReference", "PropertyName")
    return (f'<{prefix}:Filter xmlns:{prefix}="{namespace}">' + f"<{prefix}:Not>" * depth + inner
            + f"</{prefix}:Not>" * depth + f"</{prefix}:Filter>")


DEEP_20 = ('<?xml version="1.0"?><wfs:GetFeature service="WFS" version="2.0.0" '
           'xmlns:wfs="http://www.opengis.net/wfs/2.0"><wfs:Query typeNames="communes">'
           + nested_not(1000) + "</wfs:Query></wfs:GetFeature>")
DEEP_110 = ('<?xml version="1.0"?><wfs:GetFeature service="WFS" version="1.1.0" '
            'xmlns:wfs="http://www.opengis.net/wfs"><wfs:Query typeName="communes">'
            + nested_not(1000, "ogc", "http://www.opengis.net/ogc")
            + "</wfs:Query></wfs:GetFeature>")
DEEP_TRANSACTION = ('<?xml version="1.0"?><wfs:Transaction service="WFS" version="2.0.0" '
                    'xmlns:wfs="http://www.opengis.net/wfs/2.0"><wfs:Delete typeName="mairies">'
                    + nested_not(1000) + "</wfs:Delete></wfs:Transaction>")


@pytest.mark.parametrize("document", [DEEP_20, DEEP_110, DEEP_TRANSACTION],
                         ids=["getfeature-2.0", "getfeature-1.1", "transaction"])
def test_deeply_nested_xml_filters(client, document):
    login(client)
    before = writes()
    response = client.post("/ows", document, content_type="text/xml")
    assert "trop imbriqué" in assert_error(response, OGC)
    body = body_of(response)
    assert b'exceptionCode="OperationParsingFailed"' in body
    assert writes() == before


@pytest.mark.parametrize("version, typename", [("2.0.0", "TYPENAMES"), ("1.1.0", "TYPENAME")])
def test_deeply_nested_kvp_filter(client, version, typename):
    from urllib.parse import quote

    url = (f"/ows?SERVICE=WFS&VERSION={version}&REQUEST=GetFeature&{typename}=communes&FILTER="
           + quote(nested_not(1000)))
    response = client.get(url)
    assert "trop imbriqué" in assert_error(response, OGC)


def test_reasonably_nested_filters_still_work(client):
    response = client.post("/ows", DEEP_20.replace(nested_not(1000), nested_not(10)),
                           content_type="text/xml")
    assert response.status_code == 200, body_of(response)[:500]


@pytest.mark.parametrize("url, username", [
    ("/api/sync/push/", "controleur.spanc"),
    ("/api/sync/devices/", "controleur.spanc"),
    ("/carte/impression/", None),
    ("/api/layers/", "admin.sig"),
])
@pytest.mark.parametrize("shape", ["[" * 100_000 + "]" * 100_000,
                                   '{"a":' * 5_000 + "1" + "}" * 5_000,
                                   '{"changes": [' + "[" * 70 + "]" * 70 + "]}"])
def test_deeply_nested_json_bodies(client, url, username, shape):
    if username:
        login(client, username)
    before = writes()
    response = client.post(url, shape, content_type="application/json")
    assert "trop imbriqué" in assert_error(response, url_space(url))
    assert writes() == before


def test_json_depth_check_ignores_brackets_inside_strings():
    from platform_web.input_guard import json_too_deep

    assert not json_too_deep(json.dumps({"text": "[" * 500}).encode(), 64)
    assert not json_too_deep(json.dumps({"a": 'x"[{' * 300, "b": "\\", "c": '\\"[' * 99,
                                         "d": "é[" * 99}).encode(), 64)
    # Brackets, escaped quotes and backslashes inside strings do not hide a deep document.
    for text in ('"]]]}', "\\", '\\"]]', "é]"):
        assert json_too_deep(("[" * 70 + json.dumps(text) + "]" * 70).encode(), 64), text
    assert not json_too_deep(json.dumps([[[[1]]]] * 1000).encode(), 64)
    assert json_too_deep(("[" * 65 + "]" * 65).encode(), 64)
    assert not json_too_deep(("[" * 64 + "]" * 64).encode(), 64)
    assert not json_too_deep(b"[" * 500, 64)  # malformed: left to the JSON parser's message


# --- MapProxy: WMTS and TMS tile requests --------------------------------------------------------

def wmts_kvp(**overrides):
    params = {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "communes",
              "STYLE": "default", "TILEMATRIXSET": "GoogleMapsCompatible", "TILEMATRIX": "3",
              "TILEROW": "0", "TILECOL": "0", "FORMAT": "image/png", **overrides}
    return "/mapproxy/service?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("url", [
    wmts_kvp(TILEMATRIX="x"), wmts_kvp(TILEMATRIX="²"), wmts_kvp(TILEMATRIX="-1"),
    wmts_kvp(TILEMATRIX="3.0"), wmts_kvp(TILEMATRIX="99"), wmts_kvp(TILEROW="1.5"),
    wmts_kvp(TILECOL="x"), wmts_kvp(TILECOL="٣"), wmts_kvp(TILEROW="99999999"),
    wmts_kvp(TILEMATRIXSET="Inconnue"), wmts_kvp(FORMAT="image/gif"), wmts_kvp(LAYER="inconnue"),
    wmts_kvp(STYLE="inconnu"),
    "/mapproxy/wmts/communes/GoogleMapsCompatible/x/0/0.png",
    "/mapproxy/wmts/communes/GoogleMapsCompatible/٣/0/0.png",
    "/mapproxy/wmts/communes/default/GoogleMapsCompatible/3/0/999999999.png",
    "/mapproxy/wmts/communes/Inconnue/3/0/0.png",
    "/mapproxy/wmts/communes/GoogleMapsCompatible/3/0/0.png/encore",
    "/mapproxy/tms/1.0.0/communes/GoogleMapsCompatible/x/0/0.png",
    "/mapproxy/tms/1.0.0/communes/GoogleMapsCompatible/3/99999999999999999999/0.png",
    "/mapproxy/tms/1.0.0/communes/Inconnue/3/0/0.png",
    "/mapproxy/tms/1.0.0/inconnue/GoogleMapsCompatible/3/0/0.png",
    "/mapproxy/demo/", "/mapproxy/wms?SERVICE=WMS&REQUEST=GetMap",
    "/mapproxy/kml/communes/0/0/0.kml",
])
def test_malformed_tile_requests(client, url):
    before = writes()
    response = client.get(url)
    body = body_of(response)
    assert 400 <= response.status_code < 500, (response.status_code, body[:300])
    if b"TileMapServerError" in body:  # TMS answers in its own XML error document
        ElementTree.fromstring(body)
    else:
        assert_error(response, OGC, statuses=(400, 404))
    assert writes() == before


# --- errors of the framework, in the URL space's format ------------------------------------------

@pytest.mark.parametrize("method, url, space, statuses", [
    ("get", "/api/nexiste-pas/", JSON, (404,)),
    ("get", "/api/layers/nexiste-pas/", JSON, (404,)),
    ("get", "/api/sync/controls/pas-un-uuid/photos/", JSON, (401, 403, 404)),
    ("get", "/api/sync/conflicts/pas-un-uuid/resolution/", JSON, (401, 403, 404, 405)),
    ("delete", "/api/sync/push/", JSON, (401, 403, 405)),
    ("get", "/api/sync/push/pas-un-uuid/", JSON, (401, 403, 404)),
    ("get", "/api/sync/push/6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5b/", JSON, (401, 403, 404)),
    ("post", "/api/sync/push/6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5b/", JSON, (401, 403, 405)),
    ("get", "/ows/nexiste-pas", OGC, (404,)),
    ("put", "/ows?SERVICE=WFS", OGC, (405,)),
    ("put", "/csw", OGC, (405,)),
    ("put", "/ogc/collections", JSON, (405,)),
    ("get", "/ogc/nexiste-pas", JSON, (404,)),
    ("get", "/ogc/collections/nexiste_pas/items", JSON, (404,)),
    ("get", "/ogc/collections/communes/items?bbox=NaN,0,1,1", JSON, (400,)),
    ("get", "/ogc/collections/communes/items?bbox=0,0,1,1e400", JSON, (400,)),
    ("get", "/ogc/collections/communes/items?limit=" + "9" * 30, JSON, (400,)),
    ("get", "/ogc/collections/communes/items?offset=-1", JSON, (400,)),
    ("get", "/ogc/collections/communes/items?after=1e400", JSON, (400,)),
    ("get", "/ogc/collections/communes/items?filter=" + "NOT (" * 300 + "nom=%27a%27" + ")" * 300,
     JSON, (400,)),
    ("get", "/ogc/collections/communes/items?filter=population%3D1e400", JSON, (400,)),
    ("delete", "/ogc/collections/communes/items/1", JSON, (401,)),
    ("get", "/ogc/collections/nexiste_pas/map", JSON, (404,)),
    ("get", "/ogc/collections/communes/items?sortby=" + ",".join(["nom"] * 1000), JSON, (400,)),
    ("get", "/ogc/collections/communes/items?sortby=-nom&after=" + "9" * 30, JSON, (400,)),
    ("get", "/ogc/collections/communes/items?sortby=-nom&after=999999999", JSON, (400,)),
    ("get", "/ogc/collections/communes/items?crs=EPSG:4326&bbox=NaN,0,1,1", JSON, (400,)),
    ("post", "/ogc/map", JSON, (405,)),
    ("get", "/ogc/map?collections=" + ",".join(["communes"] * 500), JSON, (400,)),
    ("get", "/ogc/map?collections=communes,,", JSON, (400,)),
    ("get", "/ogc/collections/communes/map?bbox=-3,47,-2,48&crs=EPSG:2154&width=4096&height=4097",
     JSON, (400,)),
    ("get", "/ogc/collections/communes/map?bbox=-3,47,-2,48&scale-denominator=0.0001", JSON,
     (400,)),
    ("get", "/ogc/collections/communes/map?bbox=-3,47,-2,95", JSON, (400,)),
    ("get", "/ogc/collections/communes/map?bbox-crs=EPSG:3857&bbox=0,0,1,1e300", JSON, (400,)),
    ("get", "/ogc/tileMatrixSets/" + "x" * 500, JSON, (404,)),
    ("get", "/ogc/collections/communes/tiles/LAMB93/99/0/0", JSON, (404,)),
    ("get", "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&TYPENAMES=csw:Record"
            "&CONSTRAINTLANGUAGE=CQL_TEXT&CONSTRAINT=BBOX(ows:BoundingBox,NaN,0,1,1e400)", OGC,
     (400,)),
    ("get", "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetRecords&TYPENAMES=csw:Record"
            "&MAXRECORDS=" + "9" * 30, OGC, (400,)),
    ("get", "/metadonnees/pas-un-uuid", HTML, (404,)),
    ("get", "/metadonnees/" + str(uuid.UUID(int=0)) + ".xml", HTML, (404,)),
    ("post", "/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", OGC, (405,)),
    ("post", "/tiles/communes/0/0/0.mvt", JSON, (405,)),
    ("get", "/tiles/nexiste-pas/0/0/0.mvt", JSON, (404,)),
    ("get", "/tiles/communes/0/0/0.png", JSON, (404,)),
    ("get", "/carte/config.json?carte=nexiste-pas", JSON, (404,)),
    ("get", "/nexiste-pas/", HTML, (404,)),
    ("post", "/territoire/communes.geojson", JSON, (405,)),
])
def test_framework_errors_in_the_url_space_format(client, method, url, space, statuses):
    response = getattr(client, method)(url)
    assert_error(response, space, statuses=statuses)


@pytest.mark.parametrize("path", [
    "pas-un-uuid", "6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5", "6f2b7c1e0f4e4a4b9a553c1d2e3f4a5b0",
    "6f2b7c1e-0f4e-4a4b-9a55-3c1d2e3f4a5b/encore", "%C3%A9" * 40, "1" * 5000,
])
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_batch_state_paths_answer_json_404_or_405(client, path, method):
    """GET /api/sync/push/<batch_id>/: a malformed identifier (or an extra segment) is an
    unknown address of the sync API; nothing written."""
    login(client, "controleur.spanc")
    before = writes()
    response = getattr(client, method)(f"/api/sync/push/{path}/")
    assert_error(response, JSON, statuses=(404, 405))
    assert response.json()["reasons"]
    assert writes() == before


def test_another_users_batch_state_is_an_unknown_batch(client):
    """A batch is read by the user who sent it only: for anyone else it does not exist (the
    same 404 as an unknown batch, without its content, answer or device)."""
    from fieldsync.models import Device, SyncBatch

    owner = User.objects.get(username="controleur.spanc")
    device = Device.objects.create(id=uuid.uuid4(), user=owner, name="Tablette")
    batch = SyncBatch.objects.create(id=uuid.uuid4(), user=owner, device=device,
                                     payload={"changes": []}, payload_sha256="0" * 64,
                                     response={"batch_id": "x", "results": [], "summary": {}})
    unknown = login(Client(raise_request_exception=False), "controleur.spanc").get(
        f"/api/sync/push/{uuid.uuid4()}/")
    for username in ("responsable.spanc", "admin.sig"):
        other = login(Client(raise_request_exception=False), username)
        before = writes()
        response = other.get(f"/api/sync/push/{batch.id}/")
        assert_error(response, JSON, statuses=(404,))
        assert response.json() == unknown.json()
        assert writes() == before
    assert login(client, "controleur.spanc").get(
        f"/api/sync/push/{batch.id}/").status_code == 200


def test_wrong_credentials_under_api_answer_json(client):
    response = client.get("/api/layers/", HTTP_AUTHORIZATION="Bearer pas-un-jeton")
    assert response.status_code == 401
    assert_error(response, JSON, statuses=(401,))
    assert "WWW-Authenticate" in response


def test_csrf_failure_under_api_answers_json():
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    login(client, "controleur.spanc")
    response = client.post("/api/sync/devices/", json.dumps({"id": str(uuid.uuid4()), "name": "x"}),
                           content_type="application/json")
    assert_error(response, JSON, statuses=(403,))


@pytest.mark.parametrize("path, space", [
    ("/api/layers/", JSON), ("/api/sync/push/", JSON), ("/tiles/a/0/0/0.mvt", JSON),
    ("/ows?SERVICE=WMS&REQUEST=GetMap", OGC), ("/ows?SERVICE=WFS&VERSION=1.1.0", OGC),
    ("/ows", OGC), ("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", OGC), ("/carte/", HTML),
])
def test_uncaught_exceptions_answer_in_the_url_space_format(path, space):
    """handler500 (called by Django after logging the traceback) answers per URL space."""
    from django.urls import get_resolver

    handler = get_resolver().resolve_error_handler(500)
    assert handler.__module__ == "platform_web.error_responses"
    response = handler(RequestFactory().get(path))
    assert_error(response, space, statuses=(500,))


def test_error_messages_follow_the_language(client):
    response = client.get("/api/nexiste-pas/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Unknown address" in response.json()["detail"]
    response = client.get("/carte/recherche/?q=a%00", HTTP_ACCEPT_LANGUAGE="en")
    assert "NUL character" in response.json()["detail"]
    response = client.get("/carte/recherche/?q=a%00", HTTP_ACCEPT_LANGUAGE="fr")
    assert "caractère nul" in response.json()["detail"]
    assert response.json()["parameter"] == "q"


def test_large_json_bodies_nested_deep(client, settings):
    """A sync batch larger than what Django keeps in memory is not read by the middleware: the
    RecursionError of its parser is still a 400 in JSON, nothing written."""
    login(client, "controleur.spanc")
    before = writes()
    deep = "[" * 100_000 + "]" * 100_000 + " " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/api/sync/push/", deep, content_type="application/json")
    assert "imbriqué" in assert_error(response, JSON)
    assert writes() == before


@pytest.mark.parametrize("query", [
    "I=" + "1" * 5000 + "&J=1", "I=1&J=-" + "9" * 5000, "I=1&J=1&FEATURE_COUNT=1e400",
    "I=1&J=1&FEATURE_COUNT=" + "9" * 5000,
])
def test_wms_featureinfo_numbers(client, query):
    response = client.get(GFI + query)
    assert_error(response, OGC)


@pytest.mark.parametrize("size", ["²", "1e400", HUGE_INT, "-1"])
def test_wms_legend_sizes_are_ignored_when_not_integers(client, size):
    response = client.get("/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER=communes"
                          f"&FORMAT=image/png&WIDTH={size}&HEIGHT={size}")
    assert response.status_code == 200, body_of(response)[:300]
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize("method, url, space, statuses", [
    ("post", f"/api/remote-services/{HUGE_INT}/publish", JSON, (404,)),
    ("get", f"/catalogue/publier/imports/{HUGE_INT}.json", JSON, (404,)),
    ("get", f"/catalogue/publier/imports/{HUGE_INT}/", HTML, (404,)),
    ("get", f"/spanc/campagnes/{HUGE_INT}/", HTML, (404,)),
    ("post", f"/compte/jetons/{HUGE_INT}/revoquer/", HTML, (404,)),
    ("post", f"/catalogue/publier/publications/{HUGE_INT}/restaurer/", HTML, (404,)),
    ("get", f"/admin/layers/style/{HUGE_INT}/sld/", HTML, (404,)),
    ("get", f"/compte/jetons/{HUGE_INT}/revoquer/", HTML, (405,)),
])
def test_huge_identifiers_in_paths(client, method, url, space, statuses):
    login(client)
    before = writes()
    message = assert_error(getattr(client, method)(url), space, statuses=statuses)
    if space == JSON:
        assert "matches the given query" not in message  # Django's English default
    assert writes() == before


@pytest.mark.parametrize("value", [HUGE_INT, "NaN", "1e400", "-" + HUGE_INT])
@pytest.mark.parametrize("kind", ["update", "insert"])
def test_wfs_transaction_values_out_of_the_column_type(client, kind, value):
    namespaces = ('xmlns:wfs="http://www.opengis.net/wfs/2.0" '
                  'xmlns:fes="http://www.opengis.net/fes/2.0" '
                  'xmlns:gml="http://www.opengis.net/gml/3.2" '
                  'xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')
    if kind == "update":
        action = ('<wfs:Update typeName="capgeo:communes"><wfs:Property>'
                  '<wfs:ValueReference>population'
                  f'</wfs:ValueReference><wfs:Value>{value}</wfs:Value></wfs:Property><fes:Filter>'
                  '<fes:ResourceId rid="communes.1"/></fes:Filter></wfs:Update>')
    else:
        action = ('<wfs:Insert><capgeo:communes><capgeo:insee>99999</capgeo:insee>'
                  f'<capgeo:population>{value}</capgeo:population><capgeo:geom>'
                  '<gml:Point srsName="urn:ogc:def:crs:EPSG::2154">'
                  '<gml:pos>300000 6700000</gml:pos>'
                  '</gml:Point></capgeo:geom></capgeo:communes></wfs:Insert>')
    login(client)
    before = writes()
    response = client.post("/ows", f'<wfs:Transaction service="WFS" version="2.0.0" {namespaces}>'
                           f"{action}</wfs:Transaction>", content_type="text/xml")
    assert_error(response, OGC)
    assert writes() == before


# --- control characters quoted in the error reports ----------------------------------------------

@pytest.mark.parametrize("url, statuses", [
    ("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={v}", (400,)),
    ("/ows?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME={v}", (400,)),
    ("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST={v}", (400,)),
    ("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&SRSNAME={v}", (400,)),
    ("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=communes&OUTPUTFORMAT={v}",
     (400,)),
    (WMS_GETMAP, (400,)),
    ("/mapproxy/service?SERVICE=WMTS&REQUEST={v}", (400,)),
    (WMTS_KVP, (400,)),
    ("/mapproxy/wmts/{v}/GoogleMapsCompatible/3/0/0.png", (400,)),
    ("/mapproxy/wmts/communes/{v}/GoogleMapsCompatible/3/0/0.png", (400,)),
    ("/mapproxy/tms/1.0.0/{v}/GoogleMapsCompatible/3/0/0.png", (404,)),
    ("/mapproxy/tms/1.0.0/communes/GoogleMapsCompatible/3/0/0.{v}", (404,)),
    ("/mapproxy/tms/1.0.0/communes/{v}/", (404,)),
])
@pytest.mark.parametrize("value", ["%01", "a%1Fb", "%FF", "%EF%BF%BE", "%C3%A9t%C3%A9"])
def test_reports_stay_well_formed_whatever_they_quote(client, url, statuses, value):
    response = client.get(url.format(v=value))
    body = body_of(response)
    assert response.status_code in statuses, (response.status_code, body[:300])
    if b"TileMapServerError" in body:
        ElementTree.fromstring(body)
    else:
        assert_error(response, OGC, statuses=statuses)


def wmts_gfi(**overrides):
    return wmts_kvp(**{"REQUEST": "GetFeatureInfo", "INFOFORMAT": "text/html", "I": "1", "J": "1",
                       **overrides})


@pytest.mark.parametrize("url", [
    wmts_gfi(I="x"), wmts_gfi(J="1e400"), wmts_gfi(TILEMATRIX="x"), wmts_gfi(TILECOL="-1"),
    wmts_gfi(I=HUGE_INT),
    wmts_kvp(REQUEST="GetFeatureInfo", INFOFORMAT="text/html"),  # no I, J
])
def test_wmts_getfeatureinfo_numbers(client, url):
    assert_error(client.get(url), OGC)


def wfs_get_feature_padded(size):
    padding = "<!--" + "x" * size + "-->"
    return ('<?xml version="1.0"?><wfs:GetFeature service="WFS" version="2.0.0" '
            'xmlns:wfs="http://www.opengis.net/wfs/2.0">' + padding
            + '<wfs:Query typeNames="communes"/></wfs:GetFeature>')


def test_wfs_reads_bodies_beyond_django_memory_limit_up_to_its_own(client, settings):
    """A big QGIS transaction passes Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): the WFS reads
    up to CAPGEO_WFS_MAX_BODY_BYTES, and answers an OGC report past it."""
    big = wfs_get_feature_padded(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    settings.CAPGEO_WFS_MAX_BODY_BYTES = len(big) + 100
    response = client.post("/ows", big, content_type="text/xml")
    assert response.status_code == 200
    assert b"FeatureCollection" in b"".join(response.streaming_content)[:2000]
    settings.CAPGEO_WFS_MAX_BODY_BYTES = len(big) - 100
    response = client.post("/ows", big, content_type="text/xml")
    assert "trop volumineux" in assert_error(response, OGC)


def test_api_errors_are_json_even_for_a_browser(client):
    """DRF's browsable API would answer its HTML page to a browser: errors stay JSON."""
    response = client.get("/api/layers/nexiste-pas/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert_error(response, JSON, statuses=(404,))
    response = client.get("/api/layers/communes/features?limit=x", HTTP_ACCEPT="text/html")
    assert_error(response, JSON)
    assert client.get("/api/docs/", HTTP_ACCEPT="text/html").status_code == 200  # Swagger UI


@pytest.mark.parametrize("path, space", [("/ows", OGC), ("/mapproxy/service", OGC),
                                         ("/api/layers/", JSON), ("/carte/recherche/", JSON),
                                         ("/catalogue/", HTML)])
def test_too_many_parameters(client, path, space):
    """Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters (SuspiciousOperation):
    handler400 answers in the URL space's format."""
    query = "&".join(f"p{n}=1" for n in range(1100))
    assert_error(client.get(f"{path}?{query}"), space)


def test_json_sent_as_text_plain_is_checked_too(client):
    """The print service parses request.body whatever its type (a "simple" fetch)."""
    body = print_body(layers=[{"name": "comm\x00unes"}])
    response = client.post("/carte/impression/", body, content_type="text/plain")
    assert "U+0000" in assert_error(response, JSON)
    response = client.post("/carte/impression/", "[" * 50_000 + "]" * 50_000,
                           content_type="text/plain")
    assert "trop imbriqué" in assert_error(response, JSON)


def test_page_scripts_posting_json_get_json_errors(client):
    """SPANC planning: a page's script posts JSON under an HTML address and reads {"error"}."""
    login(client, "responsable.spanc")
    before = writes()
    response = client.post("/spanc/campagnes/selection/", json.dumps({"communes": ["44\x00069"]}),
                           content_type="application/json")
    assert "U+0000" in assert_error(response, JSON)
    assert "U+0000" in response.json()["error"]
    deep_area = "[" * 5_000 + "]" * 5_000
    response = client.post("/spanc/campagnes/selection/", json.dumps({"area": deep_area}),
                           content_type="application/json")
    assert "GeoJSON" in assert_error(response, JSON)
    assert writes() == before


BASIC_NUL_USER = "Basic " + base64.b64encode(b"admin\x00.sig:demo-capgeo").decode()


@pytest.mark.parametrize("headers", [
    {"HTTP_AUTHORIZATION": BASIC_NUL_USER},
    {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijklmnop"},
    {"HTTP_X_API_KEY": "jeton\x00"},
], ids=["basic-user", "session-cookie", "api-key"])
@pytest.mark.parametrize("url, space", [
    ("/api/layers/", JSON), ("/ows?SERVICE=WMS&REQUEST=GetCapabilities", OGC),
    ("/mapproxy/wmts/1.0.0/WMTSCapabilities.xml", OGC), ("/catalogue/", HTML), ("/", HTML),
])
def test_nul_in_headers(client, url, space, headers):
    """The session and the user are looked up in the database with these values."""
    before = writes()
    assert_error(client.get(url, **headers), space)
    assert writes() == before


@pytest.mark.parametrize("url, words", [
    (wmts_kvp(TILEMATRIX="99"), "hors de la grille"),
    (wmts_kvp(TILEMATRIXSET="Inconnue"), "Grille de tuiles (TileMatrixSet) inconnue"),
    (wmts_kvp(FORMAT="image/gif"), "non proposé"),
    (wmts_kvp(LAYER="inconnue"), "Couche ou grille inconnue"),
    (wmts_gfi(INFOFORMAT="text/x-inconnu"), "INFOFORMAT"),
    ("/mapproxy/wmts/communes/GoogleMapsCompatible/25/0/0.png", "hors de la grille"),
    ("/mapproxy/tms/1.0.0/communes/GoogleMapsCompatible/x/0/0.png", "Requête de tuile invalide"),
    ("/mapproxy/tms/1.0.0/inconnue/GoogleMapsCompatible/3/0/0.png", "Couche ou grille inconnue"),
    ("/mapproxy/tms/1.0.0/communes/GoogleMapsCompatible/30/0/0.png", "hors de la grille"),
])
def test_mapproxy_errors_in_french(client, url, words):
    response = client.get(url)
    body = body_of(response)
    assert 400 <= response.status_code < 500
    ElementTree.fromstring(body)
    assert words in body.decode(), body.decode()[:400]


# --- Signalements and Open311 --------------------------------------------------------------------
# The reporting form answers its French page with the errors listed (400), the duplicates
# endpoint JSON, Open311 the spec's list of {code, description} (JSON or XML). Rate-limit
# counters are the only rows a refused submission may write.

GUERANDE_LONLAT = (-2.4286, 47.3281)


@pytest.fixture
def reports_demo(db):
    """The demo's report types, services and routing (no reports: none is needed here)."""
    from signalements.demo import load_services_and_types

    load_services_and_types()


def report_writes():
    """Rows written so far by this test's transaction, rate-limit counters (and the test
    snapshot's note that their table was written) aside."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                       "FROM pg_stat_xact_user_tables WHERE relname <> 'signalements_ratecounter'"
                       " AND schemaname <> 'test_snapshot'")
        return cursor.fetchone()[0]


def open311_error(response, status=400, fmt="json"):
    body = body_of(response)
    assert response.status_code == status, (response.status_code, body[:400])
    if fmt == "xml":
        assert response["Content-Type"].startswith("text/xml")
        root = ElementTree.fromstring(body)
        assert root.tag == "errors"
        errors = [{"code": int(e.findtext("code")), "description": e.findtext("description")}
                  for e in root.findall("error")]
    else:
        assert response["Content-Type"].startswith("application/json")
        errors = json.loads(body)
    assert isinstance(errors, list) and errors[0]["code"] == status
    assert errors[0]["description"].strip()
    return errors[0]["description"]


@pytest.fixture
def open311_key(reports_demo):
    from signalements.models import Open311Client

    return Open311Client.issue("tests")[1]


def open311_post(client, key, fmt="json", **fields):
    data = {"api_key": key, "service_code": "nid-de-poule", "lat": GUERANDE_LONLAT[1],
            "long": GUERANDE_LONLAT[0], "description": "Trou", "attribute[taille]": "petit"}
    data.update(fields)
    return client.post(f"/open311/v2/requests.{fmt}", {k: v for k, v in data.items()
                                                      if v is not None})


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("fields, words", [
    ({"lat": "NaN"}, "lat"), ({"long": "Infinity"}, "long"), ({"lat": "1e400"}, "lat"),
    ({"lat": HUGE_INT}, "lat"), ({"lat": "x"}, "lat"), ({"lat": None, "long": None}, "lat"),
    ({"lat": "47.20", "long": "-2.70"}, "territoire"), ({"lat": "95"}, "lat"),
    ({"description": "x" * 4001}, "4000"), ({"description": ""}, "Décrivez"),
    ({"service_code": "inconnu"}, "service_code"), ({"service_code": None}, "service_code"),
    ({"service_code": "voirie"}, "service_code"), ({"attribute[taille]": "géant"}, "choix"),
    ({"email": "pas une adresse"}, "électronique"), ({"jurisdiction_id": "ailleurs"}, None),
])
def test_open311_bad_submissions(client, open311_key, fmt, fields, words):
    before = report_writes()
    status = 404 if "jurisdiction_id" in fields else 400
    message = open311_error(open311_post(client, open311_key, fmt, **fields), status, fmt)
    if words:
        assert words in message, message
    assert report_writes() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_duplicate_submission(client, open311_key, fmt):
    first = json.loads(open311_post(client, open311_key, "json").content)[0]
    before = report_writes()
    message = open311_error(open311_post(client, open311_key, fmt), 400, fmt)
    assert first["service_request_id"] in message
    assert report_writes() == before


@pytest.mark.parametrize("url, status", [
    ("/open311/v2/requests.json?api_key=a%00b", 400),
    ("/open311/v2/requests.xml?service_code=%00", 400),
    ("/open311/v2/services/a%00b.json", 400),
    ("/open311/v2/requests.json?start_date=NaN", 400),
    ("/open311/v2/requests.json?service_request_id=1e400", 400),
    ("/open311/v2/requests.json?service_request_id=" + HUGE_INT, 400),
    ("/open311/v2/requests.json?status=peut-etre", 400),
    ("/open311/v2/requests/NaN.json", 404),
    ("/open311/v2/requests/" + HUGE_INT + ".xml", 404),
    ("/open311/v2/tokens/%00.json", 400),
    ("/open311/v2/inconnu.json", 404),
    ("/open311/v2/services.yaml", 404),
])
def test_open311_bad_queries(client, reports_demo, url, status):
    fmt = "xml" if ".xml" in url else "json"
    before = report_writes()
    open311_error(client.get(url), status, fmt)
    assert report_writes() == before


def test_open311_nul_in_form_body_and_wrong_method(client, open311_key):
    before = report_writes()
    open311_error(open311_post(client, open311_key, description="tr\x00ou"), 400)
    open311_error(client.put("/open311/v2/requests.json"), 405)
    open311_error(client.post("/open311/v2/services.json"), 405)
    assert report_writes() == before


def report_form(**fields):
    from signalements.models import Category

    category = Category.objects.get(code="nid-de-poule")
    data = {"categorie": str(category.pk), "longitude": str(GUERANDE_LONLAT[0]),
            "latitude": str(GUERANDE_LONLAT[1]), "description": "Trou",
            f"champ_{category.pk}_taille": "petit"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("fields, words", [
    ({"longitude": "NaN"}, "Coordonnée"), ({"latitude": "inf"}, "Coordonnée"),
    ({"longitude": "1e400"}, "Coordonnée"), ({"latitude": HUGE_INT}, "Coordonnée"),
    ({"longitude": "-2.70", "latitude": "47.20"}, "en dehors du territoire"),
    ({"description": "x" * 4001}, "trop longue"), ({"categorie": "999999"}, "inconnu"),
    ({"categorie": HUGE_INT}, "inconnu"), ({"categorie": "abc"}, "inconnu"),
    ({"adresse": "x" * 301}, "300 caractères"), ({"site_web": "http://spam"}, "rester vide"),
])
def test_report_form_bad_input(client, reports_demo, fields, words):
    before = report_writes()
    response = client.post("/signalements/nouveau/", report_form(**fields))
    body = assert_error(response, HTML)
    assert words in body, body[:2000]
    assert report_writes() == before


def test_report_form_nul(client, reports_demo):
    before = report_writes()
    assert_error(client.post("/signalements/nouveau/", report_form(description="a\x00b")), HTML)
    assert_error(client.get("/signalements/suivi/a%00b/"), HTML)
    assert report_writes() == before


@pytest.mark.parametrize("body, words", [
    ({"courriel": "pas-une-adresse"}, "Adresse électronique invalide"),
    ({"courriel": "a@b.fr", "site_web": "http://spam"}, "rester vide"),
    ({"courriel": "a\x00b@exemple.fr"}, "U+0000"),
    ({"courriel": "x" * 5000 + "@exemple.fr"}, "Adresse électronique invalide"),
])
def test_personal_data_request_bad_input(client, reports_demo, body, words):
    """The reporter's data request (RGPD): a clear French page, nothing written, no e-mail."""
    from django.core import mail

    before = report_writes()
    message = assert_error(client.post("/signalements/mes-donnees/", body), HTML)
    assert words in message, message[:2000]
    assert report_writes() == before and mail.outbox == []


@pytest.mark.parametrize("path", ["/signalements/mes-donnees/a%00b/",
                                  "/signalements/mes-donnees/" + "A" * 3000 + "/",
                                  "/signalements/mes-donnees/e30:1tQ:xyz/",
                                  "/signalements/suivi/a%00b/donnees/"])
def test_personal_data_links_bad_input(client, reports_demo, path):
    before = report_writes()
    assert_error(client.get(path), HTML, statuses=(400, 404))
    assert_error(client.post(path, {"confirmer": "oui"}), HTML, statuses=(400, 403, 404))
    assert report_writes() == before


@pytest.mark.parametrize("query", ["du=NaN&au=1e400", "service=" + HUGE_INT, "etat=%00",
                                   "du=2026-13-45", "service=-1&etat=x"])
def test_dashboard_filters_bad_input(client, reports_demo, query):
    """Meaningless filters are ignored (the whole dashboard), a NUL refused: never a 500."""
    client.force_login(User.objects.get(username="agent.guerande"))
    response = client.get("/signalements/tableau-de-bord/?" + query)
    if "%00" in query:
        assert_error(response, HTML)
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("query", ["categorie=x", "categorie=1&longitude=NaN&latitude=47",
                                   "categorie=1&longitude=-2.4&latitude=1e400",
                                   "categorie=%00", "categorie=" + HUGE_INT])
def test_duplicates_endpoint_bad_input(client, reports_demo, query):
    assert_error(client.get("/signalements/doublons.json?" + query), JSON)


def test_report_form_too_large_is_refused_before_reading(client, reports_demo):
    from signalements.limits import MAX_REQUEST_BYTES

    before = report_writes()
    response = client.post("/signalements/nouveau/", report_form(),
                           CONTENT_LENGTH=str(MAX_REQUEST_BYTES + 1))
    assert response.status_code == 413
    assert "trop volumineux" in response.content.decode()
    assert report_writes() == before
