"""Error answers in the format of each URL space, and the project's error handlers.

Every error, whoever raises it (a view, the URL resolver, a middleware, an uncaught exception),
is answered in the format the client of that address reads:

- ``/ows`` (WMS and WFS) and ``/mapproxy/`` (WMTS, TMS): an OGC exception report (WMS
  ServiceExceptionReport, WFS OWS ExceptionReport in the requested version, WMTS OWS 1.1 report);
- ``/api/``, ``/tiles/`` and the viewer's JSON endpoints: ``{"detail": "…", "reasons": ["…"]}``
  (the shape of DRF's and of the sync protocol's errors);
- anywhere else: the platform's HTML page for that status.

Messages are French first (gettext, English available). ``handler400/403/404/500`` in
capgeo/urls.py point here; the guards of capgeo/middleware.py answer through error_response().
"""
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

OGC, JSON, HTML, OGCAPI = "ogc", "json", "html", "ogcapi"
JSON_PREFIXES = ("/api/", "/tiles/")
# The viewer's JSON endpoints (and its print service), read by its scripts.
JSON_PATHS = {"/carte/config.json", "/carte/recherche/", "/carte/impression/", "/healthz"}

# OGC exception codes per HTTP status, when the caller gives none.
OGC_CODES = {400: "InvalidParameterValue", 403: "PermissionDenied", 404: "NotFound",
             405: "OperationNotSupported", 413: "OperationParsingFailed",
             500: "NoApplicableCode"}


def url_space(path):
    """OGC, OGCAPI, JSON or HTML: the error format of a request path (no script prefix)."""
    if path == "/ogc" or path.startswith("/ogc/"):
        return OGCAPI
    if path in ("/ows", "/csw") or path.startswith(("/ows/", "/mapproxy/")) or path == "/mapproxy":
        return OGC
    if path.startswith(JSON_PREFIXES) or path in JSON_PATHS or path.endswith((".json", ".geojson")):
        return JSON
    return HTML


def default_message(status):
    if status == 404:
        return _("Adresse inconnue, ou ressource qui ne vous est pas accessible.")
    if status == 403:
        return _("Accès refusé.")
    if status == 405:
        return _("Méthode HTTP non acceptée à cette adresse.")
    if status >= 500:
        return _("Erreur interne du serveur ; l'incident est enregistré. Réessayez plus tard ou "
                 "prévenez l'équipe SIG.")
    return _("Requête invalide.")


def _upper_params(request):
    try:
        return {key.upper(): value for key, value in request.GET.items()}
    except Exception:  # noqa: BLE001 — an unreadable query string still gets a report
        return {}


def ogc_response(request, status, message, code=None, locator=None):
    """The exception report of the OGC service the request addresses."""
    code = code or OGC_CODES.get(status, "NoApplicableCode")
    locator = locator or ("request" if status < 500 else "server")
    path = request.path_info
    if path.startswith("/mapproxy"):
        from wms.tiles.checks import exception_report

        return exception_report(code, locator, message, status=status)
    params = _upper_params(request)
    service = params.get("SERVICE", "").upper()
    if service == "WMS" or (not service and request.method != "POST"
                            and params.get("REQUEST", "").lower() in (
                                "getmap", "getfeatureinfo", "getlegendgraphic", "getstyles")):
        from wms.wms.errors import WmsError, xml_report
        from wms.wms.params import negotiate_version

        try:
            version = negotiate_version(params)
        except Exception:  # noqa: BLE001
            version = "1.3.0"
        response = xml_report(WmsError(code, message, locator), version)
        response.status_code = status
        return response
    from wms.wfs.exceptions import exception_response

    version = "1.1.0" if params.get("VERSION", "").strip() in ("1.1", "1.1.0") else "2.0.0"
    return exception_response(code, locator, message, status=status, version=version)


def json_response(status, message, **extra):
    return JsonResponse({"detail": str(message), "reasons": [str(message)], **extra}, status=status)


def html_response(request, status, message):
    """The platform's HTML page of that status (capgeo/templates/4xx.html, 500.html)."""
    template_name = {403: "403.html", 404: "404.html", 500: "500.html"}.get(status, "400.html")
    body = loader.render_to_string(template_name, {"message": message}, request)
    return HttpResponse(body, status=status)


def wants_json(request):
    """A page's script posting JSON (or asking for it) reads a JSON error."""
    accept = request.headers.get("Accept", "")
    return ((request.content_type or "").endswith("json")
            or accept.startswith("application/json"))


def error_response(request, status, message=None, code=None, locator=None, parameter=None):
    """An error answered in the format of the request's URL space (parameter: the query
    parameter in cause, named in JSON answers as the REST API does)."""
    message = str(message) if message else default_message(status)
    space = url_space(request.path_info)
    if space == HTML and wants_json(request):
        space = JSON
    if space == OGC:
        response = ogc_response(request, status, message, code=code, locator=locator)
    elif space == OGCAPI:  # OGC API exception: {"code", "description"}, and detail/reasons
        response = JsonResponse({"code": code or OGC_CODES.get(status, "NoApplicableCode"),
                                 "description": message, "detail": message,
                                 "reasons": [message]}, status=status,
                                json_dumps_params={"ensure_ascii": False})
    elif space == JSON:
        # Pages' scripts read "error" (capgeo.webmap, wms.printing, the SPANC planning); API
        # clients "detail".
        extra = {} if request.path_info.startswith(JSON_PREFIXES) else {"error": message}
        if parameter:
            extra["parameter"] = parameter
        response = json_response(status, message, **extra)
    else:
        response = html_response(request, status, message)
    response["Cache-Control"] = "no-store"
    return response


# --- Django's handlers (capgeo/urls.py) ----------------------------------------------------------

def bad_request(request, exception=None):
    if url_space(request.path_info) == HTML:
        return html_response(request, 400, default_message(400))
    return error_response(request, 400, _("Requête invalide ou trop volumineuse."))


def permission_denied(request, exception=None):
    if url_space(request.path_info) == HTML:
        return defaults.permission_denied(request, exception)
    return error_response(request, 403)


def page_not_found(request, exception=None):
    if url_space(request.path_info) == HTML:
        return defaults.page_not_found(request, exception)
    return error_response(request, 404)


def server_error(request):
    """Django has logged the traceback (logger django.request) before calling this."""
    if url_space(request.path_info) == HTML:
        return defaults.server_error(request)
    return error_response(request, 500)
