"""Tiles: vector tiles (MVT) built by PostGIS, and cached raster tiles (WMTS/TMS) through MapProxy."""
