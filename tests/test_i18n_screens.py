"""The most visible screens and the protocols' error messages in English.

tests/test_i18n.py checks the catalogue and the home page; here the language switch of base.html
(Django's set_language view) is used on the web map, the layer catalogue, the reporting form (its
script's texts included), the public map of reports, the field app and the OGC API landing page,
and the errors of OGC API – Features filters, WFS and CSW follow Accept-Language. Real PostGIS,
Django's test client.
"""
import json
import re
from html import unescape

import pytest
from django.conf import settings

from accounts.models import User

pytestmark = pytest.mark.django_db

# (URL, user, French texts of the page, their English translations)
SCREENS = [
    ("/carte/", None, ["Carte du territoire"], ["Map of the territory"]),
    ("/catalogue/", None, ["Catalogue des couches"], ["Layer catalogue"]),
    ("/signalements/nouveau/", None,
     ["Signaler un problème dans l'espace public", "Envoyer le signalement",
      "Utiliser ma position"],
     ["Report a problem in public space", "Send the report", "Use my location"]),
    ("/signalements/", None, ["Carte des signalements"], ["Map of reports"]),
    ("/terrain/", "controleur.spanc", ["C@p Géo terrain — contrôles SPANC"],
     ["C@p Géo field app — SPANC inspections"]),
    ("/ogc/?f=html", None, ["Classes de conformité"], ["Conformance classes"]),
    ("/ogc/collections/communes/queryables?f=html", None,
     ["Propriétés interrogeables — ", "<th>Propriété</th>"],
     ["Queryable properties — ", "<th>Property</th>"]),
]


def switch_language(client, language):
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == language


def page_text(response):
    assert response.status_code == 200, response.content[:500]
    return unescape(response.content.decode())


@pytest.mark.parametrize("url,username,french,english", SCREENS,
                         ids=[screen[0] for screen in SCREENS])
def test_the_language_switch_shows_the_screen_in_english(client, url, username, french, english):
    if username:
        client.force_login(User.objects.get(username=username))
    html = page_text(client.get(url))
    assert re.search(r'<html lang="fr"', html)
    assert all(text in html for text in french)

    switch_language(client, "en")
    html = page_text(client.get(url))
    assert re.search(r'<html lang="en"', html)
    assert all(text in html for text in english), [t for t in english if t not in html]
    assert not [text for text in french if text in html]

    switch_language(client, "fr")
    assert all(text in page_text(client.get(url)) for text in french)


def form_script_messages(html):
    found = re.search(r'<script id="report-form-messages" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, "the reporting form hands its script's texts over as JSON"
    return json.loads(found.group(1))


def flat(messages):
    """{"key": text, "key.one": text, …}: counted texts have one entry per plural form."""
    texts = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            texts.update({f"{key}.{form}": text for form, text in value.items()})
        else:
            texts[key] = value
    return texts


def test_the_reporting_form_script_speaks_the_page_language(client):
    french = form_script_messages(page_text(client.get("/signalements/nouveau/")))
    assert french["placed"] == "Point placé : %(lat)s, %(lon)s"
    assert french["supports"] == {"one": "%(count)s soutien", "other": "%(count)s soutiens"}

    switch_language(client, "en")
    english = form_script_messages(page_text(client.get("/signalements/nouveau/")))
    assert english.keys() == french.keys()
    assert english["placed"] == "Point placed: %(lat)s, %(lon)s"
    assert english["sameProblem"] == "It is the same problem: support %(reference)s"
    assert english["supports"] == {"one": "%(count)s support", "other": "%(count)s supports"}
    # Every text is translated and keeps its placeholders.
    french, english = flat(french), flat(english)
    for key, text in french.items():
        assert english[key] != text, key
        assert sorted(re.findall(r"%\(\w+\)s", english[key])) == \
            sorted(re.findall(r"%\(\w+\)s", text)), key
    # The script uses these keys and no French text of its own.
    script = (settings.BASE_DIR / "signalements" / "static" / "signalements"
              / "report-form.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bt\('(\w+)'", script))
    assert used == {key.split(".")[0] for key in french}
    assert not re.search(r"'[^']*[àâçéèêîôûù][^']*'", script)


def test_ogc_api_filter_errors_follow_the_language(client):
    url = "/ogc/collections/communes/items"
    params = {"filter": "pas_une_colonne = 1", "filter-lang": "cql2-text"}
    french = client.get(url, params, HTTP_ACCEPT_LANGUAGE="fr").json()
    english = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en").json()
    assert french["code"] == english["code"] == "InvalidParameterValue"
    assert french["description"].startswith(
        "Propriété inconnue dans le filtre : « pas_une_colonne ».")
    assert english["description"].startswith(
        "Unknown property in the filter: “pas_une_colonne”. Queryable properties: ")

    crs = client.get(url, {"crs": "EPSG:9999"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert crs["description"].startswith("Coordinate system not offered for “crs”: EPSG:9999.")


def test_wfs_and_csw_errors_follow_the_language(client):
    wfs = client.get("/ows", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                              "TYPENAMES": "communes", "COUNT": "10000000"},
                     HTTP_ACCEPT_LANGUAGE="en")
    assert wfs.status_code == 400
    assert "exceeds the maximum of" in wfs.content.decode()

    assert 'xml:lang="en"' in wfs.content.decode()  # the report says which language it is in
    french = client.get("/ows", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                 "TYPENAMES": "communes", "COUNT": "10000000"},
                        HTTP_ACCEPT_LANGUAGE="fr")
    assert "dépasse le maximum de" in french.content.decode()
    assert 'xml:lang="fr"' in french.content.decode()

    csw = client.put("/csw", HTTP_ACCEPT_LANGUAGE="en")
    assert csw.status_code == 405
    assert "HTTP method not accepted: GET or POST." in csw.content.decode()
    assert 'language="en"' in csw.content.decode()
    french = client.put("/csw", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Méthode HTTP non acceptée : GET ou POST." in french.content.decode()
    assert 'language="fr"' in french.content.decode()


def test_wms_feature_info_page_is_in_the_language_asked(client):
    from territory.models import TownHall

    hall = TownHall.objects.get(commune__insee="44069")  # Guérande
    x, y = hall.location.x, hall.location.y
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo",
              "LAYERS": "communes", "QUERY_LAYERS": "communes", "STYLES": "",
              "CRS": "EPSG:2154", "BBOX": f"{x - 4000},{y - 3000},{x + 4000},{y + 3000}",
              "WIDTH": "400", "HEIGHT": "300", "I": "200", "J": "150", "FORMAT": "image/png",
              "INFO_FORMAT": "text/html"}
    english = page_text(client.get("/ows", params, HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="en">' in english and "Guérande" in english
    assert "Feature no. " in english and "Objet n° " not in english
    french = page_text(client.get("/ows", params, HTTP_ACCEPT_LANGUAGE="fr"))
    assert '<html lang="fr">' in french and "Objet n° " in french


def test_refusals_written_at_import_follow_the_language(client):
    """Texts defined once per process (DRF permission messages, WFS-T operation names) are
    translated when the refusal is written, not when their module was imported."""
    from layers.models import AccessRule, Layer, RuleAudience
    from layers.testing import build_access_scenario
    from wms.tests.wfs_support import basic, query

    build_access_scenario()
    # A rule that lets agent.guerande edit attributes of acces_public, but not delete.
    rule = AccessRule.objects.create(layer=Layer.objects.get(name="acces_public"),
                                     audience=RuleAudience.USERS,
                                     operations=["view", "update_attributes"])
    rule.users.add(User.objects.get(username="agent.guerande"))
    fid = query('SELECT min(fid) FROM layers_data."acces_public"')[0][0]
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" version="1.1.0" '
        'xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"><wfs:Delete '
        f'typeName="capgeo:acces_public"><ogc:Filter><ogc:FeatureId fid="acces_public.{fid}"/>'
        '</ogc:Filter></wfs:Delete></wfs:Transaction>')
    answers = {}
    for language in ("fr", "en"):
        response = client.post("/ows", data=document, content_type="text/xml",
                               HTTP_ACCEPT_LANGUAGE=language,
                               headers={"Authorization": basic("agent.guerande", "demo-capgeo")})
        assert response.status_code == 403
        answers[language] = unescape(response.content.decode())
    assert ("Vous n'avez pas le droit de supprimer des objets de la couche « acces_public » : "
            "rien n'a été enregistré.") in answers["fr"]
    assert ("You are not allowed to delete features from the layer “acces_public”: nothing was "
            "saved.") in answers["en"]

    # DRF's permission message of the catalogue API (a class attribute).
    client.force_login(User.objects.get(username="agent.guerande"))
    for language, text in (("fr", "Seuls les administrateurs SIG peuvent modifier le catalogue."),
                           ("en", "Only GIS administrators may change the catalogue.")):
        response = client.delete("/api/layers/acces_public/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 403
        assert response.json()["detail"] == text


def test_the_language_switch_names_each_language_in_itself_and_works_without_script(client):
    html = page_text(client.get("/"))
    assert '<option value="fr" lang="fr" selected>Français</option>' in html
    assert '<option value="en" lang="en">English</option>' in html
    assert '<noscript><button type="submit">Changer de langue</button></noscript>' in html
    switch_language(client, "en")
    html = page_text(client.get("/"))
    assert '<option value="fr" lang="fr">Français</option>' in html
    assert '<option value="en" lang="en" selected>English</option>' in html
    assert '<noscript><button type="submit">Change language</button></noscript>' in html
