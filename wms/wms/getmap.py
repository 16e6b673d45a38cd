"""GetMap: the requested layers drawn by Mapnik, in the requested CRS, size and format."""
import dataclasses

from django.http import HttpResponse

from maps import compose, decisions, png, renderer
from maps.mapnik_env import mapnik
from maps.picture import message_image
from maps.sources.base import RemoteServed, has_remote

from .errors import BLANK, INIMAGE, WmsError, exception_format
from .params import (PNG_32, parse_bgcolor, parse_format, parse_map_request, parse_size,
                     parse_transparent, request_depth)


def background(params, image_format):
    """(r, g, b, a) to fill with, or None for a transparent image (JPEG is always opaque)."""
    transparent = parse_transparent(params)
    red, green, blue = parse_bgcolor(params)
    if transparent and image_format[1] != "jpeg85":
        return None
    return (red, green, blue, 255)


def get_map(request, params, version):
    image_format = parse_format(params)
    fill = background(params, image_format)
    query = parse_map_request(params, version)
    image, failed = draw_map(request, query, fill)
    response = image_response(image, image_format, fill)
    if failed:
        response[compose.FAILED_HEADER] = ", ".join(failed)
    return response


def draw_map(request, query, fill, narrow=None):
    """(mapnik.Image, [remote layers left blank]) of the MapRequest for the request's user: the
    layers the access policy lets him see, drawn by the map engine (GetMap, and OGC API – Maps,
    which builds a MapRequest of its own). maps.errors.MapError when a layer or style is not his
    to draw. narrow: source -> the source drawn (a subset of its rows: OGC API – Maps
    datetime), for local layers."""
    if narrow is None:
        image = guarded_render(request.user, query, fill)
        if image is not None:
            return image, []
    served = decisions.resolve(request.user, query.layer_names, query.style_names)
    if narrow is not None:
        served = [served_layer if isinstance(served_layer, RemoteServed) else
                  dataclasses.replace(served_layer, grant=narrow(served_layer.grant))
                  for served_layer in served]
    if has_remote(served):  # remote catalogue layers: maps.remote
        return compose.render(served, query, fill, request_depth(request))
    image = renderer.render(served, query.crs, query.bbox_xy, query.width, query.height, fill)
    return image, []


def guarded_render(user, query, fill):
    """The image of one local layer drawn on this worker's cached decision without reading the
    catalogue counter first (maps.decisions.resolve_cached), or None. Its Map reads no row once
    the catalogue has changed: a blank image is kept only if the counter has not moved."""
    if len(query.layer_names) != 1:
        return None
    cached = decisions.resolve_cached(user, query.layer_names, query.style_names)
    if cached is None or has_remote(cached[0]):
        return None
    served, catalogue_version = cached
    image = renderer.render(served, query.crs, query.bbox_xy, query.width, query.height, fill,
                            version=catalogue_version)
    if image.is_solid() and decisions.catalogue_version() != catalogue_version:
        return None  # nothing drawn, perhaps because the decision is stale: resolve again
    return image


def image_response(image, image_format, fill):
    content_type, encoding = image_format
    if encoding == PNG_32:
        # Opaque: an RGB PNG, a quarter less to compress than RGBA.
        data = png.encode(image, opaque=fill is not None)
    else:
        data = image.to_string(encoding)
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "private, max-age=60"
    return response


def exception_image(params, version, error):
    """The INIMAGE or BLANK answer to a failed GetMap, or None when XML is wanted (or the
    request is too broken to make an image of the requested size and format)."""
    kind = exception_format(params, version)
    if kind not in (INIMAGE, BLANK):
        return None
    try:
        image_format = parse_format(params)
        width, height = parse_size(params)
        fill = background(params, image_format)
    except WmsError:
        return None
    image = mapnik.Image(width, height)
    if fill is not None:
        image.fill(mapnik.Color(*fill))
    if kind == INIMAGE:
        image = message_image(image, f"{error.code} : {error.message}")
    return image_response(image, image_format, fill)

