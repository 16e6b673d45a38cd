"""Every catalogue model GIS staff edit has its admin page once Django has started, whatever the
tests import: checked in a fresh process (an admin registered only by a test module's import
would pass in the suite and be missing in production)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import django
django.setup()
from django.contrib import admin
from django.urls import reverse
from layers.models import Layer, RemoteService, Style, Theme
missing = [m.__name__ for m in (Layer, RemoteService, Style, Theme)
           if m not in admin.site._registry]
print("missing:", ",".join(missing))
print(reverse("admin:layers_style_add"), reverse("admin:layers_style_sld", args=[1]))
"""


def test_style_admin_and_its_sld_download_exist_in_a_fresh_process():
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "capgeo.settings"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "missing: "
    assert lines[-1] == "/admin/layers/style/add/ /admin/layers/style/1/sld/"
