"""A remote catalogue layer (kind=remote) drawn, queried and legended, whatever its protocol.

A remote layer passes the access policy like any layer (maps.catalogue.resolve); then its source
(maps.sources.wms, .wmts or .wfs) is asked in the requested CRS when it offers it; otherwise in
one it offers (Lambert-93, Web Mercator or WGS 84; a WFS never in WGS 84) and the image is warped
(maps.reproject), and GetFeatureInfo asks at the matching point; InvalidCRS only when it offers
none of them. A cascade that would come back to this platform stops at MAX_DEPTH.
"""
import io

from django.utils.translation import gettext as _

from layers.remote.capabilities import with_parameters
from layers.remote.fetch import MAX_DEPTH, RemoteError

from . import reproject
from .errors import MapError
from .legend import builtin_families_legend_size
from .mapnik_env import mapnik
from .sources import wfs, wms, wmts
from .sources.base import decoded, style_details
from .sources.cache import cached_fetch

SOURCES = {"wms": wms, "wmts": wmts, "wfs": wfs}


# --- CRS --------------------------------------------------------------------------------------
def offers(served, crs):
    """Whether the remote layer can be asked in this CRS as is."""
    try:
        SOURCES[served.protocol].check_crs(served, crs)
    except MapError:
        return False
    return True


def drawing_crs(served, crs):
    """The CRS to ask the remote layer in (crs itself when offered), or InvalidCRS."""
    found = reproject.source_crs(lambda candidate: offers(served, candidate), crs)
    if found is not None:
        return found
    SOURCES[served.protocol].check_crs(served, crs)  # raises the usual InvalidCRS, naming what it offers
    return crs


def check_crs(served_layers, crs, version):
    """InvalidCRS (InvalidSRS in WMS 1.1.1) when a remote layer of the map cannot be drawn in crs."""
    for served in served_layers:
        if getattr(served, "is_remote", False):
            served.wms_version = version
            drawing_crs(served, crs)


# --- drawing ----------------------------------------------------------------------------------
def remote_image(served, crs, bbox_xy, width, height, depth):
    """A mapnik.Image of the remote layer; RemoteError if it could not be drawn."""
    if depth >= MAX_DEPTH:
        raise RemoteError(_("cascade trop profonde (un service distant renvoie vers celui-ci)"))
    if served.metadata.get("absent"):
        raise RemoteError(_("la couche n'est plus annoncée par le service distant"))
    draw = SOURCES[served.protocol].picture
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


# --- GetFeatureInfo ---------------------------------------------------------------------------
def feature_info(served, query, i, j, count, depth):
    """[{id, fid, properties, geojson, gml}] from the remote WMS's GetFeatureInfo at pixel (i, j)
    of the map `query` (crs, bbox_xy, width, height); [] when the remote layer is not a queryable
    WMS layer or the server fails (logged)."""
    if served.protocol != "wms" or depth >= MAX_DEPTH:
        return []
    info_format = wms.info_format(served)
    if info_format is None:
        return []
    try:
        source = drawing_crs(served, query.crs)
    except MapError:
        return []
    crs, bbox_xy, size = query.crs, query.bbox_xy, (query.width, query.height)
    if source != query.crs:  # ask the remote in a CRS it offers, at the point under the pixel
        view = reproject.source_view(source, query.crs, bbox_xy, size)
        minx, miny, maxx, maxy = bbox_xy
        i, j = reproject.source_point(view, query.crs,
                                      minx + (i + 0.5) / query.width * (maxx - minx),
                                      maxy - (j + 0.5) / query.height * (maxy - miny))
        crs, bbox_xy, size = view.crs, view.bbox_xy, view.size
    return wms.feature_info(served, info_format, crs, bbox_xy, size, i, j, count, depth)


# --- legends and styles -----------------------------------------------------------------------
def legend_source(layer, style):
    """(url, params) of the remote legend: its LegendURL, else a WMS GetLegendGraphic request;
    (None, {}) when it has none."""
    details = style_details(layer, style)
    if details.get("legend"):
        return details["legend"], {}
    if layer.remote_layer.service.protocol == "wms":
        return wms.legend_request(layer.remote_layer, style)
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
    """Capabilities entries of a remote layer's styles; legend_url(style) is the GetLegendGraphic
    URL of the service asking (None when the remote layer has no legend)."""
    if layer.remote_layer.service.protocol == "wfs":  # drawn here with the built-in style
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
