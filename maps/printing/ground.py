"""Ground measures of a printed map: true distances on the ellipsoid, true north, the frame's box.
"""
import math

from django.utils.translation import gettext as _
from pyproj import Geod, Transformer

from ..errors import PrintError

_geod = Geod(ellps="WGS84")


def _to_wgs84(srid):
    return Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)


def ground_width(bbox, srid):
    """Metres along the box's horizontal middle line, on the ellipsoid (true ground distance)."""
    minx, miny, maxx, maxy = bbox
    middle = (miny + maxy) / 2
    if srid == 4326:
        (lon1, lat1), (lon2, lat2) = (minx, middle), (maxx, middle)
    else:
        transform = _to_wgs84(srid)
        lon1, lat1 = transform.transform(minx, middle)
        lon2, lat2 = transform.transform(maxx, middle)
    if not all(math.isfinite(v) for v in (lon1, lat1, lon2, lat2)):
        raise PrintError(_("Emprise impossible à situer sur la Terre."))
    # Long lines are measured in steps so a wide box in degrees follows the parallel.
    steps = 16
    distance = 0.0
    for i in range(steps):
        a = lon1 + (lon2 - lon1) * i / steps, lat1 + (lat2 - lat1) * i / steps
        b = lon1 + (lon2 - lon1) * (i + 1) / steps, lat1 + (lat2 - lat1) * (i + 1) / steps
        distance += _geod.inv(a[0], a[1], b[0], b[1])[2]
    return distance


def north_angle(bbox, srid):
    """Degrees, clockwise from the top of the map, of true north at the map's centre: zero in
    Web Mercator and in degrees; in Lambert-93 the meridians converge (about 4° clockwise here)."""
    if srid in (3857, 4326):
        return 0.0
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    lon, lat = _to_wgs84(srid).transform(cx, cy)
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{srid}", always_xy=True).transform(
        lon, lat + 0.01)
    return math.degrees(math.atan2(x - cx, y - cy))


def fit_bbox(bbox, width_px, height_px):
    """The box grown around its centre to the frame's aspect (same units per pixel in x and y)."""
    minx, miny, maxx, maxy = bbox
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    per_pixel = max((maxx - minx) / width_px, (maxy - miny) / height_px)
    half_w, half_h = per_pixel * width_px / 2, per_pixel * height_px / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
