"""WFS 1.1.0 in process: version negotiation, the shared access scenario (nothing restricted
leaks to anonymous users or to another commune), DescribeFeatureType, and bad input answered
with OWS 1.0.0 exception reports, never a 500."""
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from accounts.models import User
from layers.testing import (SCENARIO_EXPECTED_DOWNLOAD, SCENARIO_EXPECTED_ROWS, SCENARIO_RULES,
                            build_access_scenario)

from .wfs_support import make_parcels, query

pytestmark = pytest.mark.django_db

BASE = "/ows?SERVICE=WFS&VERSION=1.1.0&"
GF = BASE + "REQUEST=GetFeature&TYPENAME=capgeo:wfs_parcelles&"
OWS10 = "{http://www.opengis.net/ows}"
WFS11 = "{http://www.opengis.net/wfs}"
USERS = list(SCENARIO_EXPECTED_DOWNLOAD)


def read(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def as_user(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def assert_report(response, code=None, locator=None, status=400):
    body = read(response)
    assert response.status_code == status, body
    root = ET.fromstring(body)
    assert root.tag == f"{OWS10}ExceptionReport" and root.get("version") == "1.0.0", body
    exception = root.find(f"{OWS10}Exception")
    if code:
        assert exception.get("exceptionCode") == code, body
    if locator:
        assert exception.get("locator") == locator, body
    assert exception.find(f"{OWS10}ExceptionText").text.strip()


@pytest.fixture
def scenario():
    return build_access_scenario()


@pytest.fixture
def parcels():
    return make_parcels(count=50)


# --- version negotiation ---------------------------------------------------------------------
@pytest.mark.parametrize("query_string, version", [
    ("REQUEST=GetCapabilities", "2.0.0"),
    ("REQUEST=GetCapabilities&VERSION=1.1.0", "1.1.0"),
    ("REQUEST=GetCapabilities&ACCEPTVERSIONS=1.1.0", "1.1.0"),
    ("REQUEST=GetCapabilities&ACCEPTVERSIONS=1.1.0,2.0.0", "1.1.0"),
    ("REQUEST=GetCapabilities&ACCEPTVERSIONS=2.0.0,1.1.0,1.0.0", "2.0.0"),
    ("REQUEST=GetCapabilities&VERSION=2.0.0", "2.0.0"),
])
def test_version_negotiation(client, parcels, query_string, version):
    response = client.get("/ows?SERVICE=WFS&" + query_string)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.get("version") == version
    assert root.tag.startswith(WFS11 if version == "1.1.0" else "{http://www.opengis.net/wfs/2.0}")


def test_unknown_versions_are_refused(client):
    response = client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=1.0.0")
    assert response.status_code == 400 and b"VersionNegotiationFailed" in response.content
    response = client.get("/ows?SERVICE=WFS&VERSION=1.0.0&REQUEST=GetFeature&TYPENAME=x")
    assert response.status_code == 400 and b'locator="version"' in response.content
    assert "2.0.0".encode() in response.content


def test_capabilities_110_content(client, parcels):
    body = client.get(BASE + "REQUEST=GetCapabilities").content
    root = ET.fromstring(body)
    assert root.find(f"{OWS10}ServiceIdentification/{OWS10}ServiceTypeVersion").text == "1.1.0"
    feature_type = next(t for t in root.iter(f"{WFS11}FeatureType")
                        if t.find(f"{WFS11}Name").text == "capgeo:wfs_parcelles")
    assert feature_type.find(f"{WFS11}DefaultSRS").text == "urn:ogc:def:crs:EPSG::2154"
    assert [e.text for e in feature_type.findall(f"{WFS11}OtherSRS")] == [
        "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG::3857"]
    lower = feature_type.find(f"{OWS10}WGS84BoundingBox/{OWS10}LowerCorner").text.split()
    assert -2.6 < float(lower[0]) < -2.2 and 47.1 < float(lower[1]) < 47.4
    assert b'<ows:Constraint name="DefaultMaxFeatures">' in body
    operations = {op.get("name") for op in root.iter(f"{OWS10}Operation")}
    assert operations == {"GetCapabilities", "DescribeFeatureType", "GetFeature"}


def test_capabilities_110_advertise_transaction_to_editors(client, scenario):
    client.force_login(User.objects.get(username="admin.sig"))
    root = ET.fromstring(client.get(BASE + "REQUEST=GetCapabilities").content)
    assert "Transaction" in {op.get("name") for op in root.iter(f"{OWS10}Operation")}
    operations = {t.find(f"{WFS11}Name").text:
                  {o.text for o in t.iter(f"{WFS11}Operation")}
                  for t in root.iter(f"{WFS11}FeatureType")}
    assert {"Query", "Insert", "Update", "Delete"} <= operations["capgeo:acces_territoire"]


# --- access scenario -------------------------------------------------------------------------
@pytest.mark.parametrize("username", USERS)
def test_capabilities_110_list_exactly_the_downloadable_layers(client, scenario, username):
    content = as_user(client, username).get(BASE + "REQUEST=GetCapabilities").content
    listed = {name.decode() for name in re.findall(rb"<Name>capgeo:(acces_\w+)</Name>", content)}
    assert listed == SCENARIO_EXPECTED_DOWNLOAD[username]


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("layer", list(SCENARIO_RULES))
def test_get_feature_110_returns_exactly_the_allowed_rows(client, scenario, username, layer):
    client = as_user(client, username)
    allowed = layer in SCENARIO_EXPECTED_DOWNLOAD[username]
    expected = SCENARIO_EXPECTED_ROWS[username].get(layer, set()) if allowed else set()
    gml = client.get(BASE + f"REQUEST=GetFeature&TYPENAME=capgeo:{layer}")
    hits = client.get(BASE + f"REQUEST=GetFeature&TYPENAME={layer}&RESULTTYPE=hits")
    schema = client.get(BASE + f"REQUEST=DescribeFeatureType&TYPENAME={layer}")
    fids = dict(query(f'SELECT code_insee, fid FROM layers_data."{layer}"'))
    by_id = client.get(BASE + "REQUEST=GetFeature&FEATUREID="
                       + ",".join(f"{layer}.{fid}" for fid in fids.values()))
    if not allowed:
        for response in (gml, hits, schema, by_id):
            text = read(response)
            assert response.status_code == 400 and b"<ows:ExceptionReport" in text
            assert b"Mairie" not in text and b"code_insee" not in text
        return
    gml_text = read(gml).decode()
    assert set(re.findall(r"<capgeo:code_insee>(\d+)</capgeo:code_insee>", gml_text)) == expected
    assert f'numberOfFeatures="{len(expected)}"' in gml_text
    assert f'numberOfFeatures="{len(expected)}"' in read(hits).decode()
    assert set(re.findall(r"<capgeo:code_insee>(\d+)</capgeo:code_insee>",
                          read(by_id).decode())) == expected


def test_describe_feature_type_is_a_gml_311_schema(client, parcels):
    response = client.get(BASE + "REQUEST=DescribeFeatureType&TYPENAME=capgeo:wfs_parcelles")
    assert response.status_code == 200
    assert "gml/3.1.1" in response["Content-Type"]
    body = response.content.decode()
    assert 'xmlns:gml="http://www.opengis.net/gml"' in body and "gml/3.2" not in body
    assert 'substitutionGroup="gml:_Feature"' in body
    assert '<element name="numero" type="integer"' in body
    assert 'type="gml:PolygonPropertyType"' in body  # what ST_AsGML writes, GeoServer too


def test_get_feature_110_gml_311_document(client, parcels):
    response = client.get(GF + "MAXFEATURES=3&SORTBY=numero%20D")
    body = read(response).decode()
    assert response.status_code == 200 and "gml/3.1.1" in response["Content-Type"]
    root = ET.fromstring(body)
    assert root.tag == f"{WFS11}FeatureCollection" and root.get("numberOfFeatures") == "3"
    numbers = re.findall(r"<capgeo:numero>(\d+)</capgeo:numero>", body)
    assert numbers == ["50", "49", "48"]
    assert "http://www.opengis.net/gml/3.2" not in body
    assert 'srsName="urn:ogc:def:crs:EPSG::2154"' in body
    assert "VERSION=1.1.0&amp;REQUEST=DescribeFeatureType" in body


def test_post_get_feature_110_with_filter_and_sort(client, parcels):
    document = """<wfs:GetFeature service="WFS" version="1.1.0" maxFeatures="5"
      xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc"
      xmlns:gml="http://www.opengis.net/gml" xmlns:f="https://capgeo.cap-atlantique.fr/wfs">
      <wfs:Query typeName="f:wfs_parcelles" srsName="EPSG:2154">
        <wfs:PropertyName>f:numero</wfs:PropertyName>
        <ogc:Filter><ogc:And>
          <ogc:PropertyIsGreaterThan><ogc:PropertyName>f:numero</ogc:PropertyName>
            <ogc:Literal>10</ogc:Literal></ogc:PropertyIsGreaterThan>
          <ogc:BBOX><ogc:PropertyName>f:geom</ogc:PropertyName>
            <gml:Envelope srsName="EPSG:2154"><gml:lowerCorner>288000 6700000</gml:lowerCorner>
            <gml:upperCorner>289000 6700020</gml:upperCorner></gml:Envelope></ogc:BBOX>
        </ogc:And></ogc:Filter>
        <ogc:SortBy><ogc:SortProperty><ogc:PropertyName>f:numero</ogc:PropertyName>
          <ogc:SortOrder>DESC</ogc:SortOrder></ogc:SortProperty></ogc:SortBy>
      </wfs:Query></wfs:GetFeature>"""
    response = client.post("/ows", document, content_type="text/xml")
    body = read(response).decode()
    assert response.status_code == 200, body
    expected = [row[0] for row in query(
        'SELECT numero FROM layers_data."wfs_parcelles" WHERE numero > 10 AND ST_Intersects(geom, '
        "ST_MakeEnvelope(288000, 6700000, 289000, 6700020, 2154)) ORDER BY numero DESC LIMIT 5")]
    assert [int(n) for n in re.findall(r"<capgeo:numero>(\d+)<", body)] == expected
    assert expected and "<capgeo:nom>" not in body


def test_fes_11_like_and_feature_id_filters(client, parcels):
    like = ('<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsLike wildCard="*" '
            'singleChar="." escape="!"><ogc:PropertyName>nom</ogc:PropertyName>'
            "<ogc:Literal>*îlot*</ogc:Literal></ogc:PropertyIsLike></ogc:Filter>")
    body = read(client.get(GF + "FILTER=" + quote(like))).decode()
    assert re.findall(r"<capgeo:numero>(\d+)<", body) == ["7", "14", "21", "28", "35", "42", "49"]
    fid = query('SELECT fid FROM layers_data."wfs_parcelles" WHERE numero = 3')[0][0]
    ids = (f'<Filter><FeatureId fid="wfs_parcelles.{fid}"/></Filter>')  # no namespace: allowed
    body = read(client.get(GF + "FILTER=" + quote(ids))).decode()
    assert re.findall(r"<capgeo:numero>(\d+)<", body) == ["3"]


def test_bbox_axis_order_follows_the_srs_name_form(client, parcels):
    (lon1, lat1, lon2, lat2), = query(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform("
        "ST_MakeEnvelope(288000, 6700000, 288090, 6700030, 2154), 4326)::box2d b) s")
    expected = {row[0] for row in query(
        'SELECT numero FROM layers_data."wfs_parcelles" WHERE ST_Intersects(geom, ST_Transform('
        "ST_MakeEnvelope(%s, %s, %s, %s, 4326), 2154))", [lon1, lat1, lon2, lat2])}
    assert expected
    for bbox in (f"{lon1},{lat1},{lon2},{lat2},EPSG:4326",
                 f"{lat1},{lon1},{lat2},{lon2},urn:ogc:def:crs:EPSG::4326"):
        body = read(client.get(GF + "BBOX=" + bbox)).decode()
        assert {int(n) for n in re.findall(r"<capgeo:numero>(\d+)<", body)} == expected, bbox


def test_geojson_output_in_110(client, parcels):
    response = client.get(GF + "OUTPUTFORMAT=application/json&MAXFEATURES=2")
    assert response.status_code == 200 and read(response).count(b'"type":"Feature"') == 2


@pytest.mark.parametrize("url, code, locator", [
    (BASE + "REQUEST=GetFeature&TYPENAME=inconnue", "InvalidParameterValue", "typeName"),
    (GF + "MAXFEATURES=1000000000", "InvalidParameterValue", "maxFeatures"),
    (GF + "MAXFEATURES=abc", "InvalidParameterValue", None),
    (GF + "BBOX=1,2,3", "InvalidParameterValue", "bbox"),
    (GF + "BBOX=a,b,c,d", "InvalidParameterValue", "bbox"),
    (GF + "BBOX=1,2,3,4&FEATUREID=wfs_parcelles.1", "InvalidParameterValue", "bbox"),
    (GF + "SRSNAME=EPSG:32631", "InvalidParameterValue", None),
    (GF + "OUTPUTFORMAT=application/pdf", "InvalidParameterValue", "outputFormat"),
    (GF + "FILTER=%3Cogc:Filter", "InvalidParameterValue", "filter"),
    (GF + "FILTER=" + quote("<fes:Filter xmlns:fes='urn:x'/>"), "InvalidParameterValue",
     "filter"),
    (GF + "FILTER=" + quote('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Filter/>'),
     "InvalidParameterValue", "filter"),
    (GF + "FILTER=" + quote('<Filter><PropertyIsEqualTo><PropertyName>numero</PropertyName>'
                            "<Literal>1 OR 1=1</Literal></PropertyIsEqualTo></Filter>"),
     None, None),
    (BASE + "REQUEST=GetFeature&STOREDQUERY_ID=x", "InvalidParameterValue", "storedQuery_id"),
    (BASE + "REQUEST=Transaction", "OperationNotSupported", "request"),
    (BASE + "REQUEST=GetPropertyValue&TYPENAME=x", "OperationNotSupported", "request"),
])
def test_bad_110_requests_get_ows_10_reports(client, parcels, url, code, locator):
    assert_report(client.get(url), code, locator)
    assert query('SELECT count(*) FROM layers_data."wfs_parcelles"')[0][0] == 50


@pytest.mark.parametrize("document, code", [
    ('<wfs:GetFeature service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs">'
     '<wfs:Query typeName="absente"/></wfs:GetFeature>', "InvalidParameterValue"),
    ('<wfs:GetFeature service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs">'
     '<wfs:Autre/></wfs:GetFeature>', "OperationNotSupported"),
    ('<wfs:LockFeature service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs"/>',
     "OperationNotSupported"),
    ('<wfs:GetFeature service="WFS" version="1.1.0" xmlns:wfs="http://www.opengis.net/wfs" '
     'xmlns:ogc="http://www.opengis.net/ogc"><wfs:Query typeName="wfs_parcelles"><ogc:Filter>'
     "<ogc:Inconnu/></ogc:Filter></wfs:Query></wfs:GetFeature>", None),
])
def test_bad_110_post_documents(client, parcels, document, code):
    response = client.post("/ows", document, content_type="text/xml")
    body = read(response)
    assert response.status_code == 400, body
    root = ET.fromstring(body)
    assert root.tag == f"{OWS10}ExceptionReport" and root.get("version") == "1.0.0"
    if code:
        assert root.find(f"{OWS10}Exception").get("exceptionCode") == code


# --- WFS-T as QGIS 3.22 sends it to a 2.0 connection -------------------------------------------
QGIS_322_INSERT = (
    '<Transaction xmlns="http://www.opengis.net/wfs" version="1.0.0" service="WFS" '
    'xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs" xmlns:gml="http://www.opengis.net/gml">'
    '<Insert xmlns="http://www.opengis.net/wfs"><acces_spanc xmlns="https://capgeo.cap-atlantique.fr/wfs">'
    '<code_insee>44069</code_insee><nom>Essai QGIS 3.22</nom><geom><gml:Point '
    'srsName="urn:ogc:def:crs:EPSG::2154"><gml:coordinates ts=" " cs=",">290500.25,6706010.5'
    "</gml:coordinates></gml:Point></geom></acces_spanc></Insert></Transaction>")


def test_qgis_322_transaction_gets_an_answer_both_qgis_readers_accept(client, scenario):
    """The document captured from QGIS 3.22 (docs/tools/qgis_screenshots.py --edit-check):
    version="1.0.0", GML 2 coordinates. QGIS 3.22 reads TransactionResult/Status/SUCCESS and
    InsertResult; newer QGIS reads TransactionSummary and InsertResults."""
    client.force_login(User.objects.get(username="controleur.spanc"))
    response = client.post("/ows", QGIS_322_INSERT, content_type="text/xml")
    assert response.status_code == 200, response.content
    root = ET.fromstring(response.content)
    wfs, ogc = WFS11, "{http://www.opengis.net/ogc}"
    assert root.tag == f"{wfs}WFS_TransactionResponse" and root.get("version") == "1.0.0"
    assert root.find(f"{wfs}TransactionResult/{wfs}Status/{wfs}SUCCESS") is not None
    fid = root.find(f"{wfs}InsertResult/{ogc}FeatureId").get("fid")
    assert root.find(f"{wfs}InsertResults/{wfs}Feature/{ogc}FeatureId").get("fid") == fid
    assert root.find(f"{wfs}TransactionSummary/{wfs}totalInserted").text == "1"
    number = int(fid.split(".")[1])
    assert query('SELECT nom, ST_X(geom), ST_Y(geom) FROM layers_data."acces_spanc" '
                 "WHERE fid = %s", [number]) == [("Essai QGIS 3.22", 290500.25, 6706010.5)]


@pytest.mark.parametrize("operator, sql", [("DWithin", "<="), ("Beyond", ">")])
def test_distance_operators_with_gml_311_operands(client, parcels, operator, sql):
    fes = (f'<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml">'
           f"<ogc:{operator}><ogc:PropertyName>geom</ogc:PropertyName>"
           '<gml:Point srsName="EPSG:2154"><gml:coordinates>288100,6700100</gml:coordinates>'
           f'</gml:Point><ogc:Distance units="m">120</ogc:Distance></ogc:{operator}></ogc:Filter>')
    body = read(client.get(GF + "FILTER=" + quote(fes))).decode()
    expected = {row[0] for row in query(
        'SELECT numero FROM layers_data."wfs_parcelles" WHERE ST_Distance(geom, '
        f"ST_SetSRID(ST_MakePoint(288100, 6700100), 2154)) {sql} 120")}
    assert 0 < len(expected) < 50
    assert {int(n) for n in re.findall(r"<capgeo:numero>(\d+)<", body)} == expected


def test_namespace_parameter_in_110_form(client, parcels):
    response = client.get(BASE + "REQUEST=GetFeature&TYPENAME=f:wfs_parcelles&MAXFEATURES=2&"
                          "NAMESPACE=" + quote("xmlns(f=https://capgeo.cap-atlantique.fr/wfs)"))
    assert response.status_code == 200 and b'numberOfFeatures="2"' in read(response)


def test_empty_filters_are_refused_in_both_versions(client, parcels):
    assert_report(client.get(GF + "FILTER=" + quote("<Filter></Filter>")),
                  "InvalidParameterValue", "filter")
    empty_20 = quote('<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"></fes:Filter>')
    response = client.get("/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&"
                          f"TYPENAMES=wfs_parcelles&FILTER={empty_20}")
    assert response.status_code == 400 and b"<ows:ExceptionReport" in response.content
