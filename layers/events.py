"""Catalogue events other modules react to (tile caches, search, …).

layer_data_changed: a layer's rows changed in place (WFS-T, synchronisation, edits).
Sent with ``layer`` (the Layer) and ``bbox`` ((minx, miny, maxx, maxy) in EPSG:2154 covering the
old and new geometries of the changed rows, or None when unknown: everything may have changed).
"""
from django.dispatch import Signal

layer_data_changed = Signal()
