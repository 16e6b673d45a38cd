"""A remote WMTS layer drawn from its tiles: the tile matrix set in the requested CRS, the level
nearest the requested resolution, the tiles covering the box mosaicked then resampled (or copied
when the box falls on the tiles' pixels)."""
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout

from django.utils.translation import gettext as _
from PIL import Image

from layers.remote.fetch import RemoteError
from layers.remote.fetch import timeout as remote_timeout

from ..errors import MapError, crs_code_name
from .base import EQUIVALENT_CRS, decoded, pick_format
from .cache import cached_fetch

MAX_TILES = 64
TILE_WORKERS = 4
METRES_PER_DEGREE = 6378137 * 2 * math.pi / 360
PIXEL_SIZE = 0.00028  # metres: the WMTS "standardized rendering pixel size"


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


check_crs = tile_matrix_set  # (name, matrix set) in the requested CRS, or InvalidCRS


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


def picture(served, crs, bbox_xy, width, height, depth):
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
