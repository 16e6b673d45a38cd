"""The map of a print: catalogue layers resolved through the access policy, drawn by the map
renderer (maps.renderer: the Grant's row filter is in every layer's SQL), one layer at a time
so that each keeps its own opacity.

Remote WMS/WMTS layers (a basemap of the viewer) are fetched like the WMS cascades them
(maps.remote: SSRF guard, time and size limits); one that cannot be drawn in the print's CRS
or does not answer is left out and named on the print, never failing it.
"""
import io
import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image

from layers.access import AccessPolicy
from layers.remote.fetch import RemoteError

from .. import catalogue, legend, remote, renderer
from ..crs import Crs
from ..errors import MapError, PrintError
from ..sources.base import RemoteServed, is_remote, remote_style

logger = logging.getLogger(__name__)
BACKGROUND = (255, 255, 255, 255)


@dataclass
class PrintedLayer:
    served: object  # catalogue.ServedLayer or sources.base.RemoteServed
    opacity: float

    @property
    def layer(self):
        return self.served.layer


def resolve(user, print_layers):
    """[PrintedLayer] bottom to top; PrintError for a layer the user may not view (or that does
    not exist, or is not drawn by the platform itself): the same message for all of them."""
    policy = AccessPolicy.for_user(user)
    printed = []
    for item in print_layers:
        try:
            grant = catalogue.grant_for(policy, item.name, allow_remote=True)
        except MapError:
            raise PrintError(_("Couche inconnue : « %(name)s ».") % {"name": item.name}) from None
        try:
            if grant.layer.is_vector:
                style = catalogue.style_named(grant.layer, item.style)
                served = catalogue.ServedLayer(grant, style)
            else:
                served = RemoteServed(grant, remote_style(grant.layer, item.style))
        except MapError:
            raise PrintError(_("La couche « %(name)s » n'a pas de style « %(style)s ».")
                             % {"name": item.name, "style": item.style}) from None
        printed.append(PrintedLayer(served, item.opacity))
    return printed


def _pillow(mapnik_image):
    return Image.open(io.BytesIO(mapnik_image.to_string("png32"))).convert("RGBA")


def _remote_picture(served, crs, bbox, width, height):
    """The remote layer's image, or None (logged) when it cannot be drawn."""
    try:
        remote.check_crs([served], crs, "1.3.0")
        return _pillow(remote.remote_image(served, crs, bbox, width, height, depth=0))
    except (RemoteError, MapError) as error:
        logger.warning("Couche distante %s non imprimée : %s", served.layer.name,
                       getattr(error, "message", error))
        return None


def draw_map(printed, srid, bbox, width, height):
    """(Pillow RGB image of the layers over white, [names of remote layers left out])."""
    crs = Crs(f"EPSG:{srid}", srid, False)
    picture = Image.new("RGBA", (width, height), BACKGROUND)
    failed = []
    for item in printed:
        if item.opacity <= 0:
            continue
        if is_remote(item.served):
            layer_picture = _remote_picture(item.served, crs, bbox, width, height)
            if layer_picture is None:
                failed.append(item.layer.name)
                continue
        else:
            try:
                layer_picture = _pillow(renderer.render([item.served], crs, bbox, width, height,
                                                        None))
            except MapError as error:  # an invalid style, found while building the Map
                raise PrintError(error.message) from None
        if item.opacity < 1:
            alpha = layer_picture.getchannel("A").point(lambda a, o=item.opacity: int(a * o))
            layer_picture.putalpha(alpha)
        picture.alpha_composite(layer_picture)
    return picture.convert("RGB"), failed


def _remote_legend(served):
    try:
        return remote.legend_picture(served, depth=0)
    except RemoteError:
        return None


def legend_pictures(printed, swatch=20):
    """[(layer title, Pillow RGBA legend or None)] top layer first, as a legend reads."""
    pictures = []
    for item in reversed(printed):
        if is_remote(item.served):
            pictures.append((item.layer.title, _remote_legend(item.served)))
            continue
        try:
            png = legend.cached_legend(item.served, swatch)
        except MapError as error:
            raise PrintError(error.message) from None
        pictures.append((item.layer.title, Image.open(io.BytesIO(png)).convert("RGBA")))
    return pictures


def attributions(printed):
    seen = []
    for item in printed:
        text = (item.layer.attribution or "").strip()
        if text and text not in seen:
            seen.append(text)
    return seen
