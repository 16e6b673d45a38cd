"""/mapproxy/…: the request handed to the audience's embedded MapProxy (WMTS, TMS).

MapProxy answers OGC exceptions and errors itself; a layer the user may not view is absent from
the audience's configuration, so it is reported exactly like an unknown layer. The
`mapproxy.authorize` callback checks the user's own rights again on every tile and capabilities
document (and refuses any other service).
"""
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from layers.access import AccessPolicy
from layers.models import Permission

from .app import configuration_for
from .audience import Audience
from .checks import refuse_bad_request

TILE_SERVICES = {"tms", "wmts"}
PUBLIC_MAX_AGE = 300
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def authorizer(user):
    policy = AccessPolicy.for_user(user)

    def authorize(service, layers, query_extent=None, environ=None, **kwargs):
        if service not in TILE_SERVICES:
            return {"authorized": "none"}
        # TMS passes its (layer, grid) keys when listing, layer names otherwise.
        names = {layer if isinstance(layer, str) else layer[0] for layer in layers}
        allowed = policy.layers(Permission.VIEW).filter(name__in=names).values_list("name", flat=True)
        allowed = set(allowed)
        if allowed >= names:
            # "full" also keeps MapProxy's TMS listing whole (its partial listing keeps one grid).
            return {"authorized": "full"}
        return {"authorized": "partial", "layers": {name: {"tile": True} for name in allowed}}

    return authorize


def _environ(request, path):
    environ = dict(request.META)
    environ["SCRIPT_NAME"] = request.META.get("SCRIPT_NAME", "").rstrip("/") + "/mapproxy"
    environ["PATH_INFO"] = "/" + path
    environ["HTTP_HOST"] = request.get_host()
    environ["wsgi.url_scheme"] = request.scheme
    environ["mapproxy.authorize"] = authorizer(request.user)
    return environ


@csrf_exempt
def mapproxy(request, path=""):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(_("Seules les requêtes GET sont acceptées ici."), status=405,
                            content_type="text/plain; charset=utf-8")
    refused = refuse_bad_request(path, request.GET)
    if refused is not None:
        return refused
    audience = Audience.of(request.user)
    _proxy_conf, app = configuration_for(audience)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers
        return lambda data: None

    body_iter = app(_environ(request, path), start_response)
    try:
        body = b"".join(body_iter)
    finally:
        if hasattr(body_iter, "close"):
            body_iter.close()
    response = HttpResponse(body, status=int(started["status"].split()[0]))
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
