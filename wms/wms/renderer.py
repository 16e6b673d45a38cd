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

from django.contrib.gis.geos import Polygon
from django.db import connection
from lxml import etree

from layers.access import quote_ident
from layers.styles import mapnik_style

from .crs import DOMAIN, PROJ
from .mapnik_env import mapnik

CACHE_SIZE = 64
POOL_SIZE = 4           # connections per process for Mapnik's PostGIS datasource pool
EXTENT_MARGIN = 0.2     # share of the catalogue extent added around it


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


def inline_row_filter(grant):
    """The Grant's row filter as literal SQL (values quoted by the driver, never by hand)."""
    sql, params = grant.where("t")
    if not params:
        return sql
    with connection.cursor() as cursor:
        literal = cursor.mogrify(sql, list(params))
    return literal.decode() if isinstance(literal, bytes) else literal


def datasource_extent(layer, srid):
    """The layer's catalogue extent with a margin, in srid (Mapnik skips boxes outside it)."""
    minx, miny, maxx, maxy = layer.extent.extent
    margin = max(maxx - minx, maxy - miny) * EXTENT_MARGIN + 1000
    box = Polygon.from_bbox((minx - margin, miny - margin, maxx + margin, maxy + margin))
    box.srid = 2154
    if srid != 2154:
        box.transform(srid)
    return box.extent


def subquery(layer, attributes, row_filter, srid):
    columns = "".join(f", t.{quote_ident(name)}" for name in attributes)
    if srid == 2154:
        geometry, in_box = "t.geom", "t.geom && !bbox!"
    else:
        domain = ",".join(repr(v) for v in DOMAIN[srid])
        geometry = f"ST_Transform(t.geom, {srid})"
        in_box = (f"t.geom && ST_Transform(ST_ClipByBox2D(!bbox!, "
                  f"ST_MakeEnvelope({domain}, {srid})), 2154)")
    return (f"(SELECT t.fid, {geometry} AS geom{columns} FROM {layer.qualified_table} t "
            f"WHERE {in_box} AND ({row_filter})) AS data")


def connection_parameters():
    database = connection.settings_dict
    params = {"host": database.get("HOST") or "", "port": str(database.get("PORT") or ""),
              "dbname": database["NAME"], "user": database.get("USER") or "",
              "password": database.get("PASSWORD") or ""}
    return {k: v for k, v in params.items() if v}


def map_xml(layer, style, row_filter, srid):
    root = etree.Element("Map", srs=PROJ[srid])
    root.append(mapnik_style("style", style.rules, layer))
    map_layer = etree.SubElement(root, "Layer", name=layer.name, srs=PROJ[srid])
    etree.SubElement(map_layer, "StyleName").text = "style"
    datasource = etree.SubElement(map_layer, "Datasource")
    parameters = {
        "type": "postgis", **connection_parameters(),
        "table": subquery(layer, style.attributes, row_filter, srid),
        "geometry_field": "geom", "key_field": "fid", "srid": str(srid),
        "extent": ",".join(repr(v) for v in datasource_extent(layer, srid)),
        "estimate_extent": "false", "max_size": str(POOL_SIZE), "persist_connection": "true",
    }
    for name, value in parameters.items():
        etree.SubElement(datasource, "Parameter", name=name).text = value
    return etree.tostring(root, encoding="unicode")


def layer_map(served, srid):
    """The cached Map drawing one ServedLayer in srid."""
    layer, grant = served.layer, served.grant
    row_filter = inline_row_filter(grant)
    key = (layer.pk, layer.name, layer.updated_at, layer.data_updated_at, served.style_version,
           row_filter, srid)

    def build():
        style = served.resolved_style()
        map_ = mapnik.Map(256, 256)
        mapnik.load_map_from_string(map_, map_xml(layer, style, row_filter, srid))
        map_.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT  # stretch: the BBOX is exact
        return map_

    return _maps.get(key, build)


def render(served_layers, crs, bbox_xy, width, height, background):
    """A mapnik.Image of the layers (first at the bottom) over bbox_xy (east/north order).

    background: (r, g, b, a) or None (transparent).
    """
    image = mapnik.Image(width, height)
    if background is not None:
        image.fill(mapnik.Color(*background))
    box = mapnik.Box2d(*bbox_xy)
    for served in served_layers:
        map_ = layer_map(served, crs.srid)
        map_.resize(width, height)
        map_.zoom_to_box(box)
        # mapnik.render takes the image as premultiplied and leaves it demultiplied: without
        # this, a second layer demultiplies the first again (wrong colours where transparent).
        image.premultiply()
        mapnik.render(map_, image)
    return image
