"""Images of one layer for the tile caches, rendered by Mapnik from rows read through a Grant.

The rows are read by PostgreSQL on Django's connection with the Grant's row filter, reprojected
to the tile grid's CRS and generalised to the pixel size in SQL, then handed to Mapnik as inline
GeoJSON in that same CRS (so Mapnik never reprojects and needs no PROJ database). The output is
bounded by the image size, whatever the layer's size.

Interim symbology, until the WMS renderer (layers' named styles) can be called in-process: one
colour per geometry family, the colours below (tests check them).
"""
import os
from xml.sax.saxutils import quoteattr

from django.db import connection

POLYGON_FILL, POLYGON_STROKE = "#2e86c1", "#1b4f72"
LINE_STROKE = "#8e44ad"
POINT_FILL = "#c0392b"

# PROJ strings (not EPSG codes): the mapnik wheel's PROJ cannot read Debian's proj.db; map and
# layer use the same string, so nothing is reprojected by Mapnik.
PROJ = {
    3857: ("+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m "
           "+nadgrids=@null +no_defs +type=crs"),
    2154: ("+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 "
           "+ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"),
}
MAX_GEOMETRIES = 200_000


def _mapnik():
    os.environ.setdefault("PROJ_LIB", "/usr/share/proj")
    os.environ.setdefault("GDAL_DATA", "/usr/share/gdal")
    import mapnik

    return mapnik


STYLE = f"""
<Style name="features">
  <Rule><Filter>[mapnik::geometry_type]=polygon</Filter>
    <PolygonSymbolizer fill="{POLYGON_FILL}" fill-opacity="0.75"/>
    <LineSymbolizer stroke="{POLYGON_STROKE}" stroke-width="1"/></Rule>
  <Rule><Filter>[mapnik::geometry_type]=linestring</Filter>
    <LineSymbolizer stroke="{LINE_STROKE}" stroke-width="2"/></Rule>
  <Rule><Filter>[mapnik::geometry_type]=point</Filter>
    <MarkersSymbolizer marker-type="ellipse" width="9" height="9" fill="{POINT_FILL}"
      stroke="#ffffff" stroke-width="1" allow-overlap="true" ignore-placement="true"/></Rule>
</Style>"""


def _features_geojson(grant, bbox, srid, pixel):
    where, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), json_build_object('type', 'FeatureCollection', 'features', "
            "coalesce(json_agg(json_build_object('type', 'Feature', 'properties', "
            "json_build_object(), 'geometry', ST_AsGeoJSON(g, 2)::json)), '[]'::json))::text FROM ("
            "  SELECT ST_Transform(ST_Simplify(t.geom, %s, true), %s) AS g"
            f"  FROM {grant.layer.qualified_table} t"
            "  WHERE t.geom && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), 2154)"
            f"  AND ({where}) LIMIT {MAX_GEOMETRIES}"
            ") s WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)",
            [pixel / 2, srid, *bbox, srid, *params],
        )
        count, geojson = cursor.fetchone()
        return geojson if count else None  # Mapnik cannot parse an empty collection


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_png(grant, bbox, srid, width, height):
    """A transparent PNG (RGBA) of the granted rows of a layer over bbox (in EPSG:srid), or None
    when no row falls there."""
    mapnik = _mapnik()
    srs = quoteattr(PROJ[srid])
    pixel = (bbox[2] - bbox[0]) / width
    if srid == 3857:
        pixel *= 0.68  # Mercator metres to ground metres at Cap Atlantique's latitude
    geojson = _features_geojson(grant, bbox, srid, pixel)
    if geojson is None:
        return None
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
    <Map srs={srs} background-color="transparent">{STYLE}
      <Layer name="features" srs={srs}><StyleName>features</StyleName>
        <Datasource><Parameter name="type">geojson</Parameter>
          <Parameter name="inline">{_escape(geojson)}</Parameter></Datasource></Layer>
    </Map>"""
    map_ = mapnik.Map(width, height)
    mapnik.load_map_from_string(map_, xml)
    map_.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT  # the tile's bbox exactly
    map_.zoom_to_box(mapnik.Box2d(*bbox))
    image = mapnik.Image(width, height)
    mapnik.render(map_, image)
    return image.to_string("png")
