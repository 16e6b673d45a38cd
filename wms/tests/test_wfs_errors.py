"""Bad input: an OGC exception report with the right code and status, never a 500."""
import pytest

from .wfs_support import make_parcels, query

pytestmark = pytest.mark.django_db

BASE = "/ows?SERVICE=WFS&VERSION=2.0.0&"
GF = BASE + "REQUEST=GetFeature&TYPENAMES=capgeo:wfs_parcelles&"


@pytest.fixture(autouse=True)
def parcels():
    return make_parcels(count=50)


def read(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def assert_exception(response, code, status=400, locator=None):
    body = read(response)
    assert response.status_code == status, body
    assert b"<ows:ExceptionReport" in body and b'version="2.0.0"' in body
    assert f'exceptionCode="{code}"'.encode() in body
    assert b'locator=""' not in body and b"locator=" in body
    if locator:
        assert f'locator="{locator}"'.encode() in body
    return body


XXE = b"""<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0">
<wfs:Query typeNames="&xxe;"/></wfs:GetFeature>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0">
<wfs:Query typeNames="&lol3;"/></wfs:GetFeature>"""


@pytest.mark.parametrize("body", [b"<wfs:GetFeature", b"", b"pas du xml", XXE, LAUGHS],
                         ids=["malformed", "empty", "text", "xxe", "billion-laughs"])
def test_unreadable_post_bodies(client, body):
    response = client.post("/ows", data=body, content_type="text/xml")
    text = assert_exception(response, "OperationParsingFailed")
    assert b"root:" not in text


@pytest.mark.parametrize("url, code, locator", [
    (BASE + "REQUEST=GetFeature&TYPENAMES=capgeo:inconnue", "InvalidParameterValue", "typeNames"),
    (BASE + "REQUEST=DescribeFeatureType&TYPENAMES=x'; DROP TABLE t;--", "InvalidParameterValue",
     "typeNames"),
    (BASE + "REQUEST=GetFeature", "MissingParameterValue", None),
    (GF + "COUNT=1000000000", "InvalidParameterValue", "count"),
    (GF + "COUNT=abc", "InvalidParameterValue", None),
    (GF + "SRSNAME=EPSG:32631", "InvalidParameterValue", None),
    (GF + "BBOX=1,2,3", None, None),
    (GF + "SORTBY=nom'%20DESC", "InvalidParameterValue", None),
    (GF + "OUTPUTFORMAT=application/pdf", "InvalidParameterValue", "outputFormat"),
    (BASE + "REQUEST=Inconnue", "OperationNotSupported", "request"),
    (BASE + "REQUEST=GetFeature&STOREDQUERY_ID=urn:ogc:def:query:OGC-WFS::GetFeatureById"
     "&ID=wfs_parcelles.999999", "NotFound", None),
    (BASE.replace("2.0.0", "1.0.0") + "REQUEST=GetFeature&TYPENAMES=x", "InvalidParameterValue",
     "version"),
])
def test_bad_kvp_requests(client, url, code, locator):
    response = client.get(url)
    body = read(response)
    assert response.status_code in (400, 404), body
    assert b"<ows:ExceptionReport" in body
    if code:
        assert_exception(response, code, 404 if code == "NotFound" else 400, locator)


def filter_url(fes):
    from urllib.parse import quote
    return GF + "FILTER=" + quote(
        '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0">' + fes + "</fes:Filter>")


@pytest.mark.parametrize("fes", [
    "<fes:PropertyIsEqualTo><fes:ValueReference>numero</fes:ValueReference>"
    "<fes:Literal>1 OR 1=1</fes:Literal></fes:PropertyIsEqualTo>",
    "<fes:PropertyIsEqualTo><fes:ValueReference>nom\"; DROP TABLE x; --</fes:ValueReference>"
    "<fes:Literal>a</fes:Literal></fes:PropertyIsEqualTo>",
    "<fes:PropertyIsLessThan><fes:ValueReference>date_maj</fes:ValueReference>"
    "<fes:Literal>pas une date</fes:Literal></fes:PropertyIsLessThan>",
    "<fes:Inconnu/>",
    "<fes:PropertyIsEqualTo><fes:ValueReference>numero</fes:ValueReference>",
])
def test_invalid_or_hostile_filters(client, fes):
    response = client.get(filter_url(fes))
    body = read(response)
    assert response.status_code == 400, body
    assert b"<ows:ExceptionReport" in body
    assert query('SELECT count(*) FROM layers_data."wfs_parcelles"')[0][0] == 50


def test_quotes_in_literals_are_data_not_sql(client):
    fes = ("<fes:PropertyIsEqualTo><fes:ValueReference>nom</fes:ValueReference>"
           "<fes:Literal>Parcelle n°7 l'îlot \"A\"</fes:Literal></fes:PropertyIsEqualTo>")
    response = client.get(filter_url(fes) + "&OUTPUTFORMAT=geojson")
    body = read(response)
    assert response.status_code == 200, body
    assert body.count(b'"type":"Feature"') == 1 and b"wfs_parcelles.7" in body


def test_get_feature_by_id_and_stored_queries(client):
    fid = query('SELECT min(fid) FROM layers_data."wfs_parcelles"')[0][0]
    response = client.get(BASE + "REQUEST=GetFeature&STOREDQUERY_ID=urn:ogc:def:query:OGC-WFS::"
                          f"GetFeatureById&ID=wfs_parcelles.{fid}")
    assert response.status_code == 200 and f'gml:id="wfs_parcelles.{fid}"'.encode() in read(response)
    listed = client.get(BASE + "REQUEST=ListStoredQueries")
    assert listed.status_code == 200 and b"GetFeatureById" in listed.content
    described = client.get(BASE + "REQUEST=DescribeStoredQueries")
    assert described.status_code == 200


def test_capabilities_constraints_for_qgis(client):
    # What QGIS sends first.
    body = client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=2.0.0,1.1.0,1.0.0"
                      ).content
    for name in ("ImplementsResultPaging", "ImplementsBasicWFS"):
        assert f'name="{name}"><ows:NoValues/><ows:DefaultValue>TRUE'.encode() in body
    assert b'name="CountDefault"><ows:NoValues/><ows:DefaultValue>100000<' in body
    assert b"<DefaultCRS>urn:ogc:def:crs:EPSG::2154</DefaultCRS>" in body
    assert b"<OtherCRS>urn:ogc:def:crs:EPSG::4326</OtherCRS>" in body
    assert b"xlink:href=\"http://testserver/ows\"" in body


def test_hits_paging_and_prefixed_names(client):
    hits = client.get(GF + "RESULTTYPE=hits")
    assert b'numberMatched="50"' in read(hits)
    ns = "&NAMESPACES=xmlns(p,https://capgeo.cap-atlantique.fr/wfs)"
    page = read(client.get(BASE + "REQUEST=GetFeature&TYPENAMES=p:wfs_parcelles&TYPENAME=p:wfs_parcelles"
                           + ns + "&COUNT=20&STARTINDEX=40&SORTBY=numero DESC"))
    assert b'numberReturned="10"' in page and b"previous=" in page and b"next=" not in page
    schema = client.get(BASE + "REQUEST=DescribeFeatureType&TYPENAMES=p:wfs_parcelles" + ns)
    assert schema.status_code == 200
    for element in (b'name="numero" type="integer"', b'name="surface" type="double"',
                    b'name="actif" type="boolean"', b'name="date_maj" type="date"',
                    b'gml:SurfacePropertyType'):
        assert element in schema.content
    assert b"xsd:include" not in schema.content and b"<include" not in schema.content


def test_propertyname_subset_and_null_values(client):
    query('UPDATE layers_data."wfs_parcelles" SET nom = NULL, geom = NULL WHERE numero = 3')
    page = read(client.get(GF + "PROPERTYNAME=nom&COUNT=3"))
    assert page.count(b"<capgeo:nom>") == 2 and b"<capgeo:numero>" not in page
    full = read(client.get(GF + "COUNT=3&OUTPUTFORMAT=geojson"))
    assert b'"geometry":null' in full and b'"nom":null' in full
