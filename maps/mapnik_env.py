"""The one place that imports mapnik, and where its bundled fonts are.

capgeo/settings.py sets PROJ_LIB / GDAL_DATA to the system's before anything can import mapnik
(whose wheel would otherwise point them at its bundled copies, for GeoDjango's GDAL/PROJ too).
"""
import mapnik

FONTS_DIR = mapnik.paths.fontscollectionpath

__all__ = ["mapnik", "FONTS_DIR"]
