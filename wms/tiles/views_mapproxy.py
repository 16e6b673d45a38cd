"""/mapproxy/…: the request handed to the audience's embedded MapProxy (WMTS, TMS).

MapProxy answers OGC exceptions and errors itself; a layer the user may not view is absent from
the audience's configuration, so it is reported exactly like an unknown layer. The
`mapproxy.authorize` callback checks the user's own rights again on every tile and capabilities
document (and refuses any other service). Named styles are routed and folded into the WMTS
capabilities by wms.tiles.styles.

Every tile image served is journaled for the personal-data columns its style reads (« qui a lu
quoi », layers.access_log), whether MapProxy drew it or took it from the cache: the images drawn
for a cache are not journaled when drawn (wms.tiles.render), as their reader is not known then.
"""
import logging

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.audience import Audience
from layers.models import Permission
from maps import catalogue, decisions, renderer
from maps.errors import MapError

from .. import capabilities_revalidation
from .app import configuration_for
from .checks import (KVP_PATHS, REST_CAPABILITIES, error_body, exception_report,
                     refuse_bad_request)
from .styles import SEPARATOR, catalogue_layer_name, fold_capabilities, route

TILE_SERVICES = {"tms", "wmts"}
PUBLIC_MAX_AGE = 300
logger = logging.getLogger(__name__)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def authorizer(user, asked=None):
    """MapProxy's authorize callback for the user; asked (a set) collects the tile layers it
    was asked about whose catalogue layer has personal-data columns (journal_tile)."""
    policy = AccessPolicy.for_user(user)

    def authorize(service, layers, query_extent=None, environ=None, **kwargs):
        if service not in TILE_SERVICES:
            return {"authorized": "none"}
        # TMS passes its (layer, grid) keys when listing, layer names otherwise; a style's tile
        # layer ("<layer>.<style>") is allowed with its catalogue layer.
        names = {layer if isinstance(layer, str) else layer[0] for layer in layers}
        catalogue_names = {catalogue_layer_name(name) for name in names}
        personal = dict(policy.layers(Permission.VIEW).filter(name__in=catalogue_names)
                        .values_list("name", "personal_columns"))
        allowed = set(personal)
        if asked is not None:
            asked.update(name for name in names if personal.get(catalogue_layer_name(name)))
        if allowed >= catalogue_names:
            # "full" also keeps MapProxy's TMS listing whole (its partial listing keeps one grid).
            return {"authorized": "full"}
        return {"authorized": "partial", "layers": {
            name: {"tile": True} for name in names if catalogue_layer_name(name) in allowed}}

    return authorize


def journal_tile(user, tile_layers):
    """Journal the personal-data columns the styles of the served tile layers read (a tile
    served, drawn now or taken from the cache): maps.renderer.journal_drawn, with the user's
    source from the worker's cache of decisions. Only layers with personal columns are asked
    (authorizer): a tile of any other layer costs nothing more."""
    for tile_layer in tile_layers:
        name, _separator, style_name = tile_layer.partition(SEPARATOR)
        try:
            source = decisions.source(user, name, Permission.VIEW)
            if not getattr(source, "personal_columns", None):
                continue
            renderer.journal_drawn(catalogue.ServedLayer(
                source, catalogue.style_named(source.layer, style_name)))
        except (LayerNotFound, AccessDenied, MapError):
            continue  # not served to this user: MapProxy answered an error


def _environ(request, path, query_string, asked=None):
    environ = dict(request.META)
    environ["SCRIPT_NAME"] = request.META.get("SCRIPT_NAME", "").rstrip("/") + "/mapproxy"
    environ["PATH_INFO"] = "/" + path
    if query_string is not None:
        environ["QUERY_STRING"] = query_string
    environ["HTTP_HOST"] = request.get_host()
    environ["wsgi.url_scheme"] = request.scheme
    environ["mapproxy.authorize"] = authorizer(request.user, asked)
    return environ


def _is_tms_capabilities(path):
    """The TMS service, its listing and each layer's TileMap (not a tile: no image suffix)."""
    parts = [part for part in path.split("/") if part]
    return bool(parts) and parts[0] == "tms" and len(parts) <= 4 and \
        not parts[-1].lower().endswith((".png", ".jpeg", ".jpg"))


def _is_wmts_capabilities(path, query):
    if path == REST_CAPABILITIES:
        return True
    params = {key.upper(): value.lower() for key, value in query.items()}
    return (path in KVP_PATHS and params.get("REQUEST") == "getcapabilities"
            and params.get("SERVICE", "wmts") == "wmts")


def _plain_error(status, path, body):
    if status == 404:
        return exception_report("NotFound", "path", _(
            "Adresse inconnue : /mapproxy/%(path)s (services proposés : WMTS et TMS).")
            % {"path": path[:200]}, status=404)
    if status < 500:
        return exception_report("InvalidParameterValue", "request", _("Requête de tuile invalide."),
                                status=status)
    logger.error("MapProxy answered %s for /mapproxy/%s: %s", status, path[:200], body[:500])
    return exception_report("NoApplicableCode", "server", _(
        "Erreur interne du service de tuiles ; l'incident est enregistré."), status=status)


@csrf_exempt
def mapproxy(request, path=""):
    if request.method not in ("GET", "HEAD"):
        response = exception_report("OperationNotSupported", "request",
                                    _("Seules les requêtes GET sont acceptées ici."), status=405)
        response["Allow"] = "GET, HEAD"
        return response
    refused = refuse_bad_request(path, request.GET)
    if refused is not None:
        return refused
    if _is_wmts_capabilities(path, request.GET) or _is_tms_capabilities(path):
        # Validators and 304, like the WMS and WFS capabilities (wms.capabilities_revalidation).
        return capabilities_revalidation.capabilities(request, "TILES", lambda: _serve(request, path))
    return _serve(request, path)


def _serve(request, path):
    audience = Audience.of(request.user)
    _proxy_conf, app, styles = configuration_for(audience)
    routed = route(path, request.GET.dict(), styles)
    if isinstance(routed, HttpResponse):
        return routed
    mapproxy_path, query_string = routed
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers
        return lambda data: None

    asked = set()
    body_iter = app(_environ(request, mapproxy_path, query_string, asked), start_response)
    try:
        body = b"".join(body_iter)
    finally:
        if hasattr(body_iter, "close"):
            body_iter.close()
    if _is_wmts_capabilities(path, request.GET) and started["status"].startswith("200"):
        body = fold_capabilities(body, styles, request.build_absolute_uri(reverse("ows:ows")))
    status = int(started["status"].split()[0])
    headers = dict((name.lower(), value) for name, value in started["headers"])
    if status == 200 and headers.get("content-type", "").startswith("image/"):
        journal_tile(request.user, asked)
    if status >= 400 and not headers.get("content-type", "").startswith(("text/xml",
                                                                          "application/")):
        # MapProxy's plain-text errors ("not found", "internal error: …"): an OWS report.
        response = _plain_error(status, path, body)
    else:
        if status >= 400:
            body = error_body(body)  # well-formed (it quotes the request) and in French
        response = HttpResponse(body, status=status)
        for name, value in started["headers"]:
            if name.lower() not in HOP_BY_HOP:
                response[name] = value
    # Whatever MapProxy says: anonymous answers are public; anyone else's depend on who asks.
    if audience.authenticated:
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie, Authorization"
    elif response.status_code == 200:
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return response
