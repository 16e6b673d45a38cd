"""GetLegendGraphic: the legend of a catalogue style (maps.legend) or of a remote layer."""
import io
import re

from django.http import HttpResponse
from django.utils.translation import gettext as _

from layers.remote.fetch import RemoteError
from maps import decisions, remote
from maps.legend import SWATCH, builtin_families_legend, cached_legend
from maps.sources.base import is_remote

from .errors import WmsError
from .params import request_depth, required


def png_response(content):
    response = HttpResponse(content, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


def remote_legend_response(request, served):
    if served.protocol == "wfs":  # drawn here with the built-in style: its legend is ours
        return png_response(builtin_families_legend())
    try:
        picture = remote.legend_picture(served, request_depth(request))
    except RemoteError as error:
        raise WmsError(None, _("Légende de la couche distante « %(name)s » indisponible : "
                               "%(error)s") % {"name": served.layer.name, "error": error.message},
                       "LAYER") from None
    if picture is None:
        raise WmsError("LayerNotDefined", _("La couche distante « %(name)s » n'a pas de légende.")
                       % {"name": served.layer.name}, "LAYER")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return png_response(buffer.getvalue())


def get_legend_graphic(request, params, version):
    name = required(params, "LAYER")
    image_format = (params.get("FORMAT") or "image/png").strip().lower()
    if image_format != "image/png":
        raise WmsError("InvalidFormat", _("Les légendes sont proposées en image/png seulement."),
                       "FORMAT")
    size = SWATCH
    # isdigit() is true for "²", which int() refuses: ASCII digits only.
    if all(re.fullmatch(r"[0-9]{1,9}", params.get(name, "")) for name in ("WIDTH", "HEIGHT")):
        size = max(8, min(64, min(int(params["WIDTH"]), int(params["HEIGHT"]))))
    served = decisions.resolve(request.user, [name], [params.get("STYLE", "").strip()],
                               locator="LAYER", style_locator="STYLE")[0]
    if is_remote(served):
        return remote_legend_response(request, served)
    return png_response(cached_legend(served, size))
