"""OGC API – Maps (OGC 20-058) on the collections: ``/ogc/collections/{id}/map``,
``/ogc/collections/{id}/styles/{style}/map`` and the dataset map ``/ogc/map?collections=…``.

The map is drawn exactly as WMS GetMap draws it: this module only reads the OGC API parameters
into the WMS's MapRequest and hands it to the same function (wms.wms.getmap.draw_map: the worker's
cached decisions of the access policy, the map engine's Maps, the same PNG encoder). A user sees
on the map only the rows and columns GetMap shows him; a collection he may not view is unknown.

Parameters (conformance classes core, background, crs, scaling, spatial-subsetting, datetime,
collection-map, styled-map, dataset-map, collections-selection, png):
- ``crs``: the map's CRS (CRS84, EPSG:4326, EPSG:2154 — the storage CRS and the default —,
  EPSG:3857); the answer's ``Content-Crs`` names it and ``Content-Bbox`` gives the drawn box in
  its axis order (latitude first for EPSG:4326).
- ``bbox`` (4 numbers) in ``bbox-crs`` (default CRS84, as the standard says): transformed to the
  map's CRS with densified edges (pyproj); absent: the collections' extent the user may see.
- or ``subset`` in ``subset-crs`` (default CRS84): ranges on the CRS's axes named as it names
  them — ``Lon``/``Lat`` for CRS84 and EPSG:4326, ``E``/``N`` (or ``X``/``Y``) for the projected
  ones — e.g. ``subset=Lat(47.3:47.34),Lon(-2.45:-2.4)``; a bound ``*`` or an axis left out
  takes the collections' extent.
- or ``center`` (2 numbers, axis order of ``center-crs``, default CRS84): the map centred there,
  at ``scale-denominator`` or else at the resolution of the collections' whole extent.
  bbox, subset and center exclude each other.
- ``width``, ``height`` (1 to CAPGEO_WMS_MAX_SIZE pixels; one of them alone keeps the box's
  aspect ratio; neither: the longer side is DEFAULT_SIZE), or ``scale-denominator`` (0.28 mm
  pixels, as WMS and WMTS count them) with the box, or around its centre with width/height.
- ``datetime``: an instant or an interval ``start/end`` (``..`` for an open end), as for
  /items: only the features whose temporal property (the first date or timestamp column) matches
  are drawn; a collection without one is drawn whole.
- ``transparent`` (default true) and ``bgcolor`` (0xRRGGBB, #RRGGBB or a W3C colour name).
Errors are OGC API exceptions in JSON, never an HTML page.
"""
import math
import re

from django.utils.translation import gettext as _

from layers.models import LAYER_NAME_RE
from maps.crs import Crs
from maps.errors import MapError
from maps.mapnik_env import mapnik
from wms.wms.getmap import draw_map, image_response
from wms.wms.params import PNG_32, MapRequest, max_size

from . import crs as crs_module
from . import temporal
from .errors import ApiError, bad_request, not_found

PNG = "image/png"
DEFAULT_SIZE = 1024
METRES_PER_PIXEL = 0.00028        # the standard rendering pixel (OGC WMS/WMTS/20-058)
METRES_PER_DEGREE = 111319.49079327357  # at the equator, for scale denominators in degrees
MAX_COLLECTIONS = 20
NUMBER_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?\s*$")
HEX_COLOUR = re.compile(r"^(?:0x|#)([0-9a-fA-F]{6})$")
COLOUR_NAME = re.compile(r"^[a-zA-Z]{3,30}$")

# The map CRSs: URI -> (SRID, latitude first). CRS84 and EPSG:4326 draw the same image; only
# the order of coordinates in bbox and Content-Bbox differs.
MAP_CRS = {crs_module.CRS84: (4326, False), crs_module.EPSG + "4326": (4326, True),
           crs_module.EPSG + "2154": (2154, False), crs_module.EPSG + "3857": (3857, False)}
DEFAULT_CRS = crs_module.EPSG + "2154"
# Where each CRS is defined (east/north): a bbox or a drawn box beyond is refused or cut.
VALID = {4326: (-180.0, -90.0, 180.0, 90.0),
         3857: (-20037508.342789244, -20048966.1040146, 20037508.342789244, 20048966.1040146),
         2154: (-1e8, -1e8, 1e8, 1e8)}  # maps.renderer.WHOLE_CRS

PARAMETERS = {"f", "crs", "bbox", "bbox-crs", "subset", "subset-crs", "center", "center-crs",
               "width", "height", "scale-denominator", "datetime", "transparent", "bgcolor",
               "collections", "token", "access_token"}
# Axis names of a subset, by CRS (east then north), compared without case.
AXES = {4326: (("lon", "long", "longitude"), ("lat", "latitude")),
        3857: (("e", "x", "easting"), ("n", "y", "northing")),
        2154: (("e", "x", "easting"), ("n", "y", "northing"))}
SUBSET_RANGE = re.compile(r"\s*([A-Za-z]{1,20})\s*\(([^():]*):([^():]*)\)\s*")


# --- reading the parameters ----------------------------------------------------------------------
def number(raw, name):
    if not NUMBER_RE.match(raw or ""):
        raise bad_request(_("« %(name)s » doit être un nombre.") % {"name": name})
    value = float(raw)
    if not math.isfinite(value):
        raise bad_request(_("« %(name)s » doit être un nombre fini.") % {"name": name})
    return value


def map_crs(params):
    raw = params.get("crs")
    uri = crs_module.normalise(raw) if raw else DEFAULT_CRS
    if uri not in MAP_CRS:
        raise bad_request(_("Système de coordonnées non proposé pour la carte : %(crs)s. "
                            "Valeurs possibles : %(list)s.")
                          % {"crs": raw[:100], "list": ", ".join(MAP_CRS)})
    return uri, *MAP_CRS[uri]


def size_parameter(params, name):
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    limit = max_size()
    if not re.fullmatch(r"\s*\+?\d{1,9}\s*", raw):
        raise bad_request(_("« %(name)s » doit être un nombre entier de pixels.") % {"name": name})
    value = int(raw)
    if not 1 <= value <= limit:
        raise bad_request(_("« %(name)s » doit être compris entre 1 et %(max)d pixels.")
                          % {"name": name, "max": limit})
    return value


def transparent(params):
    raw = (params.get("transparent") or "true").strip().lower()
    if raw not in ("true", "false"):
        raise bad_request(_("« transparent » vaut true ou false."))
    return raw == "true"


def bgcolor(params):
    """(r, g, b) of bgcolor (white by default): 0xRRGGBB, #RRGGBB or a W3C colour name."""
    raw = (params.get("bgcolor") or "0xFFFFFF").strip()
    match = HEX_COLOUR.match(raw)
    if match:
        hexa = match.group(1)
        return tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4))
    if COLOUR_NAME.match(raw):
        try:
            colour = mapnik.Color(raw.lower())
        except (RuntimeError, ValueError):
            colour = None
        if colour is not None:
            return colour.r, colour.g, colour.b
    raise bad_request(_("« bgcolor » s'écrit 0xRRGGBB ou par un nom de couleur du W3C "
                        "(par exemple 0xFFFFFF, white)."))


def to_xy(box, latitude_first):
    return (box[1], box[0], box[3], box[2]) if latitude_first else tuple(box)


def transform_box(box_xy, from_srid, to_srid):
    """box_xy (east/north) of from_srid as the box of to_srid holding it (edges densified)."""
    if from_srid == to_srid:
        return box_xy
    from pyproj import Transformer

    transformer = Transformer.from_crs(from_srid, to_srid, always_xy=True)
    try:
        box = transformer.transform_bounds(*box_xy, densify_pts=21)
    except Exception:  # noqa: BLE001 — pyproj's ProjError: outside what the CRS can represent
        box = (math.inf,) * 4
    if not all(math.isfinite(v) for v in box):
        raise bad_request(_("bbox ne peut pas être représentée dans le système de la carte."))
    return tuple(box)


def crs_of(params, name):
    """(SRID, latitude first) of the parameter's ``<name>-crs`` (CRS84 by default), checked
    whether the parameter itself is given or not."""
    _uri, srid, latitude_first = crs_module.input_crs(params.get(f"{name}-crs"), f"{name}-crs")
    return srid, latitude_first


def requested_box(params, srid):
    """The bbox (east/north, in srid), or None when not given."""
    box_srid, latitude_first = crs_of(params, "bbox")
    raw = params.get("bbox")
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise bad_request(_("bbox attend 4 (ou 6) nombres séparés par des virgules."))
    numbers = [number(part, "bbox") for part in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    box = checked_box(to_xy(numbers, latitude_first), box_srid, "bbox")
    return transform_box(box, box_srid, srid)


def checked_box(box, srid, name):
    minx, miny, maxx, maxy = box
    if minx >= maxx or miny >= maxy:
        raise bad_request(_("%(name)s : le minimum doit être inférieur au maximum sur chaque "
                            "axe.") % {"name": name})
    low_x, low_y, high_x, high_y = VALID[srid]
    if minx < low_x or maxx > high_x or miny < low_y or maxy > high_y:
        raise bad_request(_("%(name)s sort du domaine de son système de coordonnées.")
                          % {"name": name})
    return box


def subset_box(params, srid, default_box):
    """The box of the subset ranges (east/north, in srid), or None when not given."""
    subset_srid, _latitude_first = crs_of(params, "subset")
    raws = [raw for raw in params.getlist("subset") if raw]
    if not raws:
        return None
    names = AXES[subset_srid]
    expected = f"{names[0][0].capitalize()}(min:max),{names[1][0].capitalize()}(min:max)"
    ranges = {}
    for text in ",".join(raws).split(","):
        match = SUBSET_RANGE.fullmatch(text)
        if not match:
            raise bad_request(_("subset s'écrit %(form)s.") % {"form": expected})
        name, low, high = match.groups()
        axis = next((i for i, aliases in enumerate(names) if name.lower() in aliases), None)
        if axis is None:
            raise bad_request(_("subset : axe inconnu « %(name)s » pour ce système de "
                                "coordonnées (%(form)s).") % {"name": name, "form": expected})
        if axis in ranges:
            raise bad_request(_("subset : l'axe « %(name)s » est donné deux fois.")
                              % {"name": name})
        ranges[axis] = tuple(None if bound.strip() == "*" else number(bound, "subset")
                             for bound in (low, high))
    whole = None
    if len(ranges) < 2 or any(None in bounds for bounds in ranges.values()):
        if default_box is None:
            raise not_found(_("Aucun objet à dessiner : bornez les deux axes de subset."))
        whole = transform_box(default_box, srid, subset_srid)
    box = [0.0] * 4
    for axis in (0, 1):
        low, high = ranges.get(axis, (None, None))
        box[axis] = whole[axis] if low is None else low
        box[axis + 2] = whole[axis + 2] if high is None else high
    return transform_box(checked_box(tuple(box), subset_srid, "subset"), subset_srid, srid)


def center_point(params, srid):
    """The center (east/north, in srid), or None when not given."""
    center_srid, latitude_first = crs_of(params, "center")
    raw = params.get("center")
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) != 2:
        raise bad_request(_("center attend 2 nombres séparés par une virgule."))
    first, second = (number(part, "center") for part in parts)
    x, y = (second, first) if latitude_first else (first, second)
    low_x, low_y, high_x, high_y = VALID[center_srid]
    if not (low_x <= x <= high_x and low_y <= y <= high_y):
        raise bad_request(_("center sort du domaine de son système de coordonnées."))
    if center_srid == srid:
        return x, y
    from pyproj import Transformer

    try:
        point = Transformer.from_crs(center_srid, srid, always_xy=True).transform(x, y)
    except Exception:  # noqa: BLE001 — pyproj's ProjError
        point = (math.inf, math.inf)
    if not all(math.isfinite(v) for v in point):
        raise bad_request(_("center ne peut pas être représenté dans le système de la carte."))
    return point


def units_per_pixel(scale, srid):
    metres = scale * METRES_PER_PIXEL
    return metres / METRES_PER_DEGREE if srid == 4326 else metres


def frame(params, srid, default_box):
    """(bbox_xy, width, height) of the map from bbox (or subset, or center), width, height and
    scale-denominator."""
    if sum(1 for name in ("bbox", "subset", "center") if params.get(name)) > 1:
        raise bad_request(_("bbox, subset et center s'excluent : donnez-en un seul."))
    box = requested_box(params, srid)
    if box is None:
        box = subset_box(params, srid, default_box)
    center = center_point(params, srid)
    width, height = size_parameter(params, "width"), size_parameter(params, "height")
    raw_scale = params.get("scale-denominator")
    scale = None
    if raw_scale not in (None, ""):
        scale = number(raw_scale, "scale-denominator")
        if scale <= 0:
            raise bad_request(_("« scale-denominator » doit être positif."))
    if center is not None:
        width, height = width or DEFAULT_SIZE, height or DEFAULT_SIZE
        if scale is not None:
            resolution = units_per_pixel(scale, srid)
        elif default_box is not None:  # the whole extent's resolution at this size
            resolution = max((default_box[2] - default_box[0]) / width,
                             (default_box[3] - default_box[1]) / height)
        else:
            raise not_found(_("Aucun objet à dessiner : précisez scale-denominator."))
        cx, cy = center
        return (cx - width * resolution / 2, cy - height * resolution / 2,
                cx + width * resolution / 2, cy + height * resolution / 2), width, height
    if box is None:
        if default_box is None:
            raise not_found(_("Aucun objet à dessiner : précisez bbox."))
        box = default_box
        if scale is not None:  # around the centre of the collections' extent
            resolution = units_per_pixel(scale, srid)
            width = width or DEFAULT_SIZE
            height = height or DEFAULT_SIZE
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            box = (cx - width * resolution / 2, cy - height * resolution / 2,
                   cx + width * resolution / 2, cy + height * resolution / 2)
            return box, width, height
    elif scale is not None:
        if width is not None and height is not None:
            raise bad_request(_("bbox, width, height et scale-denominator ensemble se "
                                "contredisent : donnez-en trois."))
        resolution = units_per_pixel(scale, srid)
        width = width or computed(box[2] - box[0], resolution)
        height = height or computed(box[3] - box[1], resolution)
        return box, width, height
    span_x, span_y = box[2] - box[0], box[3] - box[1]
    if width is None and height is None:
        if span_x >= span_y:
            width, height = DEFAULT_SIZE, max(1, round(DEFAULT_SIZE * span_y / span_x))
        else:
            width, height = max(1, round(DEFAULT_SIZE * span_x / span_y)), DEFAULT_SIZE
    elif height is None:
        height = computed_size(width * span_y / span_x)
    elif width is None:
        width = computed_size(height * span_x / span_y)
    return box, width, height


def computed(span, resolution):
    return computed_size(span / resolution)


def computed_size(pixels):
    limit = max_size()
    if not math.isfinite(pixels) or round(pixels) > limit:
        raise bad_request(_("La carte demandée dépasserait %(max)d pixels de côté : réduisez "
                            "bbox ou agrandissez l'échelle.") % {"max": limit})
    return max(1, round(pixels))


def check_format(request):
    fmt = (request.GET.get("f") or "").strip().lower()
    if fmt and fmt not in ("png", PNG):
        raise ApiError(400, "InvalidParameterValue",
                       _("Format de carte non proposé : %(f)s (png).") % {"f": fmt[:40]})
    accept = request.headers.get("Accept", "")
    if not fmt and accept and not any(kind in accept for kind in (PNG, "image/*", "*/*")):
        raise ApiError(406, "NotAcceptable", _("Les cartes sont servies en PNG (image/png)."))


def check_parameters(params, dataset):
    for name in params:
        if name not in PARAMETERS or (name == "collections" and not dataset):
            raise bad_request(_("Paramètre non pris en charge par les cartes : « %(name)s ».")
                              % {"name": name[:60]})


def union(boxes):
    boxes = [box for box in boxes if box]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


# --- the map -------------------------------------------------------------------------------------
def render(request, sources, style_names, dataset=False):
    """The PNG answer drawing these feature sources (the user's, from the access policy; first
    at the bottom) with these styles ('' = default), as GetMap would."""
    params = request.GET
    check_parameters(params, dataset)
    check_format(request)
    uri, srid, latitude_first = map_crs(params)
    default_box = union(source.summary().boxes.get(srid) for source in sources)
    box, width, height = frame(params, srid, default_box)
    colour = bgcolor(params)  # checked even when the map is transparent
    fill = None if transparent(params) else (*colour, 255)
    code = "CRS:84" if srid == 4326 and not latitude_first else f"EPSG:{srid}"
    query = MapRequest("1.3.0", [source.layer.name for source in sources], list(style_names),
                       Crs(code, srid, False), box, width, height)
    try:
        image, failed = draw_map(request, query, fill, narrowing(params.get("datetime")))
    except MapError as error:
        if error.code in ("LayerNotDefined", "StyleNotDefined"):
            raise not_found(error.message) from None
        raise bad_request(error.message) from None
    response = image_response(image, (PNG, PNG_32), fill)
    response["Content-Crs"] = crs_module.content_crs_header(uri)
    response["Content-Bbox"] = ",".join(repr(round(v, 9)) for v in
                                        to_xy(box, latitude_first))
    response["Vary"] = "Accept, Cookie, Authorization"
    return response


def narrowing(raw_datetime):
    """None, or the function narrowing each drawn source to the features of the datetime value
    (read now: a 400 before anything is drawn)."""
    if raw_datetime is None:
        return None
    temporal.instants(raw_datetime)

    def narrow(source):
        where = temporal.condition(raw_datetime, source)
        return source if where is None else source.narrowed(where)

    return narrow


def collection_names(params):
    raw = params.get("collections")
    if raw is None:
        return None
    names = [part.strip() for part in raw.split(",")]
    if not names or any(not name for name in names):
        raise bad_request(_("« collections » : identifiants de collections séparés par des "
                            "virgules."))
    if len(names) > MAX_COLLECTIONS:
        raise bad_request(_("Au plus %(max)d collections par carte.") % {"max": MAX_COLLECTIONS})
    for name in names:
        if not LAYER_NAME_RE.match(name):
            raise not_found(_("Collection inconnue : %(name)s.") % {"name": name[:60]})
    return names


GEOMETRY_ORDER = ("POLYGON", "MULTIPOLYGON", "LINESTRING", "MULTILINESTRING", "POINT",
                  "MULTIPOINT")


def drawing_order(layer):
    """Areas below lines below points, then by name: the dataset map's default stacking."""
    kind = (layer.geometry_type or "").upper()
    rank = GEOMETRY_ORDER.index(kind) // 2 if kind in GEOMETRY_ORDER else 1
    return rank, layer.name
