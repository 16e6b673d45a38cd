"""Remote images in a CRS their server does not offer: asked for in a CRS it offers, then warped.

The warp is MapProxy's ImageTransformer (the one MapProxy uses for its own WMS sources): a mesh
of quads small enough that the error stays under a pixel, each mapped by Pillow. The source box is
the requested one transformed (densified edges), and its size follows MapProxy's own rule: the
requested size along the finer resolution, so nothing is drawn coarser than asked.
"""
import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from . import png
from .crs import crs_for

# Where to fetch from when the requested CRS is not offered, best first.
SOURCE_CODES = ("EPSG:2154", "EPSG:3857", "EPSG:4326")


@dataclass(frozen=True)
class SourceView:
    crs: object          # maps.crs.Crs the remote is asked in
    bbox_xy: tuple       # east/north order, in that CRS
    size: tuple          # (width, height) asked of the remote


@lru_cache(maxsize=1)
def _base_config():
    """MapProxy's defaults: its SRS objects read their PROJ settings from a base configuration
    (the embedded tile service sets none of its own, so they are the same)."""
    from mapproxy.config.configuration.proxy import ProxyConfiguration

    return ProxyConfiguration({"services": {"tms": {}}}, seed=False).base_config


def _srs(crs):
    from mapproxy.srs import SRS

    return SRS(crs.srid)


def source_view(source_crs, target_crs, bbox_xy, size):
    """What to ask the remote (in source_crs) to draw bbox_xy in target_crs at size."""
    from mapproxy.config import local_base_config

    with local_base_config(_base_config()):
        box = _srs(target_crs).transform_bbox_to(_srs(source_crs), tuple(bbox_xy))
    width, height = box[2] - box[0], box[3] - box[1]
    ratio = width / height
    if width / size[0] < height / size[1]:
        source_size = size[0], max(1, int(size[0] / ratio + 0.5))
    else:
        source_size = max(1, int(size[1] * ratio + 0.5)), size[1]
    return SourceView(source_crs, tuple(box), source_size)


def warp(picture, view, target_crs, bbox_xy, size):
    """The picture of `view` (PIL RGBA, or a mapnik.Image) redrawn over bbox_xy in target_crs at
    size, as a PIL RGBA image."""
    from mapproxy.config import local_base_config
    from mapproxy.image import ImageResult
    from mapproxy.image.opts import ImageOptions
    from mapproxy.image.transform import ImageTransformer

    if not isinstance(picture, Image.Image):  # a mapnik.Image (remote WFS features drawn here)
        picture = Image.open(io.BytesIO(png.encode(picture, opaque=False))).convert("RGBA")
    options = ImageOptions(transparent=True, resampling="bilinear", format="image/png")
    with local_base_config(_base_config()):
        warped = ImageTransformer(_srs(view.crs), _srs(target_crs)).transform(
            ImageResult(picture, image_opts=options), view.bbox_xy, tuple(size), tuple(bbox_xy),
            options)
        return warped.as_image().convert("RGBA")


def source_point(view, target_crs, x, y):
    """The pixel (i, j) of the source view under the target map point (x, y)."""
    from mapproxy.config import local_base_config

    with local_base_config(_base_config()):
        (sx, sy), = _srs(target_crs).transform_to(_srs(view.crs), [(x, y)])
    minx, miny, maxx, maxy = view.bbox_xy
    i = int((sx - minx) / (maxx - minx) * view.size[0])
    j = int((maxy - sy) / (maxy - miny) * view.size[1])
    return min(max(i, 0), view.size[0] - 1), min(max(j, 0), view.size[1] - 1)


def source_crs(offers, wanted):
    """The requested CRS if offers(code) accepts it, else the first source CRS it accepts, or
    None. `offers(Crs)` tells whether the remote layer can be drawn in that CRS."""
    if offers(wanted):
        return wanted
    for code in SOURCE_CODES:
        candidate = crs_for(code, "1.3.0")
        if candidate.srid != wanted.srid and offers(candidate):
            return candidate
    return None
