"""Real clients of /ogc/ against the live test server: OWSLib's ogcapi.features, GDAL's OAPIF
driver, and QGIS 3.22's OGC API – Features provider (where Debian's python3-qgis is installed,
with a fresh HOME per run) — exact counts, every feature once, across pages."""
import json
import os
import subprocess
from pathlib import Path

import pytest
from owslib.ogcapi.features import Features

from layers.models import Layer
from wms.tests.wfs_support import PARCEL_COUNT, PARCELS, make_parcels

pytestmark = pytest.mark.django_db(transaction=True)
SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_oapif.py")


@pytest.fixture
def landing(live_server):
    make_parcels()
    return live_server.url + "/ogc/"


def test_owslib_reads_the_landing_page_collections_and_every_item(landing):
    api = Features(landing, timeout=60)
    assert any(c["id"] == PARCELS for c in api.collections()["collections"])
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        api.conformance()["conformsTo"]
    assert api.collection_queryables(PARCELS)["properties"]["numero"]["type"] == "integer"
    page = api.collection_items(PARCELS, limit=500)
    assert page["numberMatched"] == PARCEL_COUNT and len(page["features"]) == 500
    one = api.collection_item(PARCELS, str(page["features"][0]["id"]))
    assert one["id"] == page["features"][0]["id"]
    api.api()  # the OpenAPI document parses


def test_gdal_oapif_reads_every_feature_once(landing, tmp_path):
    env = dict(os.environ, GDAL_HTTP_TIMEOUT="60", CPL_DEBUG="OFF", OGR_OAPIF_PAGE_SIZE="300")
    info = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{landing}", PARCELS],
                          capture_output=True, text=True, timeout=120, env=env)
    assert info.returncode == 0, info.stderr
    assert f"Feature Count: {PARCEL_COUNT}" in info.stdout
    target = tmp_path / "parcelles.geojson"
    copy = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{landing}", PARCELS],
                          capture_output=True, text=True, timeout=180, env=env)
    assert copy.returncode == 0, copy.stderr
    numbers = [f["properties"]["numero"] for f in json.loads(target.read_text())["features"]]
    assert len(numbers) == len(set(numbers)) == PARCEL_COUNT


def pyqgis_available():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return probe.returncode == 0


@pytest.mark.skipif(not pyqgis_available(), reason="PyQGIS absent (Debian python3-qgis): QGIS "
                    "is not a dependency of C@p Géo, this check runs where it is installed")
@pytest.mark.parametrize("name, username", [(PARCELS, None), ("communes", None),
                                            ("installations_anc", "admin.sig")])
def test_qgis_loads_a_collection_over_oapif_with_exact_counts(landing, tmp_path, name,
                                                              username):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    command = [SYSTEM_PYTHON, str(SCRIPT), landing, name]
    if username:
        command += [username, "demo-capgeo"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["valid"], read
    expected = Layer.objects.get(name=name).feature_count
    assert read["read"] == expected, read
    assert read["featureCount"] in (expected, -1), read
