"""Parsing of WMS KVP parameters (names already upper-cased by wms.ows_endpoint) into checked values."""
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from layers.remote.fetch import DEPTH_HEADER
from maps.crs import crs_for

from .errors import WmsError

VERSIONS = ("1.1.1", "1.3.0")
DEFAULT_VERSION = "1.3.0"
MAX_LAYERS = 20

# FORMAT -> (Content-Type answered, Mapnik encoding; PNG_32 is maps.png's own encoder).
PNG_32 = "png32"
IMAGE_FORMATS = {
    "image/png": ("image/png", PNG_32),
    "image/png; mode=8bit": ("image/png", "png8:m=h"),
    "image/png8": ("image/png", "png8:m=h"),
    "image/jpeg": ("image/jpeg", "jpeg85"),
    "image/webp": ("image/webp", "webp"),
}
ADVERTISED_IMAGE_FORMATS = ("image/png", "image/png; mode=8bit", "image/jpeg", "image/webp")


def max_size():
    return int(getattr(settings, "CAPGEO_WMS_MAX_SIZE", 4096))


def negotiate_version(params):
    """The version to answer in: the requested one if served, else the nearest lower (or the
    lowest), as WMS version negotiation says; 1.3.0 when none is given."""
    requested = (params.get("VERSION") or params.get("WMTVER") or "").strip()
    if not requested:
        return DEFAULT_VERSION
    if requested in VERSIONS:
        return requested
    try:
        wanted = tuple(int(part) for part in requested.split("."))
    except ValueError:
        return DEFAULT_VERSION
    lower = [v for v in VERSIONS if tuple(map(int, v.split("."))) <= wanted]
    return lower[-1] if lower else VERSIONS[0]


def required(params, name):
    value = params.get(name)
    if value is None or not value.strip():
        raise WmsError("MissingParameterValue",
                       _("Le paramètre %(name)s est obligatoire.") % {"name": name}, name)
    return value.strip()


def number_list(value, name, count):
    parts = value.split(",")
    if len(parts) != count:
        raise WmsError("InvalidParameterValue",
                       _("%(name)s attend %(count)d nombres séparés par des virgules.")
                       % {"name": name, "count": count}, name)
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise WmsError("InvalidParameterValue",
                       _("%(name)s contient une valeur qui n'est pas un nombre.") % {"name": name},
                       name) from None
    if not all(math.isfinite(n) for n in numbers):
        raise WmsError("InvalidParameterValue",
                       _("%(name)s contient une valeur non finie.") % {"name": name}, name)
    return numbers


def parse_bbox(params):
    value = required(params, "BBOX")
    parts = value.split(",")
    if len(parts) == 5:  # WMS 1.3.0 allows a trailing CRS
        parts = parts[:4]
    box = number_list(",".join(parts), "BBOX", 4)
    if box[0] >= box[2] or box[1] >= box[3]:
        raise WmsError("InvalidParameterValue",
                       _("BBOX : le minimum doit être inférieur au maximum sur chaque axe."), "BBOX")
    return tuple(box)


def parse_size(params):
    limit = max_size()
    sizes = []
    for name in ("WIDTH", "HEIGHT"):
        value = required(params, name)
        if not re.fullmatch(r"\d{1,9}", value):
            raise WmsError("InvalidParameterValue",
                           _("%(name)s doit être un entier positif.") % {"name": name}, name)
        size = int(value)
        if not 1 <= size <= limit:
            raise WmsError("InvalidParameterValue",
                           _("%(name)s doit être compris entre 1 et %(max)d pixels.")
                           % {"name": name, "max": limit}, name)
        sizes.append(size)
    return tuple(sizes)


def parse_crs(params, version):
    name = "CRS" if version == "1.3.0" else "SRS"
    value = params.get(name) or params.get("SRS" if name == "CRS" else "CRS")
    if not value or not value.strip():
        raise WmsError("MissingParameterValue",
                       _("Le paramètre %(name)s est obligatoire.") % {"name": name}, name)
    return crs_for(value, version)


def parse_format(params):
    value = required(params, "FORMAT")
    key = re.sub(r"\s*;\s*", "; ", value.strip().lower())
    if key not in IMAGE_FORMATS:
        raise WmsError("InvalidFormat",
                       _("Format d'image non proposé : « %(format)s » (proposés : %(list)s).")
                       % {"format": value, "list": ", ".join(ADVERTISED_IMAGE_FORMATS)}, "FORMAT")
    return IMAGE_FORMATS[key]


def parse_transparent(params):
    value = (params.get("TRANSPARENT") or "FALSE").strip().upper()
    if value not in ("TRUE", "FALSE"):
        raise WmsError("InvalidParameterValue", _("TRANSPARENT vaut TRUE ou FALSE."), "TRANSPARENT")
    return value == "TRUE"


def parse_bgcolor(params):
    value = (params.get("BGCOLOR") or "0xFFFFFF").strip()
    match = re.fullmatch(r"(?:0x|#)([0-9a-fA-F]{6})", value)
    if not match:
        raise WmsError("InvalidParameterValue",
                       _("BGCOLOR s'écrit 0xRRGGBB (par exemple 0xFFFFFF)."), "BGCOLOR")
    hexa = match.group(1)
    return tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4))


def name_list(value, name):
    names = [part.strip() for part in value.split(",")]
    if any(not part for part in names):
        raise WmsError("LayerNotDefined", _("%(name)s contient un nom de couche vide.")
                       % {"name": name}, name)
    if len(names) > MAX_LAYERS:
        raise WmsError("InvalidParameterValue",
                       _("Au plus %(max)d couches par requête.") % {"max": MAX_LAYERS}, name)
    return names


def style_list(params, count):
    """One style name per layer ('' = default). An empty or absent STYLES means all defaults."""
    value = params.get("STYLES")
    if value is None or not value.strip(","):
        return [""] * count
    styles = [part.strip() for part in value.split(",")]
    if len(styles) != count:
        raise WmsError("StyleNotDefined",
                       _("STYLES doit donner un style par couche de LAYERS (%(count)d), "
                         "éventuellement vide.") % {"count": count}, "STYLES")
    return styles


@dataclass(frozen=True)
class MapRequest:
    """What GetMap and GetFeatureInfo share: the layers' view of the map."""
    version: str
    layer_names: list
    style_names: list
    crs: object
    bbox: tuple          # in the request's axis order
    width: int
    height: int

    @property
    def bbox_xy(self):
        return self.crs.to_xy(self.bbox)


def refuse_user_styles(params):
    """SLD / SLD_BODY (styles sent by the client) are not served: say so rather than ignore."""
    for name in ("SLD_BODY", "SLD"):
        if params.get(name):
            raise WmsError("InvalidParameterValue",
                           _("Le paramètre %(name)s n'est pas pris en charge : importez le SLD "
                             "comme style de la couche, puis demandez-le par STYLES.")
                           % {"name": name}, name)


def parse_map_request(params, version, layers_param="LAYERS"):
    refuse_user_styles(params)
    names = name_list(required(params, layers_param), layers_param)
    styles = style_list(params, len(names))
    crs = parse_crs(params, version)
    bbox = parse_bbox(params)
    width, height = parse_size(params)
    return MapRequest(version, names, styles, crs, bbox, width, height)


def request_depth(request):
    """How many platforms this request has already cascaded through (the DEPTH_HEADER that
    layers.remote.fetch sends): the map engine stops a cascade that would loop."""
    try:
        return int(request.META.get("HTTP_" + DEPTH_HEADER.upper().replace("-", "_"), 0))
    except ValueError:
        return 0
