"""Error answers in the format of each URL space, and the project's error handlers.

Every error, whoever raises it (a view, the URL resolver, a middleware, an uncaught exception),
is answered in the format the client of that address reads:

- ``/ows`` (WMS and WFS) and ``/mapproxy/`` (WMTS, TMS): an OGC exception report (WMS
  ServiceExceptionReport, WFS OWS ExceptionReport in the requested version, WMTS OWS 1.1 report);
- a space registered by its package (register_error_space: ``/open311/`` by signalements, the
  GeoReport v2 list of ``{code, description}``);
- ``/api/``, ``/tiles/`` and the viewer's JSON endpoints: ``{"detail": "…", "reasons": ["…"]}``
  (the shape of DRF's and of the sync protocol's errors);
- anywhere else: the platform's HTML page for that status.

Messages are French first (gettext, English available). ``handler400/403/404/500`` in
capgeo/urls.py point here; the input guard (platform_web/input_guard.py) and the CSRF refusals
(accounts/csrf.py) answer through error_response().

This module sits on the ground floor and imports no protocol package: each OGC protocol package
registers the writer of its exception report for its path (register_ogc_report, called from its
AppConfig.ready(): wms/apps.py registers /ows and /mapproxy).
"""
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

OGC, JSON, HTML, OGCAPI, REGISTERED = "ogc", "json", "html", "ogcapi", "registered"
JSON_PREFIXES = ("/api/", "/tiles/")
# The viewer's JSON endpoints (and its print service), read by its scripts.
JSON_PATHS = {"/carte/config.json", "/carte/recherche/", "/carte/impression/", "/healthz"}

# OGC exception codes per HTTP status, when the caller gives none.
OGC_CODES = {400: "InvalidParameterValue", 403: "PermissionDenied", 404: "NotFound",
             405: "OperationNotSupported", 413: "OperationParsingFailed",
             500: "NoApplicableCode"}


# (path prefix, writer, content types) of the spaces registered by their package:
# writer(request, status, message) returns the error answer; content types are those its answers
# have (an error answer of another type is rewritten by the input guard).
_error_spaces = []


def register_error_space(prefix, writer, content_types):
    """Make writer answer every error under prefix ("/open311/"), from the package's
    AppConfig.ready(). Registering a prefix again replaces its writer."""
    _error_spaces[:] = [entry for entry in _error_spaces if entry[0] != prefix]
    _error_spaces.append((prefix, writer, tuple(content_types)))


def registered_space(path):
    """(writer, content types) of the registered space of a path, or None."""
    for prefix, writer, content_types in _error_spaces:
        if path.startswith(prefix):
            return writer, content_types
    return None


def url_space(path):
    """OGC, OGCAPI, REGISTERED, JSON or HTML: the error format of a path (no script prefix)."""
    if path == "/ogc" or path.startswith("/ogc/"):
        return OGCAPI
    if registered_space(path):
        return REGISTERED
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


# (path prefix, writer) pairs, longest prefix first; writer(request, status, message, code,
# locator) returns the exception report of that OGC service.
_ogc_report_writers = []


def register_ogc_report(prefix, writer):
    """Make writer answer the errors of the OGC service at prefix and below it (a path without
    the script prefix nor a trailing slash: "/ows", "/mapproxy"). Registering a prefix again
    replaces its writer."""
    _ogc_report_writers[:] = [(known, w) for known, w in _ogc_report_writers if known != prefix]
    _ogc_report_writers.append((prefix, writer))
    _ogc_report_writers.sort(key=lambda pair: len(pair[0]), reverse=True)


def ows_exception_report(status, message, code, locator):
    """An OWS 1.1 ExceptionReport: the answer of an OGC path whose service registered no writer."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.1.0">'
            f'<ows:Exception exceptionCode={quoteattr(code)} locator={quoteattr(locator)}>'
            f'<ows:ExceptionText>{escape(message)}</ows:ExceptionText></ows:Exception>'
            '</ows:ExceptionReport>')
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def ogc_response(request, status, message, code=None, locator=None):
    """The exception report of the OGC service the request addresses."""
    code = code or OGC_CODES.get(status, "NoApplicableCode")
    locator = locator or ("request" if status < 500 else "server")
    path = request.path_info
    for prefix, writer in _ogc_report_writers:
        if path == prefix or path.startswith(prefix + "/"):
            return writer(request, status, message, code, locator)
    return ows_exception_report(status, message, code, locator)


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


def error_response(request, status, message=None, code=None, locator=None, parameter=None,
                   space=None):
    """An error answered in the format of the request's URL space (parameter: the query
    parameter in cause, named in JSON answers as the REST API does; space: OGC, JSON or HTML
    when the caller knows better than the path, e.g. a script's endpoint in the HTML space)."""
    message = str(message) if message else default_message(status)
    space = space or url_space(request.path_info)
    if space == HTML and wants_json(request):
        space = JSON
    if space == OGC:
        response = ogc_response(request, status, message, code=code, locator=locator)
    elif space == REGISTERED:
        response = registered_space(request.path_info)[0](request, status, message)
    elif space == OGCAPI:  # OGC API exception: {"code", "description"}, and detail/reasons
        response = JsonResponse({"code": code or OGC_CODES.get(status, "NoApplicableCode"),
                                 "description": message, "detail": message,
                                 "reasons": [message]}, status=status,
                                json_dumps_params={"ensure_ascii": False})
    elif space == JSON:
        # Pages' scripts read "error" (webmap, wms.printing, the SPANC planning); API
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
