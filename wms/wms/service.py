"""WMS 1.3.0 / 1.1.1 drawn by the map engine (maps). handle(request, params) answers one KVP
request (wms.ows_endpoint hands WMS requests here).

params: the query parameters with upper-cased names (wms.ows_endpoint). Every answer is an image, a
document or an OGC service exception: client errors are WmsError, and any unexpected failure is
logged and reported as an exception too, never as an HTTP 500 page.
"""
import logging

from django.utils.translation import gettext as _

from .errors import WmsError, xml_report
from .params import negotiate_version

log = logging.getLogger(__name__)

REQUESTS = {"getcapabilities", "getmap", "getfeatureinfo", "getlegendgraphic", "getstyles"}


def _operation(name):
    # Imported lazily: the rendering modules import mapnik, which /ows requests for WFS never need.
    if name == "getcapabilities":
        from .capabilities import get_capabilities
        return get_capabilities
    if name == "getmap":
        from .getmap import get_map
        return get_map
    if name == "getfeatureinfo":
        from .featureinfo import get_feature_info
        return get_feature_info
    if name == "getstyles":
        from .getstyles import get_styles
        return get_styles
    from .getlegendgraphic import get_legend_graphic
    return get_legend_graphic


def handle(request, params):
    version = negotiate_version(params)
    name = (params.get("REQUEST") or "").strip().lower()
    # WMS 1.1.1 clients may still send the pre-1.0 names.
    name = {"capabilities": "getcapabilities", "map": "getmap",
            "feature_info": "getfeatureinfo"}.get(name, name)
    try:
        if not name:
            raise WmsError("MissingParameterValue", _("Le paramètre REQUEST est obligatoire."),
                           "REQUEST")
        if name not in REQUESTS:
            raise WmsError("OperationNotSupported",
                           _("Opération inconnue : « %(name)s » (proposées : GetCapabilities, "
                             "GetMap, GetFeatureInfo, GetLegendGraphic, GetStyles).")
                           % {"name": name[:60]},
                           "REQUEST")
        return _operation(name)(request, params, version)
    except WmsError as error:
        return _error_response(params, version, name, error)
    except Exception:  # noqa: BLE001 — an OGC client must get an exception report, not a 500
        log.exception("WMS %s failed", name)
        error = WmsError(None, _("Erreur interne du service de cartes ; l'incident est "
                                 "enregistré. Réessayez ou contactez l'administrateur SIG."))
        return _error_response(params, version, name, error, status=500)


def _error_response(params, version, name, error, status=None):
    if name == "getmap":
        from .getmap import exception_image

        image = exception_image(params, version, error)
        if image is not None:
            return image
    response = xml_report(error, version)
    if status:
        response.status_code = status
    return response
