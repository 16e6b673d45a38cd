"""Remote catalogue layers (kind=remote) drawn, queried and legended through the platform's WMS.

A remote layer passes the access policy like any layer (catalogue.resolve); then:
- GetMap of a remote WMS layer asks the remote server for the same box, size and CRS, in PNG
  with a transparent background, and composites it in the requested order with the local layers;
- a remote WMTS layer is drawn from its tiles: the tile matrix set in the requested CRS, the
  level nearest the requested resolution, the tiles covering the box mosaicked then resampled;
- when the remote layer does not offer the requested CRS, it is asked in one it offers
  (Lambert-93, Web Mercator or WGS 84; a WFS never in WGS 84) and the image warped
  (maps.reproject); GetFeatureInfo asks at the matching point; InvalidCRS only when it offers
  none of them;
- a remote WFS layer is drawn from its features in the box (maps.cascade_wfs), asked in a
  projected CRS only (a WGS 84 map is warped, as above), with the built-in style and its legend;
- a remote failure never fails the map: the layer is left blank and named in the
  X-CapGeo-Remote-Failed header (a missing basemap is better than no map at all);
- answers are cached briefly per (layer, request) to be gentle with remote servers.
All remote requests go through layers.remote.fetch (SSRF guard, time and size limits).
"""
import io
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree
from PIL import Image

from layers.models import Layer, RemoteLayer
from layers.remote.capabilities import SAFE_PARSER, local_name, with_parameters
from layers.remote.fetch import DEPTH_HEADER, MAX_DEPTH, RemoteError, fetch
from layers.remote.fetch import timeout as remote_timeout

from . import cascade_wfs, reproject
from .errors import MapError, crs_code_name
from .mapnik_env import mapnik

log = logging.getLogger(__name__)

DRAWN_PROTOCOLS = ("wms", "wmts", "wfs")
FAILED_HEADER = "X-CapGeo-Remote-Failed"
MAX_TILES = 64
TILE_WORKERS = 4
METRES_PER_DEGREE = 6378137 * 2 * math.pi / 360
PIXEL_SIZE = 0.00028  # metres: the WMTS "standardized rendering pixel size"
# Codes a remote server may use for the CRSs the platform serves.
EQUIVALENT_CRS = {
    "EPSG:2154": ("EPSG:2154",),
    "EPSG:3857": ("EPSG:3857", "EPSG:900913", "EPSG:102100", "EPSG:102113"),
    "EPSG:4326": ("EPSG:4326", "CRS:84"),
    "CRS:84": ("CRS:84", "EPSG:4326"),
}
IMAGE_PREFERENCE = ("image/png", "image/png; mode=32bit", "image/png8", "image/png; mode=8bit",
                    "image/webp", "image/jpeg", "image/gif")
INFO_PREFERENCE = ("application/json", "application/geo+json", "application/vnd.ogc.gml",
                   "text/xml", "application/vnd.ogc.gml/3.1.1")


def is_remote(served):
    return getattr(served, "is_remote", False)


def has_remote(served_layers):
    return any(is_remote(s) for s in served_layers)


@dataclass
class RemoteServed:
    """A remote catalogue layer in a WMS request: its Grant and the remote style to ask for."""
    grant: object
    style: str
    fresh: object = field(default=None, init=False, repr=False, compare=False)
    is_remote = True

    @property
    def layer(self):
        return self.grant.layer

    @property
    def remote(self):
        """The RemoteLayer as now stored (decisions may be cached across requests, and a new
        capabilities reading changes only the remote layer)."""
        if self.fresh is None:
            self.fresh = RemoteLayer.objects.select_related("service").get(
                pk=self.layer.remote_layer_id)
        return self.fresh

    @property
    def protocol(self):
        return self.remote.service.protocol

    @property
    def metadata(self):
        return self.remote.metadata or {}


def drawable(layer):
    return (layer.kind == Layer.Kind.REMOTE and layer.remote_layer_id is not None
            and layer.remote_layer.service.protocol in DRAWN_PROTOCOLS)


def remote_style(layer, name, locator="STYLES"):
    """The remote style to request ('' = the server's default)."""
    styles = list(layer.remote_layer.styles)
    if not name or (name.lower() == "default" and name not in styles):
        if layer.remote_layer.service.protocol == "wmts":
            return (layer.remote_layer.metadata or {}).get("default_style") or \
                (styles[0] if styles else "default")
        return ""
    if name in styles:
        return name
    raise MapError("StyleNotDefined", _("La couche « %(layer)s » n'a pas de style « %(style)s ».")
                   % {"layer": layer.name, "style": name[:100]}, locator)


# --- a short-lived cache of remote answers -----------------------------------------------------
class AnswerCache:
    def __init__(self, size=128):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.items.get(key)
            if found is None or found[0] < time.monotonic():
                self.items.pop(key, None)
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key, value, seconds):
        if seconds <= 0:
            return
        with self.lock:
            self.items[key] = (time.monotonic() + seconds, value)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self):
        with self.lock:
            self.items.clear()


_answers = AnswerCache()


def clear_cache():
    _answers.clear()


def cache_seconds():
    return float(getattr(settings, "CAPGEO_REMOTE_CACHE_SECONDS", 60))


def cached_fetch(url, params, depth):
    """(content_type, bytes) of a successful remote answer, cached; RemoteError otherwise."""
    key = (url, tuple(sorted(params.items())))
    found = _answers.get(key)
    if found is not None:
        return found
    answer = fetch(url, params, depth=depth)
    if answer.status != 200:
        raise RemoteError(remote_failure(answer))
    found = (answer.content_type.split(";")[0].strip().lower(), answer.content)
    if found[0].startswith("image/") or "json" in found[0] or "xml" in found[0]:
        _answers.put(key, found, cache_seconds())
    return found


def remote_failure(answer):
    try:
        root = etree.fromstring(answer.content, SAFE_PARSER)
        text = " ".join(" ".join(t.split()) for t in root.itertext() if t.strip())[:300]
    except etree.XMLSyntaxError:
        text = ""
    return _("réponse HTTP %(status)d %(text)s") % {"status": answer.status, "text": text}


def request_depth(request):
    try:
        return int(request.META.get("HTTP_" + DEPTH_HEADER.upper().replace("-", "_"), 0))
    except ValueError:
        return 0


# --- CRS --------------------------------------------------------------------------------------
def remote_crs(served, crs):
    """The remote's code for the requested CRS, or InvalidCRS."""
    offered = set(served.remote.crs)
    for code in EQUIVALENT_CRS.get(crs.code, (crs.code,)):
        if code in offered:
            return code
    version = getattr(served, "wms_version", "1.3.0")
    raise MapError(crs_code_name(version),
                   _("La couche distante « %(layer)s » n'est pas proposée dans le système "
                     "%(crs)s (proposés : %(list)s).")
                   % {"layer": served.layer.name, "crs": crs.code,
                      "list": ", ".join(sorted(offered)) or "—"},
                   "CRS" if version == "1.3.0" else "SRS")


CRS_CHECKS = {"wms": lambda served, crs: remote_crs(served, crs),
              "wmts": lambda served, crs: tile_matrix_set(served, crs),
              "wfs": lambda served, crs: cascade_wfs.check_crs(served, crs)}


def offers(served, crs):
    """Whether the remote layer can be asked in this CRS as is."""
    try:
        CRS_CHECKS[served.protocol](served, crs)
    except MapError:
        return False
    return True


def drawing_crs(served, crs):
    """The CRS to ask the remote layer in (crs itself when offered), or InvalidCRS."""
    found = reproject.source_crs(lambda candidate: offers(served, candidate), crs)
    if found is not None:
        return found
    CRS_CHECKS[served.protocol](served, crs)  # raises the usual InvalidCRS, naming what it offers
    return crs


def check_crs(served_layers, crs, version):
    for served in served_layers:
        if is_remote(served):
            served.wms_version = version
            drawing_crs(served, crs)


def remote_bbox(code, version, bbox_xy):
    """The box in the axis order the remote WMS expects (EPSG:4326 is lat/lon in 1.3.0)."""
    minx, miny, maxx, maxy = bbox_xy
    if version == "1.3.0" and code == "EPSG:4326":
        return miny, minx, maxy, maxx
    return bbox_xy


def bbox_text(box):
    return ",".join(repr(float(v)) for v in box)


def pick_format(formats, preference=IMAGE_PREFERENCE):
    lowered = {f.lower(): f for f in formats}
    for wanted in preference:
        if wanted in lowered:
            return lowered[wanted]
    return next((f for f in formats if f.lower().startswith("image/")), "image/png")


# --- remote WMS -------------------------------------------------------------------------------
def wms_map_params(served, crs, bbox_xy, width, height):
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


def decoded(content_type, content, size=None):
    if not content_type.startswith("image/"):
        raise RemoteError(_("le serveur n'a pas renvoyé une image (%(type)s)")
                          % {"type": content_type or "?"})
    try:
        picture = Image.open(io.BytesIO(content))
        picture.load()
    except (OSError, Image.DecompressionBombError, ValueError):
        raise RemoteError(_("image illisible")) from None
    picture = picture.convert("RGBA")
    if size and picture.size != size:
        picture = picture.resize(size, Image.BILINEAR)
    return picture


def wms_picture(served, crs, bbox_xy, width, height, depth):
    url, params = wms_map_params(served, crs, bbox_xy, width, height)
    return decoded(*cached_fetch(url, params, depth), (width, height))


# --- remote WMTS ------------------------------------------------------------------------------
def tile_matrix_set(served, crs):
    sets = served.metadata.get("tile_matrix_sets") or {}
    for code in EQUIVALENT_CRS.get(crs.code, (crs.code,)):
        for name, tms in sets.items():
            if tms.get("crs") == code and tms.get("matrices"):
                return name, tms
    version = getattr(served, "wms_version", "1.3.0")
    offered = sorted({tms.get("crs") for tms in sets.values() if tms.get("crs")})
    raise MapError(crs_code_name(version),
                   _("La couche distante « %(layer)s » n'a pas de tuiles dans le système "
                     "%(crs)s (proposés : %(list)s).")
                   % {"layer": served.layer.name, "crs": crs.code, "list": ", ".join(offered) or "—"},
                   "CRS" if version == "1.3.0" else "SRS")


def resolution(matrix, srid):
    units = METRES_PER_DEGREE if srid == 4326 else 1.0
    return matrix["scale_denominator"] * PIXEL_SIZE / units


def pick_matrix(matrices, wanted, srid, bbox_xy):
    """The coarsest level at least as fine as wanted (else the finest), with few enough tiles."""
    ordered = sorted(matrices, key=lambda m: -resolution(m, srid))
    candidates = [m for m in ordered if resolution(m, srid) <= wanted * 1.01] or ordered[-1:]
    for matrix in candidates:
        if len(tile_range(matrix, srid, bbox_xy)[0]) * len(tile_range(matrix, srid, bbox_xy)[1]) \
                <= MAX_TILES:
            return matrix
    return None


def tile_range(matrix, srid, bbox_xy):
    minx, miny, maxx, maxy = bbox_xy
    res = resolution(matrix, srid)
    span_x, span_y = matrix["tile_width"] * res, matrix["tile_height"] * res
    left, top = matrix["top_left"]
    first_col = max(0, math.floor((minx - left) / span_x))
    last_col = min(matrix["matrix_width"] - 1, math.ceil((maxx - left) / span_x) - 1)
    first_row = max(0, math.floor((top - maxy) / span_y))
    last_row = min(matrix["matrix_height"] - 1, math.ceil((top - miny) / span_y) - 1)
    return range(first_col, last_col + 1), range(first_row, last_row + 1)


def tile_request(served, set_name, matrix, col, row, image_format):
    metadata, remote = served.metadata, served.remote
    templates = [t for t in metadata.get("tile_templates") or [] if t.get("template")]
    template = next((t for t in templates if t.get("format") == image_format), None) or \
        (templates[0] if templates else None)
    if template is not None:
        url = template["template"]
        for key, value in {"TileMatrixSet": set_name, "TileMatrix": matrix["id"],
                           "TileCol": col, "TileRow": row, "Style": served.style}.items():
            url = url.replace("{" + key + "}", str(value))
        return url, {}
    url = metadata.get("gettile_url") or remote.service.url
    return url, {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0",
                 "LAYER": remote.identifier, "STYLE": served.style, "FORMAT": image_format,
                 "TILEMATRIXSET": set_name, "TILEMATRIX": matrix["id"], "TILEROW": str(row),
                 "TILECOL": str(col)}


def wmts_picture(served, crs, bbox_xy, width, height, depth):
    set_name, tms = tile_matrix_set(served, crs)
    wanted = min((bbox_xy[2] - bbox_xy[0]) / width, (bbox_xy[3] - bbox_xy[1]) / height)
    matrix = pick_matrix(tms["matrices"], wanted, crs.srid, bbox_xy)
    if matrix is None:
        raise RemoteError(_("trop de tuiles pour cette emprise"))
    cols, rows = tile_range(matrix, crs.srid, bbox_xy)
    tile_w, tile_h = matrix["tile_width"], matrix["tile_height"]
    picture = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if not cols or not rows:
        return picture  # the box is outside the matrix: nothing to draw
    mosaic = Image.new("RGBA", (len(cols) * tile_w, len(rows) * tile_h), (0, 0, 0, 0))
    image_format = pick_format(served.remote.formats)

    def tile(position):
        (i, col), (j, row) = position
        url, params = tile_request(served, set_name, matrix, col, row, image_format)
        try:
            return i, j, decoded(*cached_fetch(url, params, depth), (tile_w, tile_h))
        except RemoteError:
            return i, j, None  # a missing tile (outside the data, 404) stays transparent

    positions = [(c, r) for r in enumerate(rows) for c in enumerate(cols)]
    drawn = 0
    # A few tiles at a time, and the whole mosaic within twice the remote timeout: tiles not
    # read by then stay transparent.
    with ThreadPoolExecutor(max_workers=TILE_WORKERS) as pool:
        futures = [pool.submit(tile, position) for position in positions]
        try:
            for future in as_completed(futures, timeout=2 * remote_timeout()):
                i, j, picture_ = future.result()
                if picture_ is not None:
                    mosaic.paste(picture_, (i * tile_w, j * tile_h))
                    drawn += 1
        except FuturesTimeout:
            for future in futures:
                future.cancel()
    if not drawn:
        raise RemoteError(_("aucune tuile n'a pu être lue"))
    res = resolution(matrix, crs.srid)
    left = matrix["top_left"][0] + cols[0] * tile_w * res
    top = matrix["top_left"][1] - rows[0] * tile_h * res
    minx, miny, maxx, maxy = bbox_xy
    box = ((minx - left) / res, (top - maxy) / res, (maxx - left) / res, (top - miny) / res)
    exact = all(abs(v - round(v)) < 1e-6 for v in box) and \
        round(box[2] - box[0]) == width and round(box[3] - box[1]) == height
    if exact:  # the box falls on the tiles' pixels: copy them, no resampling
        picture.paste(mosaic.crop(tuple(round(v) for v in box)), (0, 0))
        return picture
    return mosaic.transform((width, height), Image.EXTENT, box, resample=Image.BILINEAR)


# --- GetMap -----------------------------------------------------------------------------------
PICTURES = {"wms": wms_picture, "wmts": wmts_picture, "wfs": cascade_wfs.wfs_picture}


def remote_image(served, crs, bbox_xy, width, height, depth):
    """A mapnik.Image of the remote layer; RemoteError if it could not be drawn."""
    if depth >= MAX_DEPTH:
        raise RemoteError(_("cascade trop profonde (un service distant renvoie vers celui-ci)"))
    if served.metadata.get("absent"):
        raise RemoteError(_("la couche n'est plus annoncée par le service distant"))
    draw = PICTURES[served.protocol]
    source = drawing_crs(served, crs)
    if source == crs:
        picture = draw(served, crs, bbox_xy, width, height, depth)
    else:
        view = reproject.source_view(source, crs, bbox_xy, (width, height))
        picture = reproject.warp(draw(served, view.crs, view.bbox_xy, *view.size, depth), view,
                                 crs, bbox_xy, (width, height))
    if isinstance(picture, mapnik.Image):
        return picture
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=1)
    return mapnik.Image.from_string(buffer.getvalue())


def render(request, served_layers, query, background):
    """(mapnik.Image, [names of remote layers left blank]) of local and remote layers."""
    from . import renderer

    check_crs(served_layers, query.crs, query.version)
    image = mapnik.Image(query.width, query.height)
    if background is not None:
        image.fill(mapnik.Color(*background))
    box = mapnik.Box2d(*query.bbox_xy)
    depth, failed = request_depth(request), []
    for served in served_layers:
        if is_remote(served):
            try:
                image.composite(remote_image(served, query.crs, query.bbox_xy, query.width,
                                             query.height, depth))
            except RemoteError as error:
                log.warning("Couche distante %s non dessinée : %s", served.layer.name, error)
                failed.append(served.layer.name)
            continue
        map_ = renderer.layer_map(served, query.crs.srid)
        map_.resize(query.width, query.height)
        map_.zoom_to_box(box)
        image.premultiply()  # see renderer.render
        mapnik.render(map_, image)
    return image, failed


def mark_failures(response, failed):
    if failed:
        response[FAILED_HEADER] = ", ".join(failed)
    return response


# --- GetFeatureInfo ---------------------------------------------------------------------------
def feature_info(served, query, i, j, count, depth):
    """[{id, fid, properties, geojson, gml}] from the remote WMS's GetFeatureInfo; [] when the
    remote layer is not a queryable WMS layer or the server fails (logged)."""
    metadata = served.metadata
    if served.protocol != "wms" or not metadata.get("queryable") or depth >= MAX_DEPTH:
        return []
    formats = metadata.get("featureinfo_formats") or []
    info_format = next((f for f in INFO_PREFERENCE if f in formats), None)
    if info_format is None:
        return []
    try:
        source = drawing_crs(served, query.crs)
    except MapError:
        return []
    if source == query.crs:
        url, params = wms_map_params(served, query.crs, query.bbox_xy, query.width, query.height)
    else:  # ask the remote in a CRS it offers, at the point under the clicked pixel
        view = reproject.source_view(source, query.crs, query.bbox_xy, (query.width, query.height))
        minx, miny, maxx, maxy = query.bbox_xy
        i, j = reproject.source_point(view, query.crs,
                                      minx + (i + 0.5) / query.width * (maxx - minx),
                                      maxy - (j + 0.5) / query.height * (maxy - miny))
        url, params = wms_map_params(served, view.crs, view.bbox_xy, *view.size)
    version = params["VERSION"]
    params.update({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": served.remote.identifier,
                   "INFO_FORMAT": info_format, "FEATURE_COUNT": str(count),
                   "I" if version == "1.3.0" else "X": str(i),
                   "J" if version == "1.3.0" else "Y": str(j)})
    params.pop("TRANSPARENT")
    url = metadata.get("featureinfo_url") or url
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


# --- GetLegendGraphic and capabilities --------------------------------------------------------
def style_details(served_layer, style):
    return ((served_layer.remote_layer.metadata or {}).get("style_details") or {}).get(style) or {}


def legend_source(layer, style):
    """(url, params) of the remote legend: its LegendURL, else a GetLegendGraphic request."""
    remote = layer.remote_layer
    details = style_details(layer, style)
    if details.get("legend"):
        return details["legend"], {}
    metadata = remote.metadata or {}
    if remote.service.protocol == "wms":
        url = metadata.get("getlegendgraphic_url") or metadata.get("getmap_url") or \
            remote.service.url
        return url, {"SERVICE": "WMS", "VERSION": metadata.get("version", "1.3.0"),
                     "REQUEST": "GetLegendGraphic", "LAYER": remote.identifier,
                     "STYLE": style, "FORMAT": "image/png", "SLD_VERSION": "1.1.0"}
    return None, {}


def legend_picture(served, depth):
    """The remote layer's legend (its LegendURL or GetLegendGraphic) as a Pillow RGBA image, or
    None when it has none; RemoteError when it could not be read."""
    url, params = legend_source(served.layer, served.style)
    if url is None:
        return None
    return decoded(*cached_fetch(with_parameters(url, params) if params else url, {}, depth))


def pixels(value, default=20):
    try:
        return max(1, int(float(value)))
    except (TypeError, ValueError, OverflowError):  # OverflowError: "inf", "1e400"
        return default


def advertised_styles(layer, legend_url):
    """Capabilities entries of a remote layer's styles; legend_url(style) is this WMS's
    GetLegendGraphic URL (None when the remote layer has no legend)."""
    if layer.remote_layer.service.protocol == "wfs":
        from .legend import builtin_families_legend_size

        width, height = builtin_families_legend_size()
        return [{"name": "default", "title": _("Style par défaut"), "legend": legend_url("default"),
                 "width": width, "height": height}]
    entries = []
    for style in layer.remote_layer.styles:
        details = style_details(layer, style)
        url, _params = legend_source(layer, style)
        entries.append({
            "name": style, "title": details.get("title") or style,
            "legend": legend_url(style) if url else None,
            "width": pixels(details.get("legend_width") or details.get("width")),
            "height": pixels(details.get("legend_height") or details.get("height")),
        })
    return entries
