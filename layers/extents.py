"""A layer's extent in every CRS the platform advertises, measured on the data itself.

The rows are stored in Lambert-93 (EPSG:2154), overseas ones included (docs/architecture.md).
A Lambert-93 box does not give the WGS 84 or Web Mercator box of the same rows by transforming
its corners: far from Lambert-93's area of use (Réunion, Guyane…) the projection turns and
stretches the meridians, and the corners of a box holding metropolitan and overseas rows land
anywhere (north 17° instead of 51°). So the WGS 84 box is measured on the transformed rows,
``ST_Extent(ST_Transform(geom, 4326))``, in the same scan as the count and the Lambert-93 box.

The Web Mercator box is derived from the WGS 84 one, exactly: Web Mercator's x depends on the
longitude only and its y on the latitude only, both increasing, so the box of the transformed
rows is the transform of the box's corners (latitudes clamped to Web Mercator's ±85.06°).

``Summary`` is what the catalogue shows of a layer (count and extents); ``FeatureSource.summary``
gives the one of the rows a user's feature source covers (a user restricted to some rows — his
commune's, an area's, an attribute condition's — sees his rows' count and extent, never the whole
layer's), cached per process until the data or the filter change; ``AccessPolicy.summary`` picks
the one a user may see. This module imports nothing above it in the catalogue.
"""
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection, transaction

SRID = settings.CAPGEO_STORAGE_SRID
WGS84, WEB_MERCATOR = 4326, 3857
SRIDS = (SRID, WEB_MERCATOR, WGS84)
MERCATOR_MAX_LATITUDE = 85.0511287798066
# A single point or a flat line still gets a box with an area: this much around it.
PADDING = {SRID: 1.0, WEB_MERCATOR: 1.0, WGS84: 0.00001}


@dataclass(frozen=True)
class Summary:
    """Feature count and {srid: (minx, miny, maxx, maxy)} (east/north order), {} when empty."""
    count: int
    boxes: dict

    def polygon(self, srid):
        box = self.boxes.get(srid)
        if box is None:
            return None
        polygon = Polygon.from_bbox(box)
        polygon.srid = srid
        return polygon


def padded(box, srid):
    minx, miny, maxx, maxy = box
    pad = PADDING[srid]
    if maxx - minx <= 0:
        minx, maxx = minx - pad, maxx + pad
    if maxy - miny <= 0:
        miny, maxy = miny - pad, maxy + pad
    return (minx, miny, maxx, maxy)


# The rows are grouped by the cell of a Lambert-93 grid holding their box's centre; each cell's
# box (the union of its rows' boxes) is transformed to WGS 84 (its corners, with MARGIN of its
# size for the curvature of its sides). Only the rows of the cells that may hold a bound of the
# layer's WGS 84 box are transformed exactly. Cells wider than WIDE degrees always are.
# The cells are 1/GRID of the layer's larger side (estimated from the table's statistics, which
# only changes the speed, never the result), between MIN_CELL and CELL metres.
CELL = 20000.0
MIN_CELL = 100.0
GRID = 64
MARGIN = 0.05
WIDE = 10.0


def grid_cell(table):
    """Side in metres of the measuring grid's cells for table (an SQL name, quoted)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_EstimatedExtent(n.nspname, c.relname, 'geom') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    if not row or row[0] is None:  # no statistics yet (never analysed)
        return CELL
    minx, miny, maxx, maxy = (float(v) for v in re.findall(r"-?[\d.]+(?:e[-+]?\d+)?", row[0]))
    return min(CELL, max(MIN_CELL, max(maxx - minx, maxy - miny) / GRID))


def measure_sql(table, where="TRUE", params=(), with_types=False, cell=None, with_checks=False):
    """(sql, params) measuring the rows of table (aliased t) matching where: one row of
    (count, 12 box numbers[, geometry types][, rows without geometry, invalid, empty]).

    with_checks: the same pass counts the rows without geometry and the invalid and empty
    geometries (ST_IsValid, ST_IsEmpty), for a publication's checks (layers.publishing).
    The rows are found with the table's spatial index (it must have one).

    ST_Extent(ST_Transform(geom, 4326)) over every row transforms every vertex of the layer
    (seconds on a national layer, at each WFS-T edit). It is exact to transform only the rows
    that can hold a bound. One pass over the table groups the rows in cells of a Lambert-93 grid
    (by the centre of their box, read from the geometry's header; rows without a geometry, or an
    empty one, in a cell of their own) and gives each cell's count, box and geometry types: the
    layer's count, Lambert-93 box and types are their sums. Each cell's box, transformed, gives a
    box B holding the WGS 84 boxes of its rows (with MARGIN). The layer's west bound is at most
    W = min(B.xmax) over the cells, so only the cells with B.xmin <= W can hold it (likewise for
    the other sides): a few cells at each edge, whose rows (found by the spatial index, with
    neighbours' rows that overlap the cell's box: more rows of the layer never widen the box
    beyond the layer's) are transformed exactly.
    """
    cell_size = float(cell or grid_cell(table))
    types_inner = ", upper(GeometryType(t.geom)) AS type" if with_types else ""
    types_group = ", type" if with_types else ""
    checks_inner = (", t.geom IS NULL AS missing, ST_IsValid(t.geom) AS valid, "
                    "ST_IsEmpty(t.geom) AS empty" if with_checks else "")
    checks_group = (", count(*) FILTER (WHERE missing) AS missing, count(*) FILTER (WHERE NOT "
                    "valid) AS invalid, count(*) FILTER (WHERE empty) AS empty" if with_checks else "")
    checks_measured = (", sum(missing)::bigint AS missing, sum(invalid)::bigint AS invalid, "
                       "sum(empty)::bigint AS empty" if with_checks else "")
    checks_output = ", coalesce(missing, 0), coalesce(invalid, 0), coalesce(empty, 0)" \
        if with_checks else ""
    types_output = (", (SELECT array_agg(DISTINCT type) FILTER (WHERE type IS NOT NULL) "
                    "FROM groups) AS types" if with_types else "")
    gx = f"{MARGIN} * (ST_XMax(a.b) - ST_XMin(a.b)) + 1e-9"
    gy = f"{MARGIN} * (ST_YMax(a.b) - ST_YMin(a.b)) + 1e-9"
    # NULL for a NULL or empty geometry (its box2d is NULL).
    cell = (f"floor((x0 + x1) / {2 * cell_size!r})::bigint * 100000000 "
            f"+ floor((y0 + y1) / {2 * cell_size!r})::bigint")
    envelope = f"ST_MakeEnvelope(min(x0), min(y0), max(x1), max(y1), {SRID})"
    # Boxes are aggregated as plain numbers (min/max): partial aggregates in parallel workers,
    # no geometry carried through the grouping.
    sql = f"""
        WITH groups AS MATERIALIZED (
            SELECT {cell} AS key{types_group}, count(*) AS n,
                   min(x0) AS x0, min(y0) AS y0, max(x1) AS x1, max(y1) AS y1{checks_group}
            FROM (SELECT ST_XMin(b) AS x0, ST_YMin(b) AS y0, ST_XMax(b) AS x1, ST_YMax(b) AS y1
                         {types_group}{", missing, valid, empty" if with_checks else ""}
                  FROM (SELECT t.geom::box2d AS b{types_inner}{checks_inner}
                        FROM {table} t WHERE {where}) r
                 ) boxes
            GROUP BY 1{", 2" if with_types else ""}
        ), cells AS MATERIALIZED (
            SELECT key, {envelope} AS box FROM groups WHERE key IS NOT NULL GROUP BY key
        ), measured AS (
            SELECT sum(n) AS n, CASE WHEN min(x0) IS NOT NULL THEN {envelope}::box2d END AS e
                   {checks_measured}
            FROM groups
        ), approx AS MATERIALIZED (
            SELECT key, box, ST_Transform(box, {WGS84})::box2d AS b FROM cells
        ), bounds AS (
            SELECT min(ST_XMax(b)) AS w, max(ST_XMin(b)) AS ea, min(ST_YMax(b)) AS so,
                   max(ST_YMin(b)) AS no FROM approx
        ), candidates AS MATERIALIZED (
            SELECT a.box FROM approx a, bounds
            WHERE ST_XMax(a.b) - ST_XMin(a.b) > {WIDE} OR ST_YMax(a.b) - ST_YMin(a.b) > {WIDE}
               OR ST_XMin(a.b) - ({gx}) <= bounds.w OR ST_XMax(a.b) + ({gx}) >= bounds.ea
               OR ST_YMin(a.b) - ({gy}) <= bounds.so OR ST_YMax(a.b) + ({gy}) >= bounds.no
        ), exact AS (
            SELECT ST_Extent(ST_Transform(t.geom, {WGS84})) AS g
            FROM candidates c JOIN {table} t ON t.geom && c.box
            WHERE ({where}) AND NOT ST_IsEmpty(t.geom)
        ), mercator AS (
            SELECT g, CASE WHEN g IS NOT NULL THEN ST_Transform(ST_MakeEnvelope(
                       ST_XMin(g), greatest(ST_YMin(g), -{MERCATOR_MAX_LATITUDE}),
                       ST_XMax(g), least(ST_YMax(g), {MERCATOR_MAX_LATITUDE}), {WGS84}),
                       {WEB_MERCATOR}) END AS m FROM exact
        )
        SELECT coalesce(n, 0)::bigint, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e),
               ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g),
               ST_XMin(m), ST_YMin(m), ST_XMax(m), ST_YMax(m){types_output}{checks_output}
        FROM measured, mercator
    """
    return sql, [*params, *params]


def run_measure(sql, params):
    """The row of a measure_sql query. Without JIT: the query's cost estimate (ST_Transform)
    makes PostgreSQL compile it, which takes longer than the query (1.6 s of 2.1 s on 35,000
    polygons, bench/bench_extents.py). Without sorts: the grouping by cells is hashed (the
    planner cannot tell how few cells there are, and sorted every row with its geometry, on
    disk, on a million parcels). SET LOCAL ends with the caller's transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(sql, params)
        return cursor.fetchone()


def summary_from_row(row):
    """(Summary, extra) from a row of measure_sql: extra is its geometry types (with_types),
    else None; the checks (with_checks) are its last three values."""
    count, numbers, extra = row[0], row[1:13], row[13] if len(row) > 13 else None
    boxes = {}
    for srid, start in ((SRID, 0), (WGS84, 4), (WEB_MERCATOR, 8)):
        box = numbers[start:start + 4]
        if box[0] is not None:
            boxes[srid] = padded(tuple(float(v) for v in box), srid)
    return Summary(int(count or 0), boxes), extra


def stored_summary(layer):
    """The catalogue's summary of the whole layer (Layer fields, kept up to date with its data)."""
    boxes = {}
    for srid, field in ((SRID, "extent"), (WGS84, "extent_wgs84"),
                        (WEB_MERCATOR, "extent_webmercator")):
        polygon = getattr(layer, field)
        if polygon is not None:
            boxes[srid] = polygon.extent
    return Summary(layer.feature_count, boxes)


def store(layer, summary):
    """Set the layer's count and extent fields from a Summary (the caller saves)."""
    layer.feature_count = summary.count
    layer.extent = summary.polygon(SRID)
    layer.extent_wgs84 = summary.polygon(WGS84)
    layer.extent_webmercator = summary.polygon(WEB_MERCATOR)


EXTENT_FIELDS = ["feature_count", "extent", "extent_wgs84", "extent_webmercator"]


def from_wgs84(box):
    """A Summary's boxes for a lon/lat box known by other means (remote layers): WGS 84 as is,
    Web Mercator exactly from it, Lambert-93 from the densified box (where it is defined)."""
    minx, miny, maxx, maxy = box
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ST_XMin(m), ST_YMin(m), ST_XMax(m), ST_YMax(m) FROM (SELECT ST_Transform("
            f"ST_MakeEnvelope(%s, greatest(%s, -{MERCATOR_MAX_LATITUDE}), %s, "
            f"least(%s, {MERCATOR_MAX_LATITUDE}), {WGS84}), {WEB_MERCATOR}) AS m) s",
            [minx, miny, maxx, maxy])
        mercator = cursor.fetchone()
    return {WGS84: padded(tuple(box), WGS84), WEB_MERCATOR: padded(tuple(mercator), WEB_MERCATOR)}


# --- the rows a Grant covers ------------------------------------------------------------------
CACHE_SIZE = 256
CACHE_SECONDS = 300  # the commune's own limits may change without the layer's data changing


class _SummaryCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = OrderedDict()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key, value):
        with self.lock:
            self.entries[key] = (time.monotonic() + CACHE_SECONDS, value)
            while len(self.entries) > CACHE_SIZE:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


_cache = _SummaryCache()


def clear_cache():
    _cache.clear()


def cached_summary(key, measure):
    """The Summary cached under key (made of what the rows depend on: the layer, its data's
    date, the row filter), or measure() stored there (FeatureSource.summary)."""
    summary = _cache.get(key)
    if summary is None:
        summary = measure()
        _cache.put(key, summary)
    return summary


# --- request boxes -----------------------------------------------------------------------------
# Where a box of each CRS can be transformed (Lambert-93 is defined everywhere but at the south
# pole): a request box is clipped to this, densified so that its curved image is held, and its
# envelope compared with the rows' (&& reads boxes only).
VALID_AREA = {
    WGS84: (-180.0, -89.0, 180.0, 90.0),
    WEB_MERCATOR: (-20037508.342789244, -20037508.342789244, 20037508.342789244,
                   20037508.342789244),
}
DENSIFY = 32  # points per side of a request box


def storage_box_sql(box_sql, srid):
    """SQL of a geometry whose envelope holds, in Lambert-93, the box box_sql of CRS srid (for an
    index search ``t.geom && …``), wherever on Earth the box lies: the box is clipped to where
    its CRS is defined and densified before being transformed, never transformed by its corners
    only (they would miss the curved image of its sides far from Lambert-93's area)."""
    if srid == SRID:
        return box_sql
    area = ",".join(repr(v) for v in VALID_AREA[srid])
    clipped = f"ST_ClipByBox2D({box_sql}, ST_MakeEnvelope({area}, {srid}))"
    return (f"ST_Transform(ST_Segmentize({clipped}, greatest(ST_XMax({box_sql}) - "
            f"ST_XMin({box_sql}), ST_YMax({box_sql}) - ST_YMin({box_sql}), 1e-9) / {DENSIFY}), {SRID})")
