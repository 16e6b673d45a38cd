"""The OpenAPI schema is valid, true to the features endpoint, and documented without any CDN."""
import json
import re

import pytest
from django.core.management import call_command


@pytest.fixture
def schema(db, tmp_path):
    path = tmp_path / "schema.yml"
    # --fail-on-warn: a view without a usable schema (or an invalid schema) fails the command.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(path))
    return json.loads(path.read_text())


def test_schema_describes_the_catalogue_and_the_features_parameters(schema):
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/layers/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/layers/{name}/"])
    features = paths["/api/layers/{name}/features"]["get"]
    parameters = {parameter["name"]: parameter for parameter in features["parameters"]}
    assert {"name", "f", "limit", "offset", "bbox", "bbox-crs", "crs", "attributs"} <= set(parameters)
    assert parameters["f"]["schema"]["enum"] == ["csv", "geojson", "gpkg", "shp"]
    assert set(parameters["crs"]["schema"]["enum"]) == {"2154", "3857", "4326"}
    assert set(features["responses"]) == {"200", "400", "403", "404", "503"}
    assert set(features["responses"]["200"]["content"]) == {
        "application/geo+json", "text/csv", "application/geopackage+sqlite3", "application/zip"}
    listing = {parameter["name"] for parameter in paths["/api/layers/"]["get"]["parameters"]}
    assert {"q", "theme", "bbox", "limit", "offset"} <= listing
    create = paths["/api/layers/"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert "202" in create["responses"]


def test_schema_and_documentation_pages_are_served_locally(client, db, settings):
    # The test run does not collect static files (run.sh setup does): plain storage, no manifest.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/layers/{name}/features" in response.content
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    links = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    assert links and not [u for u in links if u.startswith(("http:", "https:", "//"))], links
    assert "cdn" not in html.lower() and "googleapis" not in html
    # The sidecar's files are found by the static files finders (so collectstatic ships them).
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
