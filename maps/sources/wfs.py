"""A remote WFS layer drawn as a map: its features in the box fetched as GeoJSON (in the
requested projected CRS, at most CAPGEO_REMOTE_WFS_MAX_FEATURES) and drawn by Mapnik with the
catalogue's built-in default style, one Mapnik layer per geometry family.

Features are never asked in a geographic CRS (EPSG:4326, CRS:84): WFS servers disagree on their
axis order in GeoJSON, and a wrong guess would draw them in the wrong place. A map in WGS 84 is
drawn in a projected CRS the server offers and warped (maps.remote, maps.reproject).
"""
import json
from types import SimpleNamespace

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from layers.remote.fetch import RemoteError
from layers.styles import default_definition, geometry_family, rules_of

from ..crs import PROJ
from ..errors import MapError, crs_code_name
from ..mapnik_env import mapnik
from ..mapnik_xml import mapnik_style
from .base import remote_crs
from .cache import cached_fetch

FAMILIES = ("polygon", "line", "point")  # drawing order: points on top


def max_features():
    return settings.CAPGEO_REMOTE_WFS_MAX_FEATURES


def geojson_format(formats):
    for name in formats:
        lowered = name.lower()
        if "json" in lowered:
            return name
    return None


def check_crs(served, crs):
    """The remote's code for the requested CRS, or InvalidCRS."""
    version = getattr(served, "wms_version", "1.3.0")
    if crs.srid == 4326:
        raise MapError(crs_code_name(version),
                       _("La couche WFS distante « %(layer)s » se dessine en EPSG:2154 ou "
                         "EPSG:3857 seulement.") % {"layer": served.layer.name},
                       "CRS" if version == "1.3.0" else "SRS")
    return remote_crs(served, crs)


def features_request(served, code, bbox_xy):
    metadata, remote = served.metadata, served.remote
    version = metadata.get("version", "2.0.0")
    output = geojson_format(remote.formats)
    if output is None:
        raise RemoteError(_("le service WFS ne propose pas de sortie GeoJSON"))
    two = version.startswith("2.")
    params = {"SERVICE": "WFS", "VERSION": version, "REQUEST": "GetFeature",
              "TYPENAMES" if two else "TYPENAME": remote.identifier,
              "OUTPUTFORMAT": output, "SRSNAME": code,
              "BBOX": ",".join(repr(float(v)) for v in bbox_xy) + "," + code,
              "COUNT" if two else "MAXFEATURES": str(max_features())}
    return metadata.get("getfeature_url") or remote.service.url, params


def by_family(collection):
    groups = {family: [] for family in FAMILIES}
    for feature in collection.get("features") or []:
        geometry = (feature or {}).get("geometry")
        if not geometry or not geometry.get("type"):
            continue
        groups[geometry_family(geometry["type"])].append(
            {"type": "Feature", "properties": {}, "geometry": geometry})
    return groups


def map_xml(groups, srid):
    root = etree.Element("Map", srs=PROJ[srid])
    for family in FAMILIES:
        if not groups[family]:
            continue
        stand_in = SimpleNamespace(geometry_type=family.upper(), attributes=[])
        root.append(mapnik_style(f"s_{family}", rules_of(default_definition(stand_in)),
                                 stand_in))
        layer = etree.SubElement(root, "Layer", name=family, srs=PROJ[srid])
        etree.SubElement(layer, "StyleName").text = f"s_{family}"
        datasource = etree.SubElement(layer, "Datasource")
        etree.SubElement(datasource, "Parameter", name="type").text = "geojson"
        etree.SubElement(datasource, "Parameter", name="inline").text = json.dumps(
            {"type": "FeatureCollection", "features": groups[family]})
    return etree.tostring(root, encoding="unicode")


def picture(served, crs, bbox_xy, width, height, depth):
    code = check_crs(served, crs)
    url, params = features_request(served, code, bbox_xy)
    content_type, content = cached_fetch(url, params, depth)
    try:
        collection = json.loads(content)
    except ValueError:
        raise RemoteError(_("réponse GeoJSON illisible (%(type)s)") % {"type": content_type}) \
            from None
    if not isinstance(collection, dict):
        raise RemoteError(_("réponse GeoJSON illisible (%(type)s)") % {"type": content_type})
    image = mapnik.Image(width, height)
    groups = by_family(collection)
    if not any(groups.values()):
        return image
    map_ = mapnik.Map(width, height)
    mapnik.load_map_from_string(map_, map_xml(groups, crs.srid))
    map_.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT
    map_.zoom_to_box(mapnik.Box2d(*bbox_xy))
    mapnik.render(map_, image)
    return image
