"""A remote WMS layer: GetMap in the requested box, size and CRS (PNG with a transparent
background), GetFeatureInfo at a pixel, GetLegendGraphic."""
import json
import logging

from lxml import etree

from layers.remote.capabilities import SAFE_PARSER, local_name
from layers.remote.fetch import RemoteError

from .base import bbox_text, decoded, pick_format, remote_crs
from .cache import cached_fetch

log = logging.getLogger(__name__)

INFO_PREFERENCE = ("application/json", "application/geo+json", "application/vnd.ogc.gml",
                   "text/xml", "application/vnd.ogc.gml/3.1.1")

check_crs = remote_crs  # the remote's code for the requested CRS, or InvalidCRS


def remote_bbox(code, version, bbox_xy):
    """The box in the axis order the remote WMS expects (EPSG:4326 is lat/lon in 1.3.0)."""
    minx, miny, maxx, maxy = bbox_xy
    if version == "1.3.0" and code == "EPSG:4326":
        return miny, minx, maxy, maxx
    return bbox_xy


def map_params(served, crs, bbox_xy, width, height):
    metadata = served.metadata
    version = metadata.get("version", "1.3.0")
    code = remote_crs(served, crs)
    return metadata.get("getmap_url") or served.remote.service.url, {
        "SERVICE": "WMS", "VERSION": version, "REQUEST": "GetMap",
        "LAYERS": served.remote.identifier, "STYLES": served.style,
        "CRS" if version == "1.3.0" else "SRS": code,
        "BBOX": bbox_text(remote_bbox(code, version, bbox_xy)),
        "WIDTH": str(width), "HEIGHT": str(height),
        "FORMAT": pick_format(served.remote.formats), "TRANSPARENT": "TRUE",
        "EXCEPTIONS": "XML" if version == "1.3.0" else "application/vnd.ogc.se_xml",
    }


def picture(served, crs, bbox_xy, width, height, depth):
    url, params = map_params(served, crs, bbox_xy, width, height)
    return decoded(*cached_fetch(url, params, depth), (width, height))


# --- GetFeatureInfo ---------------------------------------------------------------------------
def info_format(served):
    """The GetFeatureInfo format to ask for, or None when the layer cannot be queried."""
    metadata = served.metadata
    if not metadata.get("queryable"):
        return None
    formats = metadata.get("featureinfo_formats") or []
    return next((f for f in INFO_PREFERENCE if f in formats), None)


def feature_info(served, info_format, crs, bbox_xy, size, i, j, count, depth):
    """[{id, fid, properties, geojson, gml}] at pixel (i, j) of a map of bbox_xy in crs, [] when
    the server fails (logged)."""
    url, params = map_params(served, crs, bbox_xy, *size)
    version = params["VERSION"]
    params.update({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": served.remote.identifier,
                   "INFO_FORMAT": info_format, "FEATURE_COUNT": str(count),
                   "I" if version == "1.3.0" else "X": str(i),
                   "J" if version == "1.3.0" else "Y": str(j)})
    params.pop("TRANSPARENT")
    url = served.metadata.get("featureinfo_url") or url
    try:
        content_type, content = cached_fetch(url, params, depth)
        if "json" in content_type or info_format.endswith("json"):
            found = json_features(served, content)
        else:
            found = gml_features(served, content)
    except (RemoteError, ValueError, etree.XMLSyntaxError) as error:
        log.warning("GetFeatureInfo distant de %s en échec : %s", served.layer.name, error)
        return []
    return found[:count]


def json_features(served, content):
    body = json.loads(content)
    out = []
    for n, feature in enumerate(body.get("features") or [], start=1):
        fid = feature.get("id") or n
        geometry = feature.get("geometry")
        out.append({"id": f"{served.layer.name}.{fid}", "fid": fid,
                    "properties": feature.get("properties") or {},
                    "geojson": json.dumps(geometry) if geometry else None, "gml": None})
    return out


def gml_features(served, content):
    root = etree.fromstring(content, SAFE_PARSER)
    out = []
    for member in root.iter():
        if local_name(member) not in ("featureMember", "member"):
            continue
        for n, feature in enumerate(member, start=1 + len(out)):
            properties = {local_name(child): (child.text or "").strip()
                          for child in feature if len(child) == 0}
            fid = next((v for k, v in feature.attrib.items() if local_name_of(k) in ("id", "fid")),
                       n)
            out.append({"id": f"{served.layer.name}.{fid}", "fid": fid,
                        "properties": properties, "geojson": None, "gml": None})
    return out


def local_name_of(attribute):
    return attribute.rsplit("}", 1)[-1]


# --- legends ----------------------------------------------------------------------------------
def legend_request(remote, style):
    """(url, params) of GetLegendGraphic for a style of the remote layer (a RemoteLayer)."""
    metadata = remote.metadata or {}
    url = metadata.get("getlegendgraphic_url") or metadata.get("getmap_url") or remote.service.url
    return url, {"SERVICE": "WMS", "VERSION": metadata.get("version", "1.3.0"),
                 "REQUEST": "GetLegendGraphic", "LAYER": remote.identifier,
                 "STYLE": style, "FORMAT": "image/png", "SLD_VERSION": "1.1.0"}
