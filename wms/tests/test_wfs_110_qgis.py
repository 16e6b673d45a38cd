"""WFS-T from QGIS itself (optional): docs/tools/qgis_screenshots.py --edit-check drives PyQGIS
against the live test server, over a WFS 2.0.0 and a WFS 1.1.0 connection, as admin.sig: adds
a feature (commitChanges), reads it back, deletes it (commitChanges). PostGIS then holds the
same rows as before and the history the two inserts and two deletes.

Skipped where Debian's python3-qgis is not installed (CI does not install it: QGIS is only a
documentation tool here, see docs/qgis.md)."""
import os
import subprocess
from pathlib import Path

import pytest

from layers.models import FeatureChange, Layer

from .wfs_support import PARCEL_COUNT, PARCELS, make_parcels, query

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "tools" / "qgis_screenshots.py"


def pyqgis_available():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return probe.returncode == 0


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not pyqgis_available(),
                       reason="PyQGIS absent (apt-get install qgis python3-qgis): QGIS is not a "
                              "dependency of C@p Géo, this check runs where it is installed"),
]


def test_qgis_edits_over_wfs_t_in_both_versions(live_server, tmp_path):
    layer = make_parcels()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    result = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), "--url", live_server.url, "--no-screenshots", "--edit-check",
         "--edit-layer", PARCELS, "--edit-user", "admin.sig", "--edit-versions", "2.0.0,1.1.0"],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WFS-T 2.0.0 depuis QGIS : réussi" in result.stdout
    assert "WFS-T 1.1.0 depuis QGIS : réussi" in result.stdout
    assert query(f'SELECT count(*) FROM layers_data."{PARCELS}"')[0][0] == PARCEL_COUNT
    changes = list(FeatureChange.objects.filter(layer=layer).order_by("id"))
    assert [c.action for c in changes] == ["insert", "delete", "insert", "delete"]
    assert all(c.changed_by.username == "admin.sig" and c.source == "wfs-t" for c in changes)
    inserted = [c.new_values for c in changes if c.action == "insert"]
    assert [values["nom"].split()[3] for values in inserted] == ["2.0.0", "1.1.0"]
    # A 100 m square around the layer's centre, in Lambert-93 whatever the connection version.
    for values in inserted:
        ring = values["geom"]["coordinates"][0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        assert abs(max(xs) - min(xs) - 100) < 1e-6 and abs(max(ys) - min(ys) - 100) < 1e-6
        assert 288000 < min(xs) < 290100 and 6700000 < min(ys) < 6701600
    assert Layer.objects.get(pk=layer.pk).feature_count == PARCEL_COUNT
