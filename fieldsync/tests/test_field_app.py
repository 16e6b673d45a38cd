"""The field app's server side: the page (SPANC staff only), the service worker and its shell,
the web app manifest and its icons, the session probe the app asks before syncing."""
import json

import pytest
from django.test import Client
from PIL import Image

from fieldsync.terrain import views

from .conftest import user

pytestmark = pytest.mark.django_db


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
