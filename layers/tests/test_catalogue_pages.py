"""The catalogue pages: only viewable layers are listed, searched, filtered, shown or pictured."""
import re

import pytest

from layers.access import AccessPolicy
from layers.models import Audience, Layer, Permission, Theme
from layers.testing import SCENARIO_EXPECTED_DOWNLOAD, SCENARIO_EXPECTED_ROWS, make_vector_layer

pytestmark = pytest.mark.django_db

DEMO_PUBLIC = {"communes", "mairies", "zones_activite"}
# Which demo layers each user may view (see layers/demo.py and docs/guide-sig.md).
DEMO_EXPECTED = {
    "anonymous": DEMO_PUBLIC,
    "agent.guerande": DEMO_PUBLIC | {"reseau_fibre", "installations_anc"},
    "agent.labaule": DEMO_PUBLIC | {"reseau_fibre", "installations_anc"},
    "controleur.spanc": DEMO_PUBLIC | {"reseau_fibre", "installations_anc"},
    "admin.sig": DEMO_PUBLIC | {"reseau_fibre", "installations_anc"},
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # thumbnails written by the tests stay out of var/media
    return tmp_path


@pytest.fixture
def client_for(client, scenario_user):
    def login(username):
        if username != "anonymous":
            client.force_login(scenario_user(username))
        return client
    return login


def listed_names(response):
    assert response.status_code == 200
    return {layer.name for layer in response.context["page"].paginator.object_list}


def card_links(response):
    return set(re.findall(r'href="/catalogue/([a-z0-9_]+)/"', response.content.decode()))


@pytest.mark.parametrize("username", list(SCENARIO_EXPECTED_ROWS))
def test_listing_shows_exactly_the_viewable_layers(access_scenario, client_for, scenario_user,
                                                    username):
    response = client_for(username).get("/catalogue/")
    names = listed_names(response)
    expected = set(SCENARIO_EXPECTED_ROWS[username]) | DEMO_EXPECTED[username]
    assert names & (set(access_scenario) | set(DEMO_EXPECTED["admin.sig"])) == expected
    policy = AccessPolicy.for_user(scenario_user(username))
    assert names == set(policy.layers(Permission.VIEW).values_list("name", flat=True))
    # The page itself links to no other layer.
    assert card_links(response) <= names
    assert response.context["page"].paginator.count == len(names)


def test_anonymous_page_never_mentions_restricted_layers(access_scenario, client):
    html = client.get("/catalogue/").content.decode()
    for hidden in ("acces_admins", "acces_connectes", "installations_anc", "reseau_fibre",
                   "Réseau fibre", "assainissement non collectif"):
        assert hidden not in html
    assert "Communes de Cap Atlantique" in html and "Licence Ouverte 2.0" in html


def test_cards_show_metadata_and_thumbnail(client):
    html = client.get("/catalogue/").content.decode()
    assert '/catalogue/communes/vignette.png' in html
    assert "Administratif" in html and "multi-polygones" in html


@pytest.mark.parametrize("text", ["reseau", "Réseau", "RESEAUX", "fib", "télécom"])
def test_search_ignores_accents_and_case(client_for, text):
    names = listed_names(client_for("agent.guerande").get("/catalogue/", {"q": text}))
    assert "reseau_fibre" in names
    assert "communes" not in names


def test_search_covers_keywords_theme_and_abstract(client_for):
    client = client_for("controleur.spanc")
    assert "installations_anc" in listed_names(client.get("/catalogue/", {"q": "spanc"}))
    assert listed_names(client.get("/catalogue/", {"q": "économie"})) == {"zones_activite"}
    assert "zones_activite" in listed_names(client.get("/catalogue/", {"q": "zone activite"}))
    assert "mairies" in listed_names(client.get("/catalogue/", {"q": "hôtels de ville"}))


def test_search_never_reveals_invisible_layers(client):
    assert listed_names(client.get("/catalogue/", {"q": "réseau fibre"})) == set()
    assert listed_names(client.get("/catalogue/", {"q": "SPANC"})) == set()


def test_search_text_with_tsquery_syntax_is_harmless(client):
    response = client.get("/catalogue/", {"q": "commune & | ! ( :* ' \\"})
    assert response.status_code == 200
    assert "communes" in listed_names(response)


def test_theme_filter(client):
    names = listed_names(client.get("/catalogue/", {"theme": "administratif"}))
    assert {"communes", "mairies"} <= names and "zones_activite" not in names
    assert all(Layer.objects.get(name=n).theme.slug == "administratif" for n in names)
    assert listed_names(client.get("/catalogue/", {"theme": "economie"})) == {"zones_activite"}


def test_theme_choices_only_count_visible_layers(client):
    response = client.get("/catalogue/")
    choices = dict(response.context["form"].fields["theme"].choices)
    assert "eau-assainissement" not in choices  # only the restricted ANC layer is there
    assert choices["economie"] == "Économie (1)"


def test_unknown_theme_is_reported_not_an_error(client):
    response = client.get("/catalogue/", {"theme": "n-existe-pas", "q": "mairie"})
    assert response.status_code == 200
    assert "Thème inconnu" in response.content.decode()
    assert "mairies" in listed_names(response)  # the valid text filter still applies


@pytest.fixture
def far_away_layer(db):
    # A public layer in Paris (Lambert-93), far from the peninsula.
    return make_vector_layer(
        "loin_d_ici", "POINT", [("nom", "text")],
        [{"nom": "Paris", "geom": "POINT(652000 6862000)"}],
        [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}],
    )


def test_bbox_filter_keeps_layers_whose_extent_intersects(client, far_away_layer):
    peninsula = listed_names(client.get("/catalogue/", {"bbox": "-2.55,47.25,-2.30,47.45"}))
    assert DEMO_PUBLIC <= peninsula and "loin_d_ici" not in peninsula
    paris = listed_names(client.get("/catalogue/", {"bbox": "2.2,48.8,2.5,48.9"}))
    assert paris == {"loin_d_ici"}


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "3,47,2,48", "-2,47,-1,95"])
def test_invalid_bbox_gives_a_french_message(client, bbox):
    response = client.get("/catalogue/", {"bbox": bbox})
    assert response.status_code == 200
    assert "emprise" in response.content.decode().lower()
    assert "bbox" in response.context["form"].errors
    assert DEMO_PUBLIC <= listed_names(response)  # the filter is ignored


def test_paging(client, db):
    theme = Theme.objects.get(slug="patrimoine")
    for i in range(14):
        make_vector_layer(f"monument_{i:02d}", "POINT", [("nom", "text")],
                          [{"nom": "x", "geom": "POINT(290000 6710000)"}],
                          [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}],
                          theme=theme)
    first = client.get("/catalogue/", {"theme": "patrimoine"})
    second = client.get("/catalogue/", {"theme": "patrimoine", "page": 2})
    assert first.context["page"].paginator.count == 14
    names = {l.name for l in first.context["page"]} | {l.name for l in second.context["page"]}
    assert len(first.context["page"]) == 12 and len(names) == 14
    assert "theme=patrimoine&amp;page=2" in first.content.decode()


@pytest.mark.parametrize("username", list(SCENARIO_EXPECTED_ROWS))
def test_detail_page_404_for_invisible_layers(access_scenario, client_for, username):
    client = client_for(username)
    for name in access_scenario:
        response = client.get(f"/catalogue/{name}/")
        assert response.status_code == (200 if name in SCENARIO_EXPECTED_ROWS[username] else 404)
    assert client.get("/catalogue/n_existe_pas/").status_code == 404


@pytest.mark.parametrize("username", list(SCENARIO_EXPECTED_ROWS))
def test_download_links_only_when_allowed(access_scenario, client_for, username):
    client = client_for(username)
    for name in SCENARIO_EXPECTED_ROWS[username]:
        html = client.get(f"/catalogue/{name}/").content.decode()
        link = f"/api/layers/{name}/features?f=gpkg"
        assert (link in html) == (name in SCENARIO_EXPECTED_DOWNLOAD[username]), name


def test_detail_shows_metadata_permissions_and_publications(client_for):
    response = client_for("controleur.spanc").get("/catalogue/installations_anc/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Installations d&#x27;assainissement non collectif", "Diffusion restreinte",
                 "code_insee", "character varying(5)", "conformite", "points",
                 "modifier (WFS-T, synchronisation)", "télécharger (exports, WFS)",
                 "démo", "Eau et assainissement", "EPSG:2154"):
        assert text in html, text
    assert "Vous ne voyez que les objets" not in html  # intercommunality staff: every row
    assert "/api/layers/installations_anc/features?f=geojson" in html


def test_detail_tells_agents_their_rows_are_restricted(client_for):
    html = client_for("agent.guerande").get("/catalogue/installations_anc/").content.decode()
    assert "Vous ne voyez que les objets de votre commune" in html
    assert "consulter (carte, WMS, tuiles)" in html
    assert "/api/layers/installations_anc/features" not in html  # view only


def test_detail_links_admins_to_the_admin(client_for):
    layer = Layer.objects.get(name="communes")
    html = client_for("admin.sig").get("/catalogue/communes/").content.decode()
    assert f"/admin/layers/layer/{layer.pk}/change/" in html
