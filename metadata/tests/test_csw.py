"""The CSW catalogue /csw (pycsw embedded) read by real clients: OWSLib's CatalogueServiceWeb and
GDAL's CSW driver against the live server, and raw requests for the protocol's edges.

What it must hold: exactly the layers the anonymous public may view (never a restricted one,
whoever asks), their ISO 19139 records valid against the schemas, filters working, and a layer
withdrawn from the public gone from the next answer."""
import os
import subprocess
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsLike

from layers.access import AccessPolicy
from layers.models import AccessRule, Audience, Layer, Permission
from metadata import schemas

GMD = "http://www.isotc211.org/2005/gmd"
CSW2 = "{http://www.opengis.net/cat/csw/2.0.2}"
CSW3 = "{http://www.opengis.net/cat/csw/3.0}"
OWS = "{http://www.opengis.net/ows}"


def public_uuids():
    return {str(u) for u in AccessPolicy.for_user(AnonymousUser()).layers(Permission.VIEW)
            .filter(kind=Layer.Kind.VECTOR).values_list("uuid", flat=True)}


def restricted_layers():
    return Layer.objects.exclude(uuid__in=[uuid.UUID(u) for u in public_uuids()])


@pytest.fixture
def csw_url(live_server):
    return live_server.url + "/csw"


@pytest.mark.django_db(transaction=True)
def test_owslib_reads_capabilities_and_exactly_the_public_layers(csw_url):
    csw = CatalogueServiceWeb(csw_url, version="2.0.2", timeout=60)
    assert csw.identification.type == "CSW"
    assert "Cap Atlantique" in csw.identification.title
    assert {op.name for op in csw.operations} >= {"GetCapabilities", "GetRecords",
                                                   "GetRecordById", "DescribeRecord"}
    csw.getrecords2(maxrecords=100, esn="full")
    expected = public_uuids()
    assert expected and restricted_layers().exists()
    assert set(csw.records) == expected
    assert csw.results["matches"] == len(expected)
    restricted_titles = set(restricted_layers().values_list("title", flat=True))
    assert not restricted_titles & {record.title for record in csw.records.values()}


@pytest.mark.django_db(transaction=True)
def test_owslib_iso_records_are_valid_and_hold_the_catalogue_metadata(csw_url):
    csw = CatalogueServiceWeb(csw_url, version="2.0.2", timeout=60)
    csw.getrecords2(maxrecords=100, esn="full", outputschema=GMD)
    communes = Layer.objects.get(name="communes")
    record = csw.records[str(communes.uuid)]
    assert record.identification[0].title == communes.title
    assert record.hierarchy == "dataset"
    assert "Unités administratives" in [keyword for group in record.identification[0].keywords
                                        for keyword in group.keywords and
                                        [k.name for k in group.keywords]]
    for identifier in csw.records:
        assert schemas.errors(csw.records[identifier].xml) == []


@pytest.mark.django_db(transaction=True)
def test_owslib_filters_by_text_and_by_box_and_fetches_by_id(csw_url):
    csw = CatalogueServiceWeb(csw_url, version="2.0.2", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%mairie%")], esn="full")
    mairies = Layer.objects.get(name="mairies")
    assert set(csw.records) == {str(mairies.uuid)}
    # A box over Guérande meets every public layer; one over the Alps none.
    csw.getrecords2(constraints=[BBox([47.30, -2.45, 47.35, -2.40])], esn="brief")
    assert set(csw.records) == public_uuids()
    csw.getrecords2(constraints=[BBox([45.0, 6.0, 46.0, 7.0])], esn="brief")
    assert csw.records == {} or len(csw.records) == 0
    csw.getrecordbyid(id=[str(mairies.uuid)], outputschema=GMD)
    assert list(csw.records) == [str(mairies.uuid)]


@pytest.mark.django_db(transaction=True)
def test_a_restricted_layer_is_never_listed_even_to_an_administrator(csw_url):
    hidden = restricted_layers().first()
    csw = CatalogueServiceWeb(csw_url, version="2.0.2", timeout=60, username="admin.sig",
                              password="demo-capgeo")
    csw.getrecordbyid(id=[str(hidden.uuid)])
    assert len(csw.records) == 0
    csw.getrecords2(maxrecords=100)
    assert str(hidden.uuid) not in csw.records


@pytest.mark.django_db(transaction=True)
def test_a_layer_withdrawn_from_the_public_leaves_the_next_answer(csw_url):
    csw = CatalogueServiceWeb(csw_url, version="2.0.2", timeout=60)
    mairies = Layer.objects.get(name="mairies")
    csw.getrecords2(maxrecords=100)
    assert str(mairies.uuid) in csw.records
    AccessRule.objects.filter(layer=mairies, audience=Audience.PUBLIC).delete()
    csw.getrecords2(maxrecords=100)
    assert str(mairies.uuid) not in csw.records
    AccessRule.objects.create(layer=mairies, audience=Audience.PUBLIC, permission=Permission.VIEW)
    Layer.objects.filter(pk=mairies.pk).update(title="Hôtels de ville")
    csw.getrecords2(maxrecords=100)
    assert csw.records[str(mairies.uuid)].title == "Hôtels de ville"


@pytest.mark.django_db(transaction=True)
def test_gdal_csw_driver_lists_the_public_records(csw_url):
    env = dict(os.environ, GDAL_HTTP_TIMEOUT="60", CPL_DEBUG="OFF")
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-q", f"CSW:{csw_url}"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert info.returncode == 0, info.stderr
    for layer in Layer.objects.filter(uuid__in=[uuid.UUID(u) for u in public_uuids()]):
        assert f"identifier (String) = {layer.uuid}" in info.stdout
    for layer in restricted_layers():
        assert str(layer.uuid) not in info.stdout


@pytest.mark.django_db
def test_csw_3_capabilities_and_records(client):
    response = client.get("/csw", {"service": "CSW", "request": "GetCapabilities",
                                   "acceptversions": "3.0.0"})
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert root.tag == f"{CSW3}Capabilities"
    # Without a version, 2.0.2 (what GDAL and most harvesters expect).
    response = client.get("/csw", {"service": "CSW", "request": "GetCapabilities"})
    assert etree.fromstring(response.content).tag == f"{CSW2}Capabilities"
    response = client.get("/csw", {"service": "CSW", "version": "3.0.0", "request": "GetRecords",
                                   "typenames": "csw:Record", "elementsetname": "full"})
    root = etree.fromstring(response.content)
    results = root.find(f"{CSW3}SearchResults")
    assert int(results.get("numberOfRecordsMatched")) == len(public_uuids())


@pytest.mark.django_db
def test_the_inspire_discovery_extended_capabilities_are_announced(client):
    response = client.get("/csw", {"service": "CSW", "version": "2.0.2",
                                   "request": "GetCapabilities"})
    assert b"inspire_ds:ExtendedCapabilities" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typenames": "csw:Record",
     "constraintlanguage": "CQL_TEXT", "constraint": "dc:title like '", "resulttype": "results"},
    {"service": "CSW", "version": "2.0.2", "request": "Frobnicate"},
    {"service": "CSW", "version": "2.0.2", "request": "GetRecords", "typenames": "csw:Record",
     "maxrecords": "-3"},
    {"service": "CSW", "version": "2.0.2", "request": "GetRecordById", "id": "x' OR 1=1 --"},
])
def test_bad_requests_answer_an_ows_exception_report(client, query):
    response = client.get("/csw", query)
    root = etree.fromstring(response.content)
    if root.tag == f"{CSW2}GetRecordByIdResponse":  # an unknown id: an empty answer
        assert response.status_code == 200 and len(root) == 0
    else:
        assert response.status_code == 400
        assert root.tag == f"{OWS}ExceptionReport", response.content[:300]


@pytest.mark.django_db
def test_a_document_with_a_doctype_is_refused_before_pycsw(client):
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" '
            b'version="2.0.2"><csw:Query typeNames="csw:Record"><csw:ElementSetName>&e;'
            b'</csw:ElementSetName></csw:Query></csw:GetRecords>')
    response = client.post("/csw", body, content_type="application/xml")
    assert response.status_code == 400
    assert b"ExceptionReport" in response.content and b"root:" not in response.content


@pytest.mark.django_db
def test_the_iso_record_of_a_layer_follows_the_access_policy(client):
    communes = Layer.objects.get(name="communes")
    response = client.get(f"/metadonnees/{communes.uuid}.xml")
    assert response.status_code == 200
    assert schemas.errors(response.content) == []
    hidden = restricted_layers().first()
    assert client.get(f"/metadonnees/{hidden.uuid}.xml").status_code == 404
    client.login(username="admin.sig", password="demo-capgeo")
    assert client.get(f"/metadonnees/{hidden.uuid}.xml").status_code == 200
