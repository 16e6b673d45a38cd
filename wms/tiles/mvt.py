"""Mapbox vector tiles of a layer, encoded by PostGIS (ST_AsMVT) in one query.

The tile is read through the user's FeatureSource (its rows and readable columns; the source
builds the query, layers.features), filtered with the
GiST index on the Lambert-93 geometry (the tile's box densified before being transformed, so that
overseas tiles find their rows), simplified to the tile's resolution before being
reprojected to Web Mercator, then clipped and quantised by ST_AsMVTGeom.
"""
import math


from layers.extents import storage_box_sql
from platform_web.db_routing import read_connection

EXTENT = 4096          # MVT coordinate space of a tile
BUFFER = 64            # margin kept around the tile (in tile units), so strokes join across tiles
MAX_ZOOM = 24
WEB_MERCATOR_SPAN = 2 * math.pi * 6378137.0
# Web Mercator stretches distances by 1/cos(latitude): at Cap Atlantique (47.3° N) a Mercator
# metre is ~0.68 ground metre, and Lambert-93 is close to ground metres there.
GROUND_PER_MERCATOR_METRE = math.cos(math.radians(47.3))


class TileOutOfRange(ValueError):
    pass


def check_tile(z, x, y):
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"z={z}")
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        raise TileOutOfRange(f"x={x}, y={y} (z={z})")


def simplification_tolerance(z):
    """Lambert-93 metres covered by one MVT unit at zoom z: details below it cannot show."""
    return WEB_MERCATOR_SPAN / (1 << z) / EXTENT * GROUND_PER_MERCATOR_METRE


def tile_attributes(source):
    """The columns carried by the layer's tiles: Layer.mvt_attributes, or all its attributes —
    among those the user may read."""
    known = source.readable_names()
    if source.layer.mvt_attributes:
        return [name for name in source.layer.mvt_attributes if name in known]
    return known


def tile_sql(source, z, x, y):
    """(sql, params) of the query returning the tile's bytes (empty bytes: nothing there)."""
    return source.tile_sql(z, x, y, tile_attributes(source), EXTENT, BUFFER,
                           simplification_tolerance(z), storage_box_sql)


def render_tile(source, z, x, y):
    """The MVT bytes of tile z/x/y of the layer (b"" when no feature falls in it)."""
    check_tile(z, x, y)
    sql, params = tile_sql(source, z, x, y)
    with read_connection().cursor() as cursor:  # the replica, when there is one
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
