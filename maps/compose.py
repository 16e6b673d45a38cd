"""Local and remote layers composited into one map, in the requested order.

A remote failure never fails the map: the layer is left blank and its name returned, for the
protocol to report it (the FAILED_HEADER of GetMap and prints): a missing basemap is better
than no map at all.
"""
import logging

from layers.remote.fetch import RemoteError

from . import renderer
from .mapnik_env import mapnik
from .remote import check_crs, remote_image
from .sources.base import is_remote

log = logging.getLogger(__name__)

FAILED_HEADER = "X-CapGeo-Remote-Failed"  # names the remote layers left blank


def render(served_layers, query, background, depth):
    """(mapnik.Image, [names of remote layers left blank]) of local and remote layers over the
    map `query` (crs, bbox_xy, width, height, version); depth: how many cascades the request
    has already gone through."""
    check_crs(served_layers, query.crs, query.version)
    image = mapnik.Image(query.width, query.height)
    if background is not None:
        image.fill(mapnik.Color(*background))
    box = mapnik.Box2d(*query.bbox_xy)
    failed = []
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
