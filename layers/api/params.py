"""Query parameters of /api/layers/{name}/features, checked with French messages.

Reserved names (f, limit, offset, bbox, bbox-crs, crs) come first; every other parameter is an
equality filter on an attribute of the layer and must name one of them.
"""
import math
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException

from ..features import OUTPUT_SRIDS

FORMATS = ("geojson", "csv", "gpkg", "shp")
MAX_INTEGER = 2**53  # beyond this, limit and offset mean nothing (and would overflow bigint)
RESERVED = ("f", "limit", "offset", "bbox", "bbox-crs", "crs")
# Accepted spellings of a CRS: 2154, EPSG:2154, the OGC URI, and CRS84 for WGS 84 longitude-latitude.
_CRS_RE = re.compile(
    r"^(?:(?:EPSG:)?|https?://www\.opengis\.net/def/crs/EPSG/0/|urn:ogc:def:crs:EPSG::)(\d{4,5})$",
    re.IGNORECASE,
)
_CRS84 = {"crs84", "ogc:crs84", "http://www.opengis.net/def/crs/ogc/1.3/crs84",
          "urn:ogc:def:crs:ogc:1.3:crs84"}


class BadParameter(APIException):
    """400 with {"detail": "<French message>", "parameter": "<name>"}."""
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"

    def __init__(self, parameter, message):
        super().__init__({"detail": str(message), "parameter": parameter})


def default_limit():
    return int(getattr(settings, "CAPGEO_API_FEATURES_DEFAULT_LIMIT", 100))


def max_limit():
    return int(getattr(settings, "CAPGEO_API_FEATURES_MAX_LIMIT", 10_000))


def crs_uri(srid):
    """The OGC URI of an output CRS (Content-Crs header)."""
    if srid == 4326:
        return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


@dataclass
class FeatureParams:
    format: str | None = None        # None: a page of GeoJSON; else an export
    limit: int | None = None
    offset: int = 0
    bbox: tuple | None = None
    bbox_crs: int = 4326
    crs: int = 4326
    equals: dict = field(default_factory=dict)

    @property
    def is_export(self):
        return self.format is not None


def parse_crs(value, parameter):
    text = (value or "").strip()
    if text.lower() in _CRS84:
        return 4326
    match = _CRS_RE.match(text)
    if match and int(match.group(1)) in OUTPUT_SRIDS:
        return int(match.group(1))
    raise BadParameter(parameter, _(
        "Système de coordonnées « %(value)s » non pris en charge : utilisez 4326 (WGS 84), "
        "2154 (Lambert-93) ou 3857 (Web Mercator).") % {"value": value})


def _parse_int(value, parameter, minimum):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or number > MAX_INTEGER:
        raise BadParameter(parameter, _("« %(parameter)s » doit être un entier supérieur ou égal "
                                            "à %(minimum)d.") % {"parameter": parameter,
                                                                  "minimum": minimum})
    return number


def parse_bbox(value, srid):
    parts = [part.strip() for part in (value or "").split(",")]
    try:
        if len(parts) != 4:
            raise ValueError
        minx, miny, maxx, maxy = (float(part) for part in parts)
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise ValueError
    except ValueError:
        raise BadParameter("bbox", _(
            "L'emprise s'écrit « minx,miny,maxx,maxy » (quatre nombres séparés par des virgules, "
            "par exemple -2.5,47.25,-2.3,47.4 en degrés).")) from None
    if minx >= maxx or miny >= maxy:
        raise BadParameter("bbox", _("Emprise invalide : minx doit être inférieur à maxx et "
                                         "miny à maxy."))
    if srid == 4326 and not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        raise BadParameter("bbox", _("Emprise invalide : en degrés, la longitude va de −180 à "
                                         "180 et la latitude de −90 à 90."))
    return (minx, miny, maxx, maxy)


def parse_feature_params(query, attributes):
    """FeatureParams from a QueryDict, or BadParameter (400) with a French message; attributes:
    the names of the columns the user may read (his feature source's)."""
    params = FeatureParams()
    if "f" in query:
        value = query.get("f", "").strip().lower()
        if value not in FORMATS:
            raise BadParameter("f", _("Format « %(value)s » inconnu : geojson, csv, gpkg ou shp.")
                                   % {"value": query.get("f")})
        params.format = value
    # GeoJSON is in WGS 84 (RFC 7946); CSV, GeoPackage and Shapefile default to Lambert-93, the
    # storage CRS.
    params.crs = 4326 if params.format in (None, "geojson") else 2154
    if "crs" in query:
        params.crs = parse_crs(query.get("crs"), "crs")
    if "bbox-crs" in query:
        params.bbox_crs = parse_crs(query.get("bbox-crs"), "bbox-crs")
    if "bbox" in query:
        params.bbox = parse_bbox(query.get("bbox"), params.bbox_crs)
    if "limit" in query:
        params.limit = _parse_int(query.get("limit"), "limit", 1)
        if not params.is_export and params.limit > max_limit():
            raise BadParameter("limit", _(
                "« limit » vaut au plus %(max)d par page ; pour toute la couche, utilisez un "
                "export (f=geojson, csv, gpkg ou shp).") % {"max": max_limit()})
    elif not params.is_export:
        params.limit = default_limit()
    if "offset" in query:
        params.offset = _parse_int(query.get("offset"), "offset", 0)

    attributes = list(attributes)
    unknown = sorted(name for name in query.keys() if name not in RESERVED and name not in attributes)
    if unknown:
        raise BadParameter(", ".join(unknown), _(
            "Paramètre inconnu : %(unknown)s. Paramètres possibles : %(reserved)s, et les attributs "
            "de la couche : %(attributes)s.") % {
                "unknown": ", ".join(f"« {name} »" for name in unknown),
                "reserved": ", ".join(RESERVED),
                "attributes": ", ".join(attributes) or _("(aucun)"),
        })
    params.equals = {name: query.getlist(name) for name in query.keys() if name in attributes}
    return params
