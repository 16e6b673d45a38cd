"""Catalogue events other modules react to (tile caches, search, …).

layer_data_changed: a layer's rows changed in place (WFS-T, synchronisation, edits).
Sent with ``layer`` (the Layer) and ``bbox`` ((minx, miny, maxx, maxy) in EPSG:2154 covering the
old and new geometries of the changed rows, or None when unknown: everything may have changed).

layer_published: a layer got a new published version (the publication pipeline, the demo
catalogue), sent with ``layer`` once the new version is in place; the map engine draws its
thumbnail again (maps.signals).
"""
from django.dispatch import Signal

layer_data_changed = Signal()
layer_published = Signal()
