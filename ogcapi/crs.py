"""CRS by reference (OGC API – Features Part 2): the CRSs offered, their URIs, and the axis order
of coordinates exchanged in each.

Offered: OGC CRS84 (longitude, latitude: the default of Part 1), EPSG:4326 (the same datum, its
axes in the order of its definition: latitude, longitude), Lambert-93 (EPSG:2154, the storage
CRS) and Web Mercator (EPSG:3857; both east, north). Coordinates in EPSG:4326 are swapped both
ways: in bbox and filter geometries here before use, in the features written by PostGIS
(FeatureQuery.latitude_first: ST_FlipCoordinates).
"""
from django.utils.translation import gettext as _

from .errors import ApiError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_SRID = 2154

OUTPUT = {CRS84: 4326, EPSG + "4326": 4326, EPSG + "2154": 2154, EPSG + "3857": 3857}
INPUT = dict(OUTPUT)
LATITUDE_FIRST = {EPSG + "4326"}
ALIASES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84": CRS84, "urn:ogc:def:crs:OGC::CRS84": CRS84,
    "CRS84": CRS84, "OGC:CRS84": CRS84,
}
for _srid in (2154, 3857, 4326):
    for _alias in (f"EPSG:{_srid}", f"urn:ogc:def:crs:EPSG::{_srid}",
                   f"http://www.opengis.net/def/crs/EPSG/0/{_srid}",
                   f"https://www.opengis.net/def/crs/EPSG/0/{_srid}"):
        ALIASES[_alias] = EPSG + str(_srid)


def storage_crs():
    return EPSG + str(STORAGE_SRID)


def output_crs_list():
    return list(OUTPUT)


def normalise(value):
    value = (value or "").strip()
    if value.startswith("[") and value.endswith("]"):  # safe CURIE: [EPSG:2154]
        value = value[1:-1]
    return ALIASES.get(value, value)


def latitude_first(uri):
    return uri in LATITUDE_FIRST


def output(value, parameter="crs"):
    """(URI, SRID) of a requested output CRS (default CRS84), or a 400; latitude_first(URI)
    says whether its coordinates are written latitude first (EPSG:4326)."""
    if value is None or value == "":
        return CRS84, 4326
    uri = normalise(value)
    if uri not in OUTPUT:
        raise ApiError(400, "InvalidParameterValue",
                       _("Système de coordonnées non proposé pour « %(parameter)s » : "
                         "%(value)s. Valeurs possibles : %(values)s.")
                       % {"parameter": parameter, "value": value, "values": ", ".join(OUTPUT)})
    return uri, OUTPUT[uri]


def input_crs(value, parameter):
    """(URI, SRID, latitude_first) of a CRS given for bbox-crs or filter-crs (default CRS84)."""
    if value is None or value == "":
        return CRS84, 4326, False
    uri = normalise(value)
    if uri not in INPUT:
        raise ApiError(400, "InvalidParameterValue",
                       _("Système de coordonnées non accepté pour « %(parameter)s » : "
                         "%(value)s. Valeurs possibles : %(values)s.")
                       % {"parameter": parameter, "value": value, "values": ", ".join(INPUT)})
    return uri, INPUT[uri], uri in LATITUDE_FIRST


def content_crs_header(uri):
    return f"<{uri}>"
