"""The map of a print: catalogue layers resolved through the access policy, drawn by the WMS
renderer (wms.wms.renderer: the Grant's row filter is in every layer's SQL), one layer at a time
so that each keeps its own opacity.
"""
import io
import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image

from layers.access import AccessPolicy

from ..wms import catalogue, legend, renderer
from ..wms.crs import Crs
from ..wms.errors import WmsError
from .params import PrintError

logger = logging.getLogger(__name__)
BACKGROUND = (255, 255, 255, 255)


@dataclass
class PrintedLayer:
    served: catalogue.ServedLayer
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
            grant = catalogue.grant_for(policy, item.name, allow_remote=False)
        except WmsError:
            raise PrintError(_("Couche inconnue : « %(name)s ».") % {"name": item.name}) from None
        try:
            style = catalogue.style_named(grant.layer, item.style)
        except WmsError:
            raise PrintError(_("La couche « %(name)s » n'a pas de style « %(style)s ».")
                             % {"name": item.name, "style": item.style}) from None
        printed.append(PrintedLayer(catalogue.ServedLayer(grant, style), item.opacity))
    return printed


def _pillow(mapnik_image):
    return Image.open(io.BytesIO(mapnik_image.to_string("png32"))).convert("RGBA")


def draw_map(printed, srid, bbox, width, height):
    """A Pillow RGB image of the layers over a white background."""
    crs = Crs(f"EPSG:{srid}", srid, False)
    picture = Image.new("RGBA", (width, height), BACKGROUND)
    for item in printed:
        if item.opacity <= 0:
            continue
        try:
            image = renderer.render([item.served], crs, bbox, width, height, None)
        except WmsError as error:  # an invalid style, found while building the Map
            raise PrintError(error.message) from None
        layer_picture = _pillow(image)
        if item.opacity < 1:
            alpha = layer_picture.getchannel("A").point(lambda a, o=item.opacity: int(a * o))
            layer_picture.putalpha(alpha)
        picture.alpha_composite(layer_picture)
    return picture.convert("RGB")


def legend_pictures(printed, swatch=20):
    """[(layer title, Pillow RGBA legend)] top layer first, as a legend reads."""
    pictures = []
    for item in reversed(printed):
        try:
            png = legend.cached_legend(item.served, swatch)
        except WmsError as error:
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
