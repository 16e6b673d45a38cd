"""Remote catalogue layers (kind=remote), one module per upstream protocol, as MapProxy's source/:

- base: what they share (the remote layer in a map, its style, CRS codes, image decoding);
- cache: the short-lived cache of remote answers, in front of layers.remote.fetch;
- wms, wmts, wfs: each one's check_crs(served, crs) and picture(served, crs, bbox_xy, width,
  height, depth); the WMS also answers GetFeatureInfo and legends.

maps.remote chooses the CRS to ask in and reprojects; maps.compose draws them with the local
layers. All remote requests go through layers.remote.fetch (SSRF guard, time and size limits).
"""
