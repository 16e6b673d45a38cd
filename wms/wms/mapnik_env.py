"""The one place that imports mapnik.

The mapnik wheel points PROJ_LIB / GDAL_DATA at its bundled copies when they are unset, which
would also change what GeoDjango's GDAL/PROJ read in this process: keep the system ones.
(settings.py may set these first; setdefault then leaves them alone.)
"""
import os

os.environ.setdefault("PROJ_LIB", "/usr/share/proj")
os.environ.setdefault("GDAL_DATA", "/usr/share/gdal")

import mapnik  # noqa: E402

FONTS_DIR = mapnik.paths.fontscollectionpath

__all__ = ["mapnik", "FONTS_DIR"]
