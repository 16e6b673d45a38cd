"""The two tile grids offered for cached tiles.

- GoogleMapsCompatible: Web Mercator (EPSG:3857), the OGC well-known scale set used by web maps
  (origin top-left, 256-pixel tiles, zoom levels 0 to MAX_WEBMERCATOR_LEVEL).
- LAMB93: Lambert-93 (EPSG:2154) over the projection's whole area of use (metropolitan France),
  origin top-left, 256-pixel tiles, power-of-two resolutions from 8,192 m per pixel (level 0,
  France in one tile) down to 0.125 m per pixel (level 16). Round resolutions keep tile edges on
  whole metres, so tiles can be recomputed from a bbox without drift.
"""
WEBMERCATOR, LAMBERT93 = "GoogleMapsCompatible", "LAMB93"
GRID_CHOICES = {"webmercator": WEBMERCATOR, "lambert93": LAMBERT93}  # seed_tiles --grid
GRID_SRID = {WEBMERCATOR: 3857, LAMBERT93: 2154}

MAX_WEBMERCATOR_LEVEL = 20
LAMBERT93_BBOX = [-357823.2365, 6037008.6939, 1313632.3628, 7230727.3772]
LAMBERT93_RESOLUTIONS = [8192.0 / (2 ** level) for level in range(17)]
LAMBERT93_TILE_SIZE = 256


def mapproxy_grids():
    return {
        WEBMERCATOR: {
            "base": "GLOBAL_WEBMERCATOR",
            "num_levels": MAX_WEBMERCATOR_LEVEL + 1,
        },
        LAMBERT93: {
            "srs": "EPSG:2154",
            "bbox": LAMBERT93_BBOX,
            "bbox_srs": "EPSG:2154",
            "origin": "ul",
            "res": LAMBERT93_RESOLUTIONS,
            "tile_size": [LAMBERT93_TILE_SIZE, LAMBERT93_TILE_SIZE],
        },
    }
