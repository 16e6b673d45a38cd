"""GetFeatureInfo: the features under a pixel, read through the Grant's row filter.

Polygons are those containing the clicked point; points and lines those within a few pixels of it
(CAPGEO_WMS_FEATUREINFO_TOLERANCE, 5 px by default, converted to metres in Lambert-93). At most
FEATURE_COUNT features per layer, nearest first. Answers in HTML (French table), GeoJSON or GML.
"""
import json
import re

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from lxml import etree

from layers.styles import geometry_family
from maps import decisions, remote
from maps.sources.base import is_remote

from .errors import WmsError
from .params import name_list, parse_map_request, request_depth, required

INFO_FORMATS = ("text/html", "application/json", "application/geo+json",
                "application/vnd.ogc.gml", "text/xml")
ADVERTISED_INFO_FORMATS = ("text/html", "application/json", "application/vnd.ogc.gml")
MAX_FEATURE_COUNT = 50
GML_NS, WFS_NS = "http://www.opengis.net/gml", "http://www.opengis.net/wfs"
FEATURE_NS = "https://capgeo.cap-atlantique.fr/wfs"


def tolerance_pixels():
    return float(getattr(settings, "CAPGEO_WMS_FEATUREINFO_TOLERANCE", 5))


def pixel(params, version, query):
    names = ("I", "J") if version == "1.3.0" else ("X", "Y")
    values = []
    for name, alternative in zip(names, ("X", "Y") if version == "1.3.0" else ("I", "J")):
        value = (params.get(name) or params.get(alternative) or "").strip()
        if not value:
            raise WmsError("MissingParameterValue",
                           _("Le paramètre %(name)s est obligatoire.") % {"name": name}, name)
        if not re.fullmatch(r"-?\d{1,9}", value):  # (int() refuses 4,300 digits and more)
            raise WmsError("InvalidPoint", _("%(name)s doit être un entier.") % {"name": name}, name)
        values.append(int(value))
    i, j = values
    for value, limit, name in ((i, query.width, names[0]), (j, query.height, names[1])):
        if not 0 <= value < limit:
            raise WmsError("InvalidPoint", _("Le point (%(i)d, %(j)d) est hors de l'image.")
                           % {"i": i, "j": j}, name)
    return i, j


def clicked_point(query, i, j):
    """(x, y, tolerance) in Lambert-93 for the pixel (i, j) of the request's map."""
    minx, miny, maxx, maxy = query.bbox_xy
    resx, resy = (maxx - minx) / query.width, (maxy - miny) / query.height
    x, y = minx + (i + 0.5) * resx, maxy - (j + 0.5) * resy
    offset = tolerance_pixels() * max(resx, resy)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p), ST_Distance(p, q) FROM ("
            " SELECT ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), 2154) p,"
            "        ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), 2154) q) s",
            [x, y, query.crs.srid, x + offset, y, query.crs.srid],
        )
        return cursor.fetchone()


def features(served, point, srid, count, gml_options):
    """[{id, properties, geojson, gml}] of one layer under the point, through the user's
    FeatureSource (his rows, his readable columns in the layer's order)."""
    layer, source = served.layer, served.grant
    x, y, tolerance = point
    if geometry_family(layer.geometry_type) == "polygon" and "GEOMETRY" not in layer.geometry_type:
        tolerance = 0.0
    return [{"id": f"{layer.name}.{row['fid']}", **row}
            for row in source.features_near(x, y, tolerance, srid, count, gml_options)]


def get_feature_info(request, params, version):
    query = parse_map_request(params, version)
    query_names = name_list(required(params, "QUERY_LAYERS"), "QUERY_LAYERS")
    info_format = (params.get("INFO_FORMAT") or "text/html").strip().lower()
    if info_format not in INFO_FORMATS:
        raise WmsError("InvalidFormat", _("Format de réponse non proposé : « %(format)s » "
                                          "(proposés : %(list)s).")
                       % {"format": info_format[:60], "list": ", ".join(ADVERTISED_INFO_FORMATS)},
                       "INFO_FORMAT")
    served = decisions.resolve(request.user, query.layer_names, query.style_names)
    by_name = {s.layer.name: s for s in served}
    queried = []
    for name in query_names:
        if name not in by_name:
            raise WmsError("LayerNotDefined", _("« %(name)s » ne fait pas partie de LAYERS.")
                           % {"name": name[:100]}, "QUERY_LAYERS")
        if not by_name[name].layer.queryable:
            raise WmsError("LayerNotQueryable", _("La couche « %(name)s » n'est pas interrogeable.")
                           % {"name": name}, "QUERY_LAYERS")
        queried.append(by_name[name])
    i, j = pixel(params, version, query)
    try:
        count = int(params.get("FEATURE_COUNT") or 1)
    except ValueError:
        raise WmsError("InvalidParameterValue", _("FEATURE_COUNT doit être un entier."),
                       "FEATURE_COUNT") from None
    count = max(1, min(count, MAX_FEATURE_COUNT))
    point = clicked_point(query, i, j)
    gml_options = 1 | 16 if query.crs.swap_axes else 0
    depth = request_depth(request)
    results = [(s.layer, remote.feature_info(s, query, i, j, count, depth) if is_remote(s)
                else features(s, point, query.crs.srid, count, gml_options)) for s in queried]
    if info_format in ("application/json", "application/geo+json"):
        return geojson_response(results, query)
    if info_format in ("application/vnd.ogc.gml", "text/xml"):
        return gml_response(results, info_format)
    return HttpResponse(render_to_string("wms/featureinfo.html", {"results": results}),
                        content_type="text/html; charset=utf-8")


def geojson_response(results, query):
    features_ = [
        {"type": "Feature", "id": f["id"], "layer": layer.name, "properties": f["properties"],
         "geometry": json.loads(f["geojson"]) if f["geojson"] else None}
        for layer, found in results for f in found
    ]
    body = {"type": "FeatureCollection", "features": features_,
            "crs": {"type": "name", "properties": {"name": query.crs.code}}}
    return HttpResponse(json.dumps(body, ensure_ascii=False, default=str),
                        content_type="application/json; charset=utf-8")


def xml_name(name):
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return name if re.match(r"[A-Za-z_]", name) else "_" + name


def gml_response(results, info_format):
    nsmap = {"wfs": WFS_NS, "gml": GML_NS, "capgeo": FEATURE_NS}
    root = etree.Element(f"{{{WFS_NS}}}FeatureCollection", nsmap=nsmap)
    for layer, found in results:
        for feature in found:
            member = etree.SubElement(root, f"{{{GML_NS}}}featureMember")
            element = etree.SubElement(member, f"{{{FEATURE_NS}}}{xml_name(layer.name)}")
            element.set(f"{{{GML_NS}}}id", feature["id"])
            for name, value in feature["properties"].items():
                child = etree.SubElement(element, f"{{{FEATURE_NS}}}{xml_name(name)}")
                child.text = "" if value is None else str(value)
            if feature["gml"]:
                geometry = etree.SubElement(element, f"{{{FEATURE_NS}}}geom")
                wrapped = etree.fromstring(f'<w xmlns:gml="{GML_NS}">{feature["gml"]}</w>')
                geometry.append(wrapped[0])
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    content_type = "application/vnd.ogc.gml" if info_format != "text/xml" else "text/xml"
    return HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
