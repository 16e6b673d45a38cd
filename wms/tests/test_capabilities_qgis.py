"""QGIS itself sees a layer published after it first connected (optional: needs python3-qgis).

QGIS keeps GetCapabilities in its network disk cache (in the profile, under HOME). A first QGIS
run (fresh HOME) connects and opens a WFS and a WMS layer; a layer is then published; a second
run with the same HOME, hence the same cache, opens the new layer. QGIS 3.22 asks for
capabilities with Qt's PreferCache and drops Cache-Control from the entries it keeps: with
no-cache, max-age=0 and an immediate Expires, its second run still answered from its disk cache
without a request ("Could not find typename", 3 runs out of 3 on a quiet machine); with
no-store, which Qt never stores, it asks again and finds the layer (3 out of 3).

Skipped where Debian's python3-qgis is not installed (it is not a dependency of C@p Géo)."""
import json
import os
import subprocess

import pytest

from layers.models import Audience, Permission
from layers.testing import make_vector_layer

from .test_wfs_110_qgis import SYSTEM_PYTHON, pyqgis_available

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not pyqgis_available(),
                       reason="PyQGIS absent (apt-get install python3-qgis): QGIS is not a "
                              "dependency of C@p Géo, this check runs where it is installed"),
]

SCRIPT = r"""
import json, os, sys
from qgis.PyQt.QtCore import QCoreApplication
from qgis.core import QgsApplication, QgsRasterLayer, QgsVectorLayer

profile = os.path.join(os.environ["HOME"], "profil-qgis")  # the same for both runs
os.environ["QGIS_CUSTOM_CONFIG_PATH"] = profile
QCoreApplication.setOrganizationName("QGIS")
QCoreApplication.setApplicationName("QGIS3")
app = QgsApplication([], True, profile)
app.setPrefixPath("/usr", True)
app.initQgis()
base, names = sys.argv[1], sys.argv[2:]
out = {}
for name in names:
    wfs = QgsVectorLayer(f"url='{base}/ows' typename='capgeo:{name}' version='2.0.0' "
                         "pagingEnabled='true' restrictToRequestBBOX='0'", name, "WFS")
    wms = QgsRasterLayer(f"url={base}/ows&layers={name}&styles=&format=image/png&crs=EPSG:2154",
                         name, "wms")
    out[name] = {"wfs": wfs.isValid(), "features": wfs.featureCount() if wfs.isValid() else None,
                 "wms": wms.isValid()}
    del wfs, wms
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down a headless application
"""


def qgis(tmp_path, base, *names):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home"),
           "XDG_RUNTIME_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
           "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
           "XDG_CACHE_HOME": str(tmp_path / "home" / ".cache")}
    (tmp_path / "home").mkdir(exist_ok=True)
    result = subprocess.run([SYSTEM_PYTHON, "-c", SCRIPT, base, *names], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def publish(name):
    return make_vector_layer(name, "POINT", [("nom", "text")],
                             [{"nom": "un", "geom": "POINT(290000 6706000)"}],
                             [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}])


def test_qgis_sees_a_layer_published_after_it_connected(live_server, tmp_path):
    publish("qgis_avant")
    first = qgis(tmp_path, live_server.url, "qgis_avant", "qgis_apres")
    assert first["qgis_avant"]["wfs"] and first["qgis_avant"]["features"] == 1
    assert first["qgis_avant"]["wms"]
    assert not first["qgis_apres"]["wfs"]  # not published yet
    publish("qgis_apres")
    second = qgis(tmp_path, live_server.url, "qgis_apres")
    assert second["qgis_apres"]["wfs"], second
    assert second["qgis_apres"]["features"] == 1 and second["qgis_apres"]["wms"]
