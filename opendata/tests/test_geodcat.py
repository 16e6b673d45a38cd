"""The GeoDCAT-AP feed as data.gouv.fr's harvester reads it: JSON-LD, RDF/XML and Turtle saying
the same thing (parsed by rdflib), the fields it maps, Hydra paging, and a layer withdrawn from
the public gone from the next harvest."""
import json

import pytest
from django.test import Client
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from layers.models import AccessRule, Audience, Layer
from opendata import dcat

pytestmark = pytest.mark.django_db
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")


def graph(url, fmt, client=None):
    response = (client or Client()).get(url)
    assert response.status_code == 200, response.content[:300]
    return Graph().parse(data=response.content, format=fmt)


def datasets(g):
    return {str(g.value(d, DCTERMS.identifier)): d for d in g.subjects(RDF.type, DCAT.Dataset)}


def test_the_three_encodings_describe_the_same_datasets():
    json_ld = graph("/donnees/catalogue.json", "json-ld")
    turtle = graph("/donnees/catalogue.ttl", "turtle")
    rdf_xml = graph("/donnees/catalogue.rdf", "xml")
    identifiers = set(datasets(json_ld))
    assert identifiers and identifiers == set(datasets(turtle)) == set(datasets(rdf_xml))
    assert len(json_ld) == len(turtle)  # the same triples


def test_the_fields_the_national_harvester_maps():
    g = graph("/donnees/catalogue.ttl", "turtle")
    communes = Layer.objects.get(name="communes")
    subject = datasets(g)[str(communes.uuid)]
    assert str(g.value(subject, DCTERMS.title)) == communes.title
    assert str(g.value(subject, DCAT.landingPage)).endswith("/donnees/communes/")
    assert str(g.value(subject, DCTERMS.accrualPeriodicity)).endswith("/frequency/ANNUAL")
    assert g.value(subject, DCTERMS.issued) is not None
    assert g.value(subject, DCTERMS.modified) is not None
    themes = set(g.objects(subject, DCAT.theme))
    assert URIRef("http://inspire.ec.europa.eu/theme/au") in themes
    location = g.value(subject, DCTERMS.spatial)
    assert str(g.value(location, DCAT.bbox)).startswith("POLYGON((-2.")
    assert json.loads(str(g.value(location, Namespace("http://www.w3.org/ns/locn#").geometry)))[
        "type"] == "Polygon"
    contact = g.value(subject, DCAT.contactPoint)
    assert str(g.value(contact, VCARD.hasEmail)).startswith("mailto:")
    assert URIRef("http://www.opengis.net/def/crs/EPSG/0/2154") in set(
        g.objects(subject, DCTERMS.conformsTo))
    licence = g.value(subject, DCTERMS.license)
    distributions = list(g.objects(subject, DCAT.distribution))
    assert distributions and all(g.value(d, DCTERMS.license) == licence for d in distributions)
    record = g.value(subject, URIRef("http://xmlns.com/foaf/0.1/isPrimaryTopicOf"))
    assert str(record).endswith(f"/metadonnees/{communes.uuid}.xml")


def test_hydra_paging_walks_every_dataset_once(monkeypatch):
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    client = Client()
    seen, url = [], "/donnees/catalogue.json"
    while url:
        page = json.loads(client.get(url).content)
        seen += [item["dct:identifier"] for item in page["dcat:dataset"]]
        following = page["hydra:view"].get("hydra:next")
        url = following["@id"].replace("http://testserver", "") if following else None
    assert len(seen) == len(set(seen)) == page["hydra:view"]["hydra:totalItems"] > 2
    assert client.get("/donnees/catalogue.json?page=999").status_code == 404
    assert client.get("/donnees/catalogue.json?page=abc").status_code == 404


def test_a_layer_withdrawn_from_the_public_leaves_the_next_harvest():
    mairies = Layer.objects.get(name="mairies")
    assert str(mairies.uuid) in datasets(graph("/donnees/catalogue.ttl", "turtle"))
    AccessRule.objects.filter(layer=mairies, audience=Audience.PUBLIC).delete()
    assert str(mairies.uuid) not in datasets(graph("/donnees/catalogue.ttl", "turtle"))
