"""/healthz reports the database and PostGIS versions, or 503 with the reason."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_postgis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["database"].startswith("15") or data["database"][0].isdigit()
    assert data["postgis"].startswith("3.")
    assert "GEOS" in data["postgis_full"] and "PROJ" in data["postgis_full"]


def test_healthz_503_when_the_database_is_unreachable():
    # A real server process view of an unreachable database: nothing listens on port 9.
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz', HTTP_HOST='localhost');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = dict(os.environ, DATABASE_URL="postgis://capgeo:x@127.0.0.1:9/capgeo",
               DJANGO_SETTINGS_MODULE="capgeo.settings")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["status"] == "error"
    assert "unreachable" in result["body"]["reason"]


@pytest.mark.django_db
def test_media_root_is_not_served(client, settings, tmp_path):
    # Received import files hold restricted data: no URL maps onto MEDIA_ROOT.
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "imports").mkdir()
    (tmp_path / "imports" / "secret.geojson").write_text("{}")
    assert client.get("/media/imports/secret.geojson").status_code == 404


@pytest.mark.django_db
def test_error_pages_are_french_and_inside_the_site(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()
