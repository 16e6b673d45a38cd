"""The viewer's JSON configuration, search, saved maps and gallery, with Django's test client
against the demo catalogue and the shared access scenario (real PostGIS)."""
import io
import json

import pytest
from django.urls import reverse
from PIL import Image

from accounts.models import User
from territory.models import Commune
from layers.models import Audience, Layer
from layers.testing import GUERANDE, LA_BAULE, build_access_scenario

from webmap.models import SavedMap, SavedMapLayer

pytestmark = pytest.mark.django_db

PUBLIC_DEMO = {"communes", "mairies", "zones_activite"}
RESTRICTED_DEMO = {"reseau_fibre", "installations_anc"}


def client_for(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def tree_names(config):
    return {layer["name"] for theme in config["themes"] for layer in theme["layers"]}


def get_config(client, **params):
    response = client.get(reverse("webmap:config"), params)
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_anonymous_tree_has_only_public_layers(client):
    status, config = get_config(client)
    assert status == 200
    names = tree_names(config)
    assert PUBLIC_DEMO <= names
    assert not names & RESTRICTED_DEMO
    assert [b["name"] for b in config["basemaps"]] == ["communes", "aucun"]
    theme_titles = [theme["title"] for theme in config["themes"]]
    assert len(theme_titles) == len(set(theme_titles))  # grouped: one entry per theme
    communes = next(l for t in config["themes"] for l in t["layers"] if l["name"] == "communes")
    assert communes["metadata_url"] == "/catalogue/communes/"
    minx, miny, maxx, maxy = communes["extent"]
    assert -300000 < minx < maxx < -200000 and 5.9e6 < miny < maxy < 6.1e6  # EPSG:3857


def test_agent_sees_the_layers_of_their_role_and_commune(client):
    _, config = get_config(client_for(client, "agent.guerande"))
    assert PUBLIC_DEMO | RESTRICTED_DEMO <= tree_names(config)


def test_viewer_page_embeds_the_same_configuration(client):
    response = client.get(reverse("webmap:viewer"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="wm-config"' in html and "vendor/ol/ol.js" in html and "vendor/proj4/proj4.js" in html
    assert "reseau_fibre" not in html and "installations_anc" not in html
    assert "Rechercher une commune" in html
    assert "csrftoken" in response.cookies  # the print request posts with it


def search(client, text):
    response = client.get(reverse("webmap:search"), {"q": text})
    return response.status_code, response.json()


def labels(result, layer=None):
    return [r["label"] for g in result.get("groups", []) if g["layer"] == layer for r in g["results"]]


def test_search_communes_ignores_case_and_accents(client):
    for text in ("guérande", "GUERANDE", "44069"):
        status, result = search(client, text)
        assert status == 200
        assert labels(result) == ["Guérande (44069)"], text
    guerande = Commune.objects.get(insee=GUERANDE).geom.transform(3857, clone=True).extent
    _, result = search(client, "guerande")
    extent = result["groups"][0]["results"][0]["extent"]
    assert extent == pytest.approx(guerande, abs=1)


def test_search_layer_values_and_no_commune_twice(client):
    _, result = search(client, "moulin")
    zones = labels(result, "zones_activite")
    assert zones and all("Moulin" in label for label in zones)
    _, result = search(client, "Guérande")
    assert "Guérande (44069)" in labels(result)
    assert not any(label.startswith("Guérande") for label in labels(result, "communes"))


@pytest.mark.parametrize("text", ["%", "_", "' OR 1=1 --", "\\", "a" * 100, "é%_'\"; DROP TABLE x"])
def test_search_hostile_text_is_plain_text(client, text):
    status, result = search(client, text)
    assert status == 200
    assert "error" not in result
    if text in ("%", "_"):
        assert result["groups"] == []


def test_search_bad_input_answers_in_french(client):
    status, result = search(client, "x" * 101)
    assert status == 400 and "trop longue" in result["error"]
    status, result = search(client, "a")
    assert status == 200 and "au moins" in result["message"]


@pytest.fixture
def scenario(db):
    layers = build_access_scenario()
    Layer.objects.filter(name__in=layers).update(searchable=True, search_fields=["nom"])
    return layers


@pytest.mark.parametrize("username, expected", [
    ("anonymous", None),
    ("agent.guerande", ["Mairie de Guérande"]),
    ("agent.labaule", ["Mairie de La Baule-Escoublac"]),
])
def test_search_applies_the_row_filter(client, scenario, username, expected):
    _, result = search(client_for(client, username), "mairie de")
    found = labels(result, "acces_territoire")
    assert (found or None) == expected
    # Layers the user may not view do not even appear as a group.
    groups = {g["layer"] for g in result["groups"]}
    if username == "anonymous":
        assert groups <= {None, "acces_public", "mairies"}
    if username == "agent.labaule":
        assert "acces_guerande" not in groups


def make_map(slug, layers, audience=Audience.PUBLIC, communes=(), **fields):
    saved_map = SavedMap.objects.create(slug=slug, title=slug.replace("-", " ").title(),
                                        audience=audience, **fields)
    if communes:
        saved_map.communes.set(Commune.objects.filter(insee__in=communes))
    for position, (name, opacity) in enumerate(layers):
        SavedMapLayer.objects.create(saved_map=saved_map, layer=Layer.objects.get(name=name),
                                     position=position, opacity=opacity)
    return saved_map


def test_saved_map_drops_layers_the_visitor_may_not_view(client):
    make_map("test-reseaux", [("communes", 1.0), ("reseau_fibre", 0.7), ("mairies", 0.5)])
    status, config = get_config(client, carte="test-reseaux")
    assert status == 200
    assert config["map"]["title"] == "Test Reseaux"
    assert config["initial"]["layers"] == [
        {"name": "communes", "style": "", "opacity": 1.0, "visible": True},
        {"name": "mairies", "style": "", "opacity": 0.5, "visible": True},
    ]
    assert config["notices"] == ["1 couche de cette carte n'est pas affichée : elle a été "
                                 "supprimée ou son accès vous est restreint."]
    assert "reseau_fibre" not in json.dumps(config)
    _, config = get_config(client_for(client, "agent.guerande"), carte="test-reseaux")
    assert [l["name"] for l in config["initial"]["layers"]] == ["communes", "reseau_fibre", "mairies"]
    assert config["notices"] == []


def test_saved_map_with_a_deleted_layer_opens_with_a_notice(client, scenario):
    make_map("scenario", [("acces_public", 1.0), ("acces_connectes", 1.0)])
    Layer.objects.get(name="acces_public").delete()
    response = client_for(client, "agent.guerande").get("/carte/scenario/")
    assert response.status_code == 200
    config = response.context["config"]
    assert [l["name"] for l in config["initial"]["layers"]] == ["acces_connectes"]
    assert "elle a été supprimée" in config["notices"][0]
    assert SavedMapLayer.objects.get(layer_name="acces_public").layer is None


def test_map_shared_with_a_commune_is_invisible_to_others(client):
    make_map("guerande-seulement", [("communes", 1.0)], audience=Audience.COMMUNES,
             communes=[GUERANDE])
    response = client.get("/carte/guerande-seulement/")
    assert response.status_code == 404
    assert "n'existe pas ou ne vous est pas accessible" in response.content.decode()
    assert 'id="map"' in response.content.decode()  # the viewer still opens
    assert client.get("/carte/?carte=guerande-seulement").status_code == 404
    status, config = get_config(client, carte="guerande-seulement")
    assert status == 404 and "n'existe pas" in config["error"]
    assert "guerande-seulement" not in client.get(reverse("webmap:gallery")).content.decode()
    assert client.get("/carte/guerande-seulement/vignette.png").status_code == 404

    labaule = client_for(client, "agent.labaule")
    assert labaule.get("/carte/guerande-seulement/").status_code == 404
    client.logout()
    guerande = client_for(client, "agent.guerande")
    assert guerande.get("/carte/guerande-seulement/").status_code == 200
    assert "guerande-seulement" in guerande.get(reverse("webmap:gallery")).content.decode()


def test_gallery_thumbnail_is_rendered_for_the_visitor(client):
    make_map("zones", [("zones_activite", 1.0)])
    page = client.get(reverse("webmap:gallery")).content.decode()
    assert "/carte/zones/vignette.png" in page
    response = client.get("/carte/zones/vignette.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (320, 200)
    assert len(image.getcolors(1 << 20)) > 3  # sea, communes, zones: not a blank picture


def test_thumbnail_of_restricted_rows_differs_by_commune(client):
    make_map("fibre", [("reseau_fibre", 1.0)], audience=Audience.AUTHENTICATED,
             basemap="aucun")
    guerande = client_for(client, "agent.guerande").get("/carte/fibre/vignette.png").content
    client.logout()
    labaule = client_for(client, "agent.labaule").get("/carte/fibre/vignette.png").content
    assert guerande != labaule


def test_reserved_slug_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        SavedMap(slug="cartes", title="x").full_clean()


def test_admin_saved_map_pages_in_french(client):
    admin = client_for(client, "admin.sig")
    make_map("admin-carte", [("communes", 1.0)])
    page = admin.get(reverse("admin:webmap_savedmap_changelist"), HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200 and "carte enregistrée" in page.content.decode()
    saved = SavedMap.objects.get(slug="admin-carte")
    page = admin.get(reverse("admin:webmap_savedmap_change", args=[saved.pk]))
    assert page.status_code == 200 and "Couches de la carte" in page.content.decode()


def test_search_every_word_in_any_order(client):
    _, result = search(client, "moulin zone")
    assert any("Moulin" in label for label in labels(result, "zones_activite"))
    _, result = search(client, "la baule 44055")
    assert labels(result) == ["La Baule-Escoublac (44055)"]


def test_remote_basemaps_are_offered_through_the_policy(client):
    from layers.models import AccessRule, Permission, RemoteLayer, RemoteService

    service = RemoteService.objects.create(title="IGN", url="https://data.example.fr/wms",
                                           protocol=RemoteService.Protocol.WMS)
    for name, audience in (("ortho_publique", Audience.PUBLIC), ("ortho_interne", Audience.AUTHENTICATED)):
        remote = RemoteLayer.objects.create(service=service, identifier=name, title=name,
                                            wgs84_bbox=[-2.6, 47.2, -2.2, 47.5])
        layer = Layer.objects.create(name=name, title=name.replace("_", " "), kind=Layer.Kind.REMOTE,
                                     usage=Layer.Usage.BASEMAP, remote_layer=remote)
        AccessRule.objects.create(layer=layer, audience=audience, permission=Permission.VIEW)
    _, config = get_config(client)
    assert [b["name"] for b in config["basemaps"]] == ["communes", "ortho_publique", "aucun"]
    assert not tree_names(config) & {"ortho_publique", "ortho_interne"}  # basemaps, not overlays
    _, config = get_config(client_for(client, "agent.guerande"))
    assert "ortho_interne" in [b["name"] for b in config["basemaps"]]
