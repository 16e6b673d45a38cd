"""The open-data portal (/donnees/): public layers only, for everyone; metadata, downloads,
service addresses, search and themes, the DCAT-AP feed.

The demo catalogue of the session database (committed) holds public layers (communes, mairies,
zones_activite) and restricted ones (reseau_fibre, installations_anc); the shared access scenario
(layers/testing.py) adds a layer under every kind of rule.
"""
import io
import json
import zipfile

import pytest
from django.contrib.gis.gdal import DataSource
from django.test import Client

from accounts.models import User
from layers.models import Layer, Licence
from layers.testing import SCENARIO_RULES, build_access_scenario

PUBLIC_DEMO = {"communes", "mairies", "zones_activite"}
RESTRICTED_DEMO = {"reseau_fibre", "installations_anc"}
USERS = ["anonymous", "agent.guerande", "controleur.spanc", "admin.sig"]


def client_for(username):
    client = Client()
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def listed(response):
    """Names of the datasets linked from a portal page."""
    assert response.status_code == 200
    text = response.content.decode()
    names = set(Layer.objects.values_list("name", flat=True))
    return {name for name in names if f'href="/donnees/{name}/"' in text}


@pytest.fixture
def scenario(db):
    return build_access_scenario()


@pytest.mark.parametrize("username", USERS)
def test_portal_lists_the_public_layers_for_everyone(scenario, username):
    response = client_for(username).get("/donnees/")
    assert listed(response) == PUBLIC_DEMO | {"acces_public"}
    text = response.content.decode()
    for name in RESTRICTED_DEMO | set(SCENARIO_RULES) - {"acces_public"}:
        assert name not in text, (username, name)
    assert "même pour tous les visiteurs" in text
    # Shared caches may keep the anonymous page, never a signed-in user's (name, CSRF token).
    expected = "public" if username == "anonymous" else "private"
    assert expected in response["Cache-Control"]


@pytest.mark.parametrize("username", USERS)
def test_restricted_sheets_are_404_even_for_admins(scenario, username):
    client = client_for(username)
    for name in RESTRICTED_DEMO | set(SCENARIO_RULES) - {"acces_public"} | {"nexiste_pas"}:
        assert client.get(f"/donnees/{name}/").status_code == 404, (username, name)


def test_restricted_licence_and_remote_layers_are_not_open_data(scenario):
    Layer.objects.filter(name="acces_public").update(licence=Licence.RESTRICTED)
    assert "acces_public" not in listed(Client().get("/donnees/"))
    assert Client().get("/donnees/acces_public/").status_code == 404


def test_sheet_shows_metadata_downloads_and_service_urls(db):
    response = Client().get("/donnees/communes/")
    assert response.status_code == 200
    text = response.content.decode()
    layer = Layer.objects.get(name="communes")
    for value in (layer.title, layer.abstract.split("\n")[0][:40], layer.get_licence_display(),
                  layer.attribution, layer.lineage[:40], layer.get_update_frequency_display(),
                  layer.get_geometry_type_display(), str(layer.feature_count), "EPSG:2154",
                  layer.keywords[0], layer.theme.name, layer.attributes[0]["name"]):
        assert str(value) in text, value
    base = "http://testserver/api/layers/communes/features"
    for code in ("geojson", "gpkg", "csv", "shp"):
        assert f'href="{base}?f={code}"' in text
    assert 'value="http://testserver/ows?SERVICE=WMS&amp;REQUEST=GetCapabilities"' in text
    assert 'value="http://testserver/ows?SERVICE=WFS&amp;REQUEST=GetCapabilities"' in text
    assert 'src="/catalogue/communes/vignette.png"' in text
    assert Client().get("/catalogue/communes/vignette.png")["Content-Type"] == "image/png"


def test_download_links_return_the_data(db):
    client = Client()
    collection = json.loads(b"".join(client.get(
        "/api/layers/communes/features?f=geojson").streaming_content))
    assert len(collection["features"]) == Layer.objects.get(name="communes").feature_count == 15
    lines = b"".join(client.get("/api/layers/mairies/features?f=csv").streaming_content)
    assert lines.decode().count("\r\n") == 1 + Layer.objects.get(name="mairies").feature_count
    # ogr2ogr formats read the committed demo catalogue.
    response = client.get("/api/layers/mairies/features?f=shp")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "mairies.shp" in archive.namelist()
    response = client.get("/api/layers/communes/features?f=gpkg")
    assert response.status_code == 200


def test_wms_and_wfs_addresses_answer(db):
    client = Client()
    wms = client.get("/ows?SERVICE=WMS&REQUEST=GetCapabilities")
    assert wms.status_code == 200 and b"<Name>communes</Name>" in wms.content
    wfs = client.get("/ows?SERVICE=WFS&REQUEST=GetCapabilities")
    assert wfs.status_code == 200 and b"capgeo:communes" in wfs.content


def test_search_and_theme_filters(db):
    client = Client()
    assert listed(client.get("/donnees/", {"q": "mairie"})) == {"mairies"}
    assert listed(client.get("/donnees/", {"q": "fibre"})) == set()  # restricted: never found
    theme = Layer.objects.get(name="zones_activite").theme.slug
    by_theme = listed(client.get("/donnees/", {"theme": theme}))
    assert "zones_activite" in by_theme and by_theme <= PUBLIC_DEMO
    response = client.get("/donnees/", {"theme": "inconnu"})
    assert "Thème inconnu" in response.content.decode()
    assert listed(response) == PUBLIC_DEMO  # an invalid filter is reported and ignored
    # A NUL character is refused by the platform's input guard: a French page, not a 500.
    refused = client.get("/donnees/", {"q": "nul\x00"})
    assert refused.status_code == 400 and "caractère nul" in refused.content.decode()


def names_of(identifiers):
    """Layer names of the feed's dct:identifier values (the layers' UUIDs)."""
    return set(Layer.objects.filter(uuid__in=list(identifiers)).values_list("name", flat=True))


def test_dcat_feed_describes_public_datasets_only(scenario):
    response = client_for("admin.sig").get("/donnees/catalogue.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    feed = json.loads(response.content)
    assert feed["@type"] == "dcat:Catalog"
    datasets = {item["dct:identifier"]: item for item in feed["dcat:dataset"]}
    assert names_of(datasets) == PUBLIC_DEMO | {"acces_public"}
    assert len(datasets) == len(PUBLIC_DEMO) + 1
    communes = datasets[str(Layer.objects.get(name="communes").uuid)]
    assert communes["dct:license"]["@id"].startswith("https://www.etalab.gouv.fr/")
    assert communes["dcat:landingPage"]["@id"] == "http://testserver/donnees/communes/"
    formats = {d["dct:format"] for d in communes["dcat:distribution"]}
    assert formats == {"GeoJSON", "GPKG", "CSV", "SHP", "WMS", "WFS", "OGC API Features"}
    assert all(d["dct:license"]["@id"] == communes["dct:license"]["@id"]
               for d in communes["dcat:distribution"])
    assert communes["dct:spatial"]["dcat:bbox"]["@value"].startswith("POLYGON((-2.")
    assert communes["dct:accrualPeriodicity"]["@id"].startswith(
        "http://publications.europa.eu/resource/authority/frequency/")


def test_nav_link_on_every_page(db):
    text = Client().get("/").content.decode()
    assert 'href="/donnees/"' in text and "Données ouvertes" in text


def test_dcat_rdf_xml_says_the_same_as_the_json_ld(scenario):
    from lxml import etree

    response = Client().get("/donnees/catalogue.rdf")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rdf+xml")
    root = etree.fromstring(response.content)
    ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dcat": "http://www.w3.org/ns/dcat#",
          "dct": "http://purl.org/dc/terms/"}
    assert root.tag == "{%s}RDF" % ns["rdf"]
    datasets = root.xpath("//dcat:Dataset", namespaces=ns)
    identifiers = {d.findtext("dct:identifier", namespaces=ns) for d in datasets}
    assert names_of(identifiers) == PUBLIC_DEMO | {"acces_public"}
    uuid = str(Layer.objects.get(name="communes").uuid)
    communes = next(d for d in datasets if d.findtext("dct:identifier", namespaces=ns) == uuid)
    assert communes.get("{%s}about" % ns["rdf"]) == "http://testserver/donnees/communes/"
    license = communes.find("dct:license", namespaces=ns).get("{%s}resource" % ns["rdf"])
    assert license.startswith("https://www.etalab.gouv.fr/")
    bbox = communes.find("dct:spatial/dct:Location/dcat:bbox", namespaces=ns)
    assert bbox.get("{%s}datatype" % ns["rdf"]) == "http://www.opengis.net/ont/geosparql#wktLiteral"
    assert len(communes.xpath("dcat:distribution/dcat:Distribution", namespaces=ns)) == 7
    assert b"acces_guerande" not in response.content
