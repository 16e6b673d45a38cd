"""Images of one layer for the tile caches, drawn by the map renderer (maps.renderer).

The same cached Mapnik Map as a GetMap of the layer in the same style: PostGIS reprojects
and applies the Grant's row filter, Mapnik draws the style's rules. A change of style therefore
shows in the tiles as soon as their cache is purged (wms.tiles.signals).
"""
from maps import catalogue, png, renderer
from maps.crs import crs_for

SRIDS = (2154, 3857)  # the grids' CRSs (wms.tiles.grids)


def render_png(grant, bbox, srid, width, height, style_name=""):
    """A transparent PNG (RGBA) of the granted rows of a layer over bbox (in EPSG:srid, east/north
    order), in the named style (the default one for ""), or None when nothing is drawn there.
    An unknown style raises MapError. Not journaled here: an image drawn for a cache is shown
    to whoever asks for its tiles, each tile served is journaled by the tile view
    (wms.tiles.views_mapproxy), cache hit or not."""
    served = catalogue.ServedLayer(grant, catalogue.style_named(grant.layer, style_name))
    image = renderer.render([served], crs_for(f"EPSG:{srid}", "1.3.0"), tuple(bbox), width,
                            height, None, journal=False)
    if image.is_solid() and image.get_pixel(0, 0) == 0:
        return None  # MapProxy stores no file for a blank tile
    return png.encode(image, opaque=False)
