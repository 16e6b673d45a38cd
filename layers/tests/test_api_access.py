"""The shared access scenario through the REST API and every export format.

For each user: exactly the expected layers in /api/layers/, exactly the expected town halls (by
code_insee) in each layer's features page and in its GeoJSON, CSV and GeoPackage exports, 404 for
the layers they may not view, 403 for exports of layers they may view but not download.

The GeoPackage is written by ogr2ogr, which reads PostgreSQL through its own connection and so
sees committed data only: those tests run on a copy of the scenario committed for their class
(and removed after it), the others on the usual per-test transaction.
"""
import csv
import io
import json

import pytest
from django.contrib.gis.gdal import DataSource

from accounts.models import User
from layers.models import Layer
from layers.testing import (SCENARIO_EXPECTED_DOWNLOAD, SCENARIO_EXPECTED_ROWS, SCENARIO_RULES,
                            build_access_scenario)

USERS = ["anonymous", "agent.guerande", "agent.labaule", "controleur.spanc", "admin.sig"]
CASES = [(user, layer) for user in USERS for layer in SCENARIO_RULES]


def log_in(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def expected_status(username, layer, export):
    if layer not in SCENARIO_EXPECTED_ROWS[username]:
        return 404
    if export and layer not in SCENARIO_EXPECTED_DOWNLOAD[username]:
        return 403
    return 200


def geojson_codes(content):
    return {feature["properties"]["code_insee"] for feature in json.loads(content)["features"]}


def csv_codes(content):
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    return {row["code_insee"] for row in rows}


@pytest.mark.parametrize("username", USERS)
def test_catalogue_lists_exactly_the_visible_layers(client, access_scenario, username):
    log_in(client, username)
    response = client.get("/api/layers/", {"limit": 500})
    assert response.status_code == 200
    body = response.json()
    items = {item["name"]: item for item in body["results"] if item["name"] in SCENARIO_RULES}
    assert set(items) == set(SCENARIO_EXPECTED_ROWS[username])
    for name, item in items.items():
        downloadable = name in SCENARIO_EXPECTED_DOWNLOAD[username]
        assert ("download" in item["permissions"]) == downloadable, name
        assert bool(item["links"]["exports"]) == downloadable, name
        assert item["links"]["features"].endswith(f"/api/layers/{name}/features")
    # Every layer listed is one the policy lets the user view (demo layers included).
    assert body["count"] == len(body["results"])


@pytest.mark.parametrize("username, layer", CASES)
def test_detail_and_features_page(client, access_scenario, username, layer):
    log_in(client, username)
    detail = client.get(f"/api/layers/{layer}/")
    page = client.get(f"/api/layers/{layer}/features")
    status = expected_status(username, layer, export=False)
    assert detail.status_code == status
    assert page.status_code == status
    if status == 200:
        assert detail.json()["name"] == layer
        assert geojson_codes(body_of(page)) == SCENARIO_EXPECTED_ROWS[username][layer]
    else:
        assert "introuvable" in page.json()["detail"]


@pytest.mark.parametrize("username, layer", CASES)
def test_geojson_and_csv_exports(client, access_scenario, username, layer):
    log_in(client, username)
    status = expected_status(username, layer, export=True)
    for fmt, read in (("geojson", geojson_codes), ("csv", csv_codes)):
        response = client.get(f"/api/layers/{layer}/features", {"f": fmt})
        assert response.status_code == status, (fmt, body_of(response)[:300])
        if status == 200:
            assert response["Content-Disposition"] == f'attachment; filename="{layer}.{fmt}"'
            assert read(body_of(response)) == SCENARIO_EXPECTED_ROWS[username][layer], fmt
        elif status == 403:
            assert "télécharger" in response.json()["detail"]
        else:
            assert "introuvable" in response.json()["detail"]


def test_writes_are_refused_to_everyone_but_gis_admins(client, access_scenario):
    for username in ("anonymous", "agent.guerande", "controleur.spanc"):
        log_in(client, username)
        assert client.patch("/api/layers/acces_public/", {"title": "X"},
                            content_type="application/json").status_code == 403
        assert client.delete("/api/layers/acces_public/").status_code == 403
        # Invisible layers too: the refusal does not tell whether they exist.
        assert client.delete("/api/layers/acces_admins/").status_code == 403
        client.logout()
    assert Layer.objects.get(name="acces_public").title != "X"


def _remove_scenario_layers():
    # Deleting a layer drops its tables (layers.signals).
    for layer in Layer.objects.filter(name__in=list(SCENARIO_RULES)):
        layer.delete()


@pytest.fixture(scope="class")
def committed_scenario(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _remove_scenario_layers()
        build_access_scenario()  # autocommit: visible to ogr2ogr's own connection
    yield
    with django_db_blocker.unblock():
        _remove_scenario_layers()


@pytest.mark.usefixtures("committed_scenario")
class TestGeoPackageExports:
    @pytest.mark.parametrize("username", USERS)
    def test_geopackage_holds_exactly_the_granted_rows(self, client, db, tmp_path, username):
        log_in(client, username)
        for layer in SCENARIO_RULES:
            response = client.get(f"/api/layers/{layer}/features", {"f": "gpkg"})
            status = expected_status(username, layer, export=True)
            assert response.status_code == status, (layer, body_of(response)[:300])
            if status != 200:
                continue
            assert response["Content-Type"] == "application/geopackage+sqlite3"
            assert f'filename="{layer}.gpkg"' in response["Content-Disposition"]
            path = tmp_path / f"{username}-{layer}.gpkg"
            path.write_bytes(body_of(response))
            source = DataSource(str(path))
            assert [lyr.name for lyr in source] == [layer]
            codes = {feature.get("code_insee") for feature in source[0]}
            assert codes == SCENARIO_EXPECTED_ROWS[username][layer], (username, layer)
            assert source[0].srs.srid == 2154
