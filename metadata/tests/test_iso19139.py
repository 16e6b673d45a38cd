"""ISO 19139 records of the catalogue's layers: valid against the ISO 19139 schemas shipped in the
pycsw package, with the INSPIRE elements (TG 2.0) for layers that have an INSPIRE theme."""
import pytest
from lxml import etree

from layers.models import Layer, Permission
from metadata import iso19139, schemas

pytestmark = pytest.mark.django_db
NS = {"gmd": iso19139.GMD, "gco": iso19139.GCO, "gmx": iso19139.GMX, "xlink": iso19139.XLINK}
BASE = "https://sig.example.org"


def texts(root, path):
    return [node.text for node in root.xpath(path, namespaces=NS)]


@pytest.mark.parametrize("name", ["communes", "mairies", "zones_activite", "reseau_fibre",
                                  "installations_anc"])
def test_every_demo_layer_gives_a_record_valid_against_the_iso_19139_schemas(name):
    layer = Layer.objects.select_related("theme", "owner_commune").get(name=name)
    root = iso19139.record(layer, BASE, {Permission.VIEW, Permission.DOWNLOAD}, public=True)
    assert schemas.errors(root) == []
    assert texts(root, "gmd:fileIdentifier/gco:CharacterString") == [str(layer.uuid)]
    assert root.find("gmd:hierarchyLevel/gmd:MD_ScopeCode", NS).get("codeListValue") == "dataset"
    assert texts(root, "//gmd:citation/gmd:CI_Citation/gmd:title/gco:CharacterString") == [
        layer.title]


def test_the_inspire_elements_are_there_for_a_layer_with_an_inspire_theme():
    layer = Layer.objects.get(name="communes")
    root = iso19139.record(layer, BASE, {Permission.VIEW, Permission.DOWNLOAD}, public=True)
    # Theme keyword from the GEMET INSPIRE themes thesaurus, with its URI.
    theme = root.xpath("//gmd:descriptiveKeywords/gmd:MD_Keywords[gmd:thesaurusName]",
                       namespaces=NS)[0]
    assert texts(theme, "gmd:keyword/gmx:Anchor") == ["Unités administratives"]
    assert theme.xpath("gmd:keyword/gmx:Anchor/@xlink:href", namespaces=NS) == [
        "http://inspire.ec.europa.eu/theme/au"]
    assert texts(theme, "gmd:thesaurusName//gmd:title/gco:CharacterString") == [
        "GEMET - INSPIRE themes, version 1.0"]
    assert root.find(".//gmd:topicCategory/gmd:MD_TopicCategoryCode", NS).text == "boundaries"
    # Geographic box measured on the data in WGS 84.
    west, south, east, north = layer.extent_wgs84.extent
    assert float(texts(root, "//gmd:westBoundLongitude/gco:Decimal")[0]) == pytest.approx(west,
                                                                                         abs=1e-6)
    assert float(texts(root, "//gmd:northBoundLatitude/gco:Decimal")[0]) == pytest.approx(north,
                                                                                          abs=1e-6)
    # Resolution, conformity to the interoperability regulation, lineage, limitations, licence.
    assert texts(root, "//gmd:denominator/gco:Integer") == ["50000"]
    assert "1089/2010" in texts(root, "//gmd:DQ_ConformanceResult/gmd:specification//gmd:title/"
                                      "gco:CharacterString")[0]
    assert texts(root, "//gmd:LI_Lineage/gmd:statement/gco:CharacterString") == [layer.lineage]
    anchors = root.xpath("//gmd:otherConstraints/gmx:Anchor/@xlink:href", namespaces=NS)
    assert any(href.endswith("LimitationsOnPublicAccess/noLimitations") for href in anchors)
    assert "https://www.etalab.gouv.fr/licence-ouverte-open-licence/" in anchors
    assert texts(root, "//gmd:maintenanceAndUpdateFrequency/gmd:MD_MaintenanceFrequencyCode") == [
        "annually"]
    # Distributions: services for everyone who views, downloads for those who may download.
    protocols = texts(root, "//gmd:CI_OnlineResource/gmd:protocol/gco:CharacterString")
    assert {"OGC:WMS", "OGC:WFS", "OGC:API-Features",
            "WWW:DOWNLOAD-1.0-http--download"} <= set(protocols)


def test_downloads_are_listed_only_for_an_audience_that_may_download():
    layer = Layer.objects.get(name="communes")
    root = iso19139.record(layer, BASE, {Permission.VIEW}, public=False)
    protocols = texts(root, "//gmd:CI_OnlineResource/gmd:protocol/gco:CharacterString")
    assert "WWW:DOWNLOAD-1.0-http--download" not in protocols
    anchors = root.xpath("//gmd:otherConstraints/gmx:Anchor/@xlink:href", namespaces=NS)
    assert not any(href.endswith("noLimitations") for href in anchors)
    assert schemas.errors(root) == []


def test_a_layer_without_theme_nor_scale_still_gives_a_valid_record():
    layer = Layer.objects.get(name="zones_activite")
    layer.inspire_theme, layer.scale_denominator, layer.keywords, layer.lineage = "", None, [], ""
    layer.theme.inspire_theme = ""
    root = iso19139.record(layer, BASE, {Permission.VIEW}, public=True)
    assert schemas.errors(root) == []
    assert not root.xpath("//gmd:thesaurusName", namespaces=NS)


def test_a_temporal_extent_is_written_as_a_gml_period():
    import datetime

    layer = Layer.objects.get(name="mairies")
    layer.temporal_start = datetime.date(2020, 1, 1)
    root = iso19139.record(layer, BASE, {Permission.VIEW}, public=True)
    assert schemas.errors(root) == []
    assert root.xpath("//gml:beginPosition/text()",
                      namespaces={"gml": iso19139.GML}) == ["2020-01-01"]


def test_a_schema_error_is_reported():
    """The validation really checks: a record without its mandatory contact fails."""
    layer = Layer.objects.get(name="mairies")
    root = iso19139.record(layer, BASE, {Permission.VIEW}, public=True)
    root.remove(root.find("gmd:contact", NS))
    assert any("contact" in error for error in schemas.errors(etree.tostring(root)))
