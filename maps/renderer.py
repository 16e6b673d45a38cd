"""Mapnik Maps of catalogue layers, built once per worker and thread, and the rendering of GetMap.

A Map is built for one (layer version, style version, row filter, CRS): its XML holds the style's
rules and a PostGIS datasource whose subquery applies the Grant's row filter (parameters inlined
by the database driver) and reads only the rows in the requested box (``!bbox!``). PostGIS
reprojects; Mapnik does not. Maps are cached per thread (a Map must never render twice at the
same time) in a small LRU, keyed so that a new publication, layer change or style change builds
a new one; nothing is rebuilt per request.
"""
import threading
from collections import OrderedDict

from django.db import connections
from lxml import etree

from layers.extents import storage_box_sql
from platform_web.db_routing import read_alias

from .mapnik_env import mapnik
from .mapnik_xml import mapnik_style

CACHE_SIZE = 64
POOL_SIZE = 4           # connections per process for Mapnik's PostGIS datasource pool
WHOLE_CRS = {2154: (-1e8, -1e8, 1e8, 1e8), 3857: (-20037508.34, -20048966.1, 20037508.34,
                                                 20048966.1), 4326: (-180.0, -90.0, 180.0, 90.0)}
MAX_INLINE_ROWS = 50_000  # rows=True drawings (thumbnails) read at most this many rows


class MapCache(threading.local):
    def __init__(self):
        self.maps = OrderedDict()

    def get(self, key, build):
        map_ = self.maps.get(key)
        if map_ is None:
            map_ = build()
            self.maps[key] = map_
            while len(self.maps) > CACHE_SIZE:
                self.maps.popitem(last=False)
        else:
            self.maps.move_to_end(key)
        return map_

    def clear(self):
        self.maps.clear()


_maps = MapCache()


def clear_cache():
    _maps.clear()


def datasource_extent(layer, srid):
    """The extent Mapnik is told the layer's datasource has in srid: the whole CRS. Mapnik skips
    a box outside the datasource extent without asking PostGIS; given the data's extent, a Map
    would have to be rebuilt whenever rows are added beyond it — after every sync push or WFS-T
    edit — and a stale one would leave those rows undrawn. Asked for a box where the layer has
    no rows, PostGIS answers from the GiST index in a fraction of a millisecond. (Never the
    Lambert-93 box's corners transformed either: for a layer with overseas rows they give a box
    that misses the data.)"""
    return WHOLE_CRS[srid]


# Geometries are generalised to this share of the requested pixel before being drawn (and before
# PostGIS reprojects them): a vertex-dense layer seen at a small scale (hundreds of vertices per
# polygon, several per pixel) is read, transformed and rasterised ten times faster, while no line
# moves by more than 1/8 of a pixel, which anti-aliasing renders alike (docs/benchmarks.md).
SIMPLIFY_PIXELS = 1 / 8
SIMPLIFY_MIN_PIXELS = 4
# Ground metres (Lambert-93 metres) in one unit of the CRS at the box's edge farthest from the
# equator, where they are fewest: Web Mercator stretches by 1/cos(latitude), degrees of longitude
# shrink by cos(latitude). Inline SQL over Mapnik's !bbox! tokens (a constant, folded by the
# planner); clamped, as Mapnik first asks with a box of ±3.4e38.
METRES_PER_UNIT = {
    2154: "1",
    3857: ("cos(2 * atan(exp(least(greatest(abs(ST_YMin(!bbox!)), abs(ST_YMax(!bbox!))), "
           "20037508.34) / 6378137)) - pi() / 2)"),
    4326: ("111319.49 * cos(radians(least(greatest(abs(ST_YMin(!bbox!)), abs(ST_YMax(!bbox!))), "
           "89)))"),
}


def tolerance(srid):
    """SQL for the generalisation tolerance in Lambert-93 metres: SIMPLIFY_PIXELS of the smaller
    side of a pixel, measured where the CRS's units are shortest on the ground."""
    return (f"least(!pixel_width!, !pixel_height!) * {SIMPLIFY_PIXELS!r} * "
            f"{METRES_PER_UNIT[srid]}")


def drawn_attributes(source, style):
    """The style's attributes among the columns the user may read (a hidden one is not read)."""
    readable = set(source.readable_names())
    return [name for name in style.attributes if name in readable]


def catalogue_guard(version):
    """SQL true only while the catalogue is at `version` (wms_catalogue_version, bumped in the
    transaction of every change of layers, rules and styles): a Map built on decisions taken
    under that version reads no row once the catalogue has moved on (maps.decisions)."""
    return f"(SELECT version FROM wms_catalogue_version WHERE id = 1) = {int(version)}"


def subquery(source, attributes, srid, version=None):
    """The Mapnik datasource's table: the user's FeatureSource, generalised to the pixel;
    version: read rows only while the catalogue is at that version (catalogue_guard)."""
    # Only geometries spanning SIMPLIFY_MIN_PIXELS or more are generalised: a smaller one would
    # collapse into a flat ring whose outline Mapnik strokes differently (darker dots). Those
    # that are generalised keep their collapsed parts (preserveCollapsed), nothing disappears.
    tol = tolerance(srid)
    span = "greatest(ST_XMax(t.geom) - ST_XMin(t.geom), ST_YMax(t.geom) - ST_YMin(t.geom))"
    geometry = (f"CASE WHEN {span} < {tol} * {SIMPLIFY_MIN_PIXELS / SIMPLIFY_PIXELS!r} "
                f"THEN t.geom ELSE ST_Simplify(t.geom, {tol}, true) END")
    if srid == 2154:
        in_box = "t.geom && !bbox!"
    else:
        geometry = f"ST_Transform({geometry}, {srid})"
        in_box = f"t.geom && {storage_box_sql('!bbox!', srid)}"  # overseas boxes too
    if version is not None:
        in_box = f"{in_box} AND {catalogue_guard(version)}"
    return source.mapnik_subquery(attributes, geometry, in_box)


def connection_parameters(alias="default"):
    """libpq parameters of a Django database (the replica's for protocol reads, if any)."""
    database = connections[alias].settings_dict
    params = {"host": database.get("HOST") or "", "port": str(database.get("PORT") or ""),
              "dbname": database["NAME"], "user": database.get("USER") or "",
              "password": database.get("PASSWORD") or ""}
    return {k: v for k, v in params.items() if v}


# Mapnik never reprojects these Maps (PostGIS does): it reads their srs only for its units, to
# compute scale denominators (metres or degrees). Its two built-in CRSs need no PROJ object, which
# Mapnik would otherwise build from the PROJ string at every render (~0.15 ms of a sparse GetMap);
# Lambert-93 shares Web Mercator's units, hence its scale denominators.
MAPNIK_SRS = {2154: "epsg:3857", 3857: "epsg:3857", 4326: "epsg:4326"}


def map_xml(layer, style, srid, parameters):
    """The Map of one layer in its style; parameters: those of its Mapnik datasource."""
    root = etree.Element("Map", srs=MAPNIK_SRS[srid])
    root.append(mapnik_style("style", style.rules, layer))
    map_layer = etree.SubElement(root, "Layer", name=layer.name, srs=MAPNIK_SRS[srid])
    etree.SubElement(map_layer, "StyleName").text = "style"
    datasource = etree.SubElement(map_layer, "Datasource")
    for name, value in parameters.items():
        etree.SubElement(datasource, "Parameter", name=name).text = value
    return etree.tostring(root, encoding="unicode")


def postgis_parameters(source, style, srid, version=None, alias="default"):
    layer = source.layer
    return {
        "type": "postgis", **connection_parameters(alias),
        "table": subquery(source, drawn_attributes(source, style), srid, version),
        "geometry_field": "geom", "key_field": "fid", "srid": str(srid),
        "extent": ",".join(repr(v) for v in datasource_extent(layer, srid)),
        "estimate_extent": "false", "max_size": str(POOL_SIZE), "persist_connection": "true",
    }


def new_map(xml):
    map_ = mapnik.Map(256, 256)
    mapnik.load_map_from_string(map_, xml)
    map_.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT  # stretch: the BBOX is exact
    return map_


def layer_map(served, srid, version=None):
    """The cached Map drawing one ServedLayer in srid (guarded by the catalogue version its
    decision was taken under, when given: catalogue_guard)."""
    layer, source = served.layer, served.grant
    alias = read_alias()  # one Map per database: the primary's, the replica's
    # Not the data's date: a Map does not depend on the rows (datasource_extent).
    key = (layer.pk, layer.name, layer.updated_at, served.style_version, source.view_key, srid,
           version, alias)

    def build():
        style = served.resolved_style()
        return new_map(map_xml(layer, style, srid,
                               postgis_parameters(source, style, srid, version, alias)))

    return _maps.get(key, build)


def rows_geojson(served, srid, bbox_xy, pixel):
    """The user's rows over bbox_xy as GeoJSON text (the style's attributes as properties),
    generalised to the pixel size, read on Django's connection; None when there are none."""
    source, style = served.grant, served.resolved_style()
    count, geojson = source.inline_geojson(drawn_attributes(source, style), srid, bbox_xy, pixel,
                                           MAX_INLINE_ROWS)
    return geojson if count else None  # Mapnik cannot read an empty collection


def journal_drawn(served):
    """Journal the personal-data columns a drawing reads for its style (a class or a label on
    an owner's name shows it): who, which layer and columns, rows unknown, the request's
    protocol (wms-GetMap, wmts, ogc-api, …) — layers.access_log. Nothing for a layer without
    personal columns (no style resolved)."""
    source = served.grant
    if getattr(source, "personal_columns", None):
        source.journal(drawn_attributes(source, served.resolved_style()))


def draw(served_layers, crs, bbox_xy, image, rows=False, version=None, journal=True):
    """Draw the layers (first at the bottom) over bbox_xy (east/north order) onto image.

    rows=False: the cached Maps reading PostGIS through Mapnik's pooled connections (committed
    rows; GetMap, tiles). rows=True: the rows are read on Django's connection, so within its
    transaction, and handed to the same Map inline (thumbnails, drawn while a publication may
    not be committed yet); bounded by the image size (one vertex per half pixel).
    version: the catalogue version the decisions were taken under; the Maps read no row once
    the catalogue has changed (the caller checks a blank image: wms.wms.getmap.guarded_render).
    journal: record the personal-data columns the styles read (journal_drawn), by the sources'
    users; False when the drawing is not shown to them (the admin's rights map journals itself).
    """
    box = mapnik.Box2d(*bbox_xy)
    for served in served_layers:
        if journal:
            journal_drawn(served)
        if rows:
            geojson = rows_geojson(served, crs.srid, bbox_xy,
                                   (bbox_xy[2] - bbox_xy[0]) / image.width())
            if geojson is None:
                continue
            map_ = new_map(map_xml(served.layer, served.resolved_style(), crs.srid,
                                   {"type": "geojson", "inline": geojson}))
        else:
            map_ = layer_map(served, crs.srid, version)
        map_.resize(image.width(), image.height())
        map_.zoom_to_box(box)
        # mapnik.render takes the image as premultiplied and leaves it demultiplied: without
        # this, a second layer demultiplies the first again (wrong colours where transparent).
        image.premultiply()
        mapnik.render(map_, image)
    return image


def render(served_layers, crs, bbox_xy, width, height, background, version=None, journal=True):
    """A mapnik.Image of the layers (first at the bottom) over bbox_xy (east/north order).

    background: (r, g, b, a) or None (transparent). version, journal: see draw().
    """
    image = mapnik.Image(width, height)
    if background is not None:
        image.fill(mapnik.Color(*background))
    return draw(served_layers, crs, bbox_xy, image, version=version, journal=journal)
