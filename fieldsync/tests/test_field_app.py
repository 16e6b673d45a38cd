"""The field app's server side: the page (SPANC staff only), the service worker and its shell,
the web app manifest and its icons, the session probe the app asks before syncing."""
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from PIL import Image

from fieldsync.terrain import messages, views

from .conftest import user

pytestmark = pytest.mark.django_db


SCRIPTS_DIR = Path(views.__file__).resolve().parents[1] / "static" / "terrain"
PLACEHOLDER = re.compile(r"%\(\w+\)s")
# The same word in both languages: the only texts the English page may keep as in French.
SAME_IN_ENGLISH = {"versionInParentheses", "installation", "zone", "comments", "photos",
                   "position", "appliedVersion", "entityInstallation",
                   "longitude", "latitude", "reportDescription"}


def json_script(html, element_id):
    return json.loads(html.split(f'id="{element_id}" type="application/json">')[1]
                      .split("</script>")[0])


def client_for(username=None):
    client = Client()
    if username:
        client.force_login(user(username))
    return client


def test_page_is_for_spanc_staff_and_asks_anonymous_users_to_log_in():
    anonymous = client_for().get("/terrain/")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/connexion/?next=/terrain/"
    assert client_for("agent.guerande").get("/terrain/").status_code == 403
    assert client_for("lecteur").get("/terrain/").status_code == 403
    page = client_for("controleur.spanc").get("/terrain/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="fr"' in html and "Synchroniser" in html
    assert "/static/vendor/ol/ol.js" in html and "/terrain/manifest.webmanifest" in html
    config = json.loads(html.split('id="terrain-config" type="application/json">')[1]
                        .split("</script>")[0])
    assert config["urls"]["push"] == "/api/sync/push/"
    assert config["urls"]["login"] == "/connexion/?next=/terrain/"
    assert config["communes"]["44069"] == "Guérande"
    assert 0 < config["photoChunkBytes"] <= 8 * 1024 * 1024
    # The shell holds no personal data: the service worker caches it for whoever uses the tablet.
    assert "controleur.spanc" not in html
    assert client_for("responsable.spanc").get("/terrain/").status_code == 200


def test_nav_link_only_for_spanc_roles():
    assert 'href="/terrain/"' in client_for("controleur.spanc").get("/").content.decode()
    assert 'href="/terrain/"' not in client_for("agent.guerande").get("/").content.decode()
    assert 'href="/terrain/"' not in client_for().get("/").content.decode()


def test_service_worker_caches_every_shell_file_under_a_content_version():
    response = client_for().get("/terrain/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/terrain/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    version = views.shell_version()
    assert f'"terrain-shell-" + VERSION' in body and f'const VERSION = "{version}"' in body
    shell = json.loads(body.split("const SHELL_URLS = ")[1].split(";\n")[0])
    assert shell[:2] == ["/terrain/", "/terrain/manifest.webmanifest"]
    for url in shell[2:]:  # every file of the shell exists
        assert url.startswith("/static/")
        assert views._static_file(url.removeprefix("/static/")).is_file(), url


def test_shell_version_follows_the_content_of_the_files(tmp_path, settings):
    before = views.shell_version()
    override = tmp_path / "terrain"
    override.mkdir()
    (override / "terrain.css").write_text("body { color: red; }")
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    assert views.shell_version() != before


def test_manifest_and_icons():
    manifest = client_for().get("/terrain/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["start_url"] == "/terrain/" and data["scope"] == "/terrain/"
    assert data["display"] == "standalone" and data["lang"] == "fr"
    for icon in data["icons"]:
        path = views._static_file(icon["src"].removeprefix("/static/"))
        if icon["type"] == "image/png":
            with Image.open(path) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]


def test_session_probe():
    assert client_for().get("/terrain/session/").json() == {
        "authenticated": False, "login_url": "/connexion/?next=/terrain/"}
    answer = client_for("controleur.spanc").get("/terrain/session/")
    assert "no-cache" in answer["Cache-Control"]
    body = answer.json()
    assert body["authenticated"] and body["allowed"] and body["username"] == "controleur.spanc"
    assert len(body["csrf_token"]) > 20
    assert client_for("agent.guerande").get("/terrain/session/").json()["allowed"] is False


def test_page_and_script_texts_in_french_by_default():
    response = client_for("controleur.spanc").get("/terrain/")
    html = response.content.decode()
    assert '<html lang="fr">' in html
    texts = json_script(html, "terrain-messages")
    assert texts["online"] == "En ligne"
    assert texts["noPending"] == "Aucune modification en attente"
    assert texts["pendingChanges"] == {"one": "%(count)s modification en attente",
                                       "other": "%(count)s modifications en attente"}
    assert texts["photoCaption"] == "Légende"
    assert json_script(html, "terrain-config")["language"] == "fr"
    # A language the platform does not offer falls back to French too.
    german = client_for("controleur.spanc").get("/terrain/", HTTP_ACCEPT_LANGUAGE="de")
    assert json_script(german.content.decode(), "terrain-messages") == texts


def assert_english_page(response):
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Download my assignments" in html and "Télécharger mes attributions" not in html
    assert json_script(html, "terrain-config")["language"] == "en"
    texts = json_script(html, "terrain-messages")
    assert texts["online"] == "Online" and texts["offline"] == "Offline"
    assert texts["pendingChanges"] == {"one": "%(count)s pending change",
                                       "other": "%(count)s pending changes"}
    assert texts["controlsDownloaded"]["other"] == "%(count)s inspections downloaded."
    assert texts["photoCaption"] == "Caption"  # the photo's, not the map legend
    return texts


def test_page_and_script_texts_in_english_from_accept_language_or_cookie():
    english = assert_english_page(client_for("controleur.spanc").get(
        "/terrain/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9"))
    client = client_for("controleur.spanc")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert assert_english_page(client.get("/terrain/", HTTP_ACCEPT_LANGUAGE="fr")) == english

    french = json_script(client_for("controleur.spanc").get("/terrain/").content.decode(),
                         "terrain-messages")
    assert english.keys() == french.keys()
    for key, text in french.items():
        forms = text.values() if isinstance(text, dict) else [text]
        english_forms = english[key].values() if isinstance(text, dict) else [english[key]]
        for fr, en in zip(forms, english_forms, strict=True):
            assert en, key
            assert set(PLACEHOLDER.findall(en)) == set(PLACEHOLDER.findall(fr)), key
            assert en != fr or key in SAME_IN_ENGLISH, f"{key} left in French: {fr}"


def test_every_text_the_scripts_ask_for_exists():
    with translation.override("fr"):
        known = messages.field_messages().keys()
    asked = set()
    for script in SCRIPTS_DIR.rglob("*.js"):
        source = script.read_text()
        # t("key", …) and t(condition ? "key" : "other", …)
        for match in re.finditer(r'\bt\((?:[^()]*?\?\s*)?"(\w+)"(?:\s*:\s*"(\w+)")?', source):
            asked.update(key for key in match.groups() if key)
        # a record type's label (terrain/records.js), shown through t()
        asked.update(re.findall(r'\blabel: "(\w+)"', source))
    assert len(asked) > 100
    assert asked - known == set()
    assert known - asked == set()  # no text left behind by a change of the scripts


def test_manifest_follows_the_language():
    english = client_for().get("/terrain/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["lang"] == "en" and english["short_name"] == "C@p Géo field app"
    assert client_for().get("/terrain/manifest.webmanifest").json()["lang"] == "fr"
