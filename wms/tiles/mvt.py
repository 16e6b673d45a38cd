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

from . import grids

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
    return run(*tile_sql(source, z, x, y))


def lambert93_box(level, row, col):
    """(minx, miny, maxx, maxy) of tile level/row/col of the LAMB93 grid (wms.tiles.grids: the
    WMTS's own Lambert-93 grid, origin top-left), or TileOutOfRange."""
    if not 0 <= level < len(grids.LAMBERT93_RESOLUTIONS):
        raise TileOutOfRange(f"tileMatrix={level}")
    width, height = lambert93_matrix_size(level)
    if not (0 <= row < height and 0 <= col < width):
        raise TileOutOfRange(f"tileRow={row}, tileCol={col} (tileMatrix={level})")
    span = grids.LAMBERT93_RESOLUTIONS[level] * grids.LAMBERT93_TILE_SIZE
    left, top = grids.LAMBERT93_BBOX[0], grids.LAMBERT93_BBOX[3]
    return (left + col * span, top - (row + 1) * span, left + (col + 1) * span, top - row * span)


def lambert93_matrix_size(level):
    """(matrixWidth, matrixHeight): the tiles covering the grid's box at that level."""
    span = grids.LAMBERT93_RESOLUTIONS[level] * grids.LAMBERT93_TILE_SIZE
    minx, miny, maxx, maxy = grids.LAMBERT93_BBOX
    return math.ceil((maxx - minx) / span), math.ceil((maxy - miny) / span)


def render_lambert93_tile(source, level, row, col):
    """The MVT bytes (coordinates in Lambert-93 tile units) of tile level/row/col of LAMB93."""
    box = lambert93_box(level, row, col)
    tolerance = (box[2] - box[0]) / EXTENT  # Lambert-93 metres per tile unit
    return run(*source.tile_sql(level, col, row, tile_attributes(source), EXTENT, BUFFER,
                                tolerance, storage_box_sql, box=box))


def run(sql, params):
    with read_connection().cursor() as cursor:  # the replica, when there is one
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
