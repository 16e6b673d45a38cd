"""The coordinate reference systems maps are drawn in, their axis order and their PROJ strings.

Mapnik never reprojects catalogue layers: PostGIS transforms the geometries to the requested CRS
(the mapnik wheel's PROJ cannot read Debian's proj.db). Their Map and its layer share one srs that
Mapnik only uses to know the units (degrees or metres) for scale denominators: one of Mapnik's
built-in CRSs (maps.renderer.MAPNIK_SRS), which cost no PROJ object per render. The PROJ strings
below serve the Maps drawing legends and remote WFS layers.
"""
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .errors import MapError, crs_code_name

PROJ = {
    2154: ("+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 "
           "+ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"),
    3857: ("+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m "
           "+nadgrids=@null +no_defs +type=crs"),
    4326: "+proj=longlat +datum=WGS84 +no_defs +type=crs",
}
# Where a request box may be transformed to Lambert-93 (generous around the CRS's area of use).
DOMAIN = {
    2154: (-400000.0, 5500000.0, 2000000.0, 7600000.0),
    3857: (-3339584.7, 3503549.8, 4452779.6, 12932243.1),
    4326: (-30.0, 30.0, 40.0, 74.0),
}
CODES = ("EPSG:2154", "EPSG:3857", "EPSG:4326", "CRS:84")


@dataclass(frozen=True)
class Crs:
    code: str          # as advertised: EPSG:4326, CRS:84…
    srid: int
    swap_axes: bool    # the request's BBOX / BoundingBox is (y, x): EPSG:4326 in WMS 1.3.0

    @property
    def proj(self):
        return PROJ[self.srid]

    def to_xy(self, box):
        """A WMS box in this CRS's axis order -> (minx, miny, maxx, maxy) east/north order."""
        return (box[1], box[0], box[3], box[2]) if self.swap_axes else tuple(box)

    def from_xy(self, box):
        return (box[1], box[0], box[3], box[2]) if self.swap_axes else tuple(box)


def crs_for(code, version):
    code = (code or "").strip().upper()
    if code == "CRS:84":
        return Crs("CRS:84", 4326, False)
    if code in CODES:
        srid = int(code.split(":")[1])
        return Crs(code, srid, version == "1.3.0" and srid == 4326)
    raise MapError(crs_code_name(version),
                   _("Système de coordonnées non proposé : « %(crs)s » (proposés : %(list)s).")
                   % {"crs": code, "list": ", ".join(CODES)}, "CRS" if version == "1.3.0" else "SRS")


def advertised_codes(version):
    return CODES if version == "1.3.0" else CODES[:3]
