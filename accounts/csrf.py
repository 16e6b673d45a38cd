"""CSRF for the views that also serve non-browser clients (one rule for the whole platform).

A browser sends its session cookie with any request, even one a foreign site makes it send (a
form or a ``fetch`` posting ``text/plain``): a request authenticated by that cookie alone must
prove it comes from a page of the platform (Django's CSRF token, and Origin/Referer checks).
Desktop credentials — Basic or a personal access token, checked on every request by
DesktopAuthMiddleware — are not sent by the browser on its own, so they need no token: QGIS,
GDAL and scripts post WFS-T transactions, prints and sync batches without one. Anonymous requests
carry no authority to abuse.

Where it is enforced:
- views without ``csrf_exempt``: Django's CsrfViewMiddleware, for every client (the HTML forms);
- DRF views (/api/, /api/sync/): DRF's SessionAuthentication, only when the session
  authenticated the request (DesktopTokenAuthentication is tried first);
- every other ``csrf_exempt`` view (/ows, /mapproxy/, /carte/impression/, …):
  DesktopAuthMiddleware.process_view calls :func:`refusal` before the view runs, and answers
  in the protocol's own error format (:func:`refusal_response`, through the platform's one
  error-response module, platform_web/error_responses.py).
"""
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _

from platform_web.error_responses import HTML, JSON, error_response, url_space

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class _Check(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def is_drf_view(view_func):
    from rest_framework.views import APIView

    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def refusal(request):
    """Why this request fails the CSRF check (Django's reason), or None when it passes or needs
    none: safe method, anonymous, or authenticated by desktop credentials."""
    if request.method in SAFE_METHODS:
        return None
    if getattr(request, "desktop_authenticated", False) or not request.user.is_authenticated:
        return None
    check = _Check(lambda _request: None)
    check.process_request(request)
    # No callback: the view's csrf_exempt mark is deliberately not consulted here.
    return check.process_view(request, None, (), {})


def message():
    return _("Jeton CSRF absent ou invalide : une requête authentifiée par la session du "
             "navigateur doit venir d'une page de la plateforme (rechargez la page puis "
             "réessayez). Les logiciels SIG et les scripts s'authentifient par mot de passe "
             "(Basic) ou par jeton d'accès personnel, sans jeton CSRF.")


def refusal_response(request, reason):
    """403 in the endpoint's own error format: its URL space's (the service's exception report
    on /ows and /mapproxy/, OGC API's on /ogc/, …), JSON for an endpoint among HTML pages (these
    endpoints are read by scripts, not by people)."""
    space = url_space(request.path_info)
    if space == HTML:
        space = JSON
    return error_response(request, 403, message(), code="PermissionDenied", locator="CSRF",
                          space=space)


def failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's own refusals (views without csrf_exempt), in the endpoint's
    format on the protocol paths, Django's page elsewhere (HTML forms)."""
    if url_space(request.path_info) != HTML:
        return refusal_response(request, reason)
    from django.views.csrf import csrf_failure

    return csrf_failure(request, reason)
