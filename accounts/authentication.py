"""Desktop authentication: QGIS, GDAL and scripts authenticate on each request, without a session.

Accepted credentials (the first present wins):
- ``Authorization: Basic …`` with the user's account (username and password);
- a personal access token (accounts.tokens) in ``Authorization: Bearer <token>``, in an
  ``X-Api-Key`` header, or as URL parameter ``token=`` / ``access_token=`` (for clients that can
  only set a URL, e.g. QGIS XYZ tiles).

DesktopAuthMiddleware (after AuthenticationMiddleware) sets request.user from them, and checks
CSRF for browser sessions on the views marked ``csrf_exempt`` (see accounts.csrf). Invalid
credentials on the OGC and tile endpoints answer 401 with ``WWW-Authenticate: Basic`` (an OGC
exception report on /ows), never a page of anonymous content that would look like data loss.
Elsewhere they leave the request anonymous, and DesktopTokenAuthentication refuses them for DRF
(/api/) with 401.

A successful Basic check is remembered for a few minutes (keyed by a hash of the credentials and
the stored password hash): QGIS sends Basic with every tile and page, and a password hash costs
hundreds of milliseconds.
"""
import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import cache
from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from platform_web.error_responses import error_response

from . import csrf
from .tokens import user_for_token

REALM = "C@p Géo"
BASIC_CACHE_SECONDS = 300
# Paths where invalid credentials are refused outright (desktop and OGC clients).
ENFORCED_PREFIXES = ("/ows", "/tiles/", "/mapproxy/", "/wmts", "/tms")
TOKEN_PARAMETERS = ("token", "access_token")


class InvalidCredentials(Exception):
    pass


def credentials(request):
    """("basic", (username, password)) | ("token", text) | None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCredentials() from None
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = decoded.decode("latin-1")
        username, colon, password = text.partition(":")
        if not colon or not username:
            raise InvalidCredentials()
        return "basic", (username, password)
    if scheme in ("bearer", "token") and value.strip():
        return "token", value.strip()
    api_key = request.META.get("HTTP_X_API_KEY", "").strip()
    if api_key:
        return "token", api_key
    for name in TOKEN_PARAMETERS:
        for key, value in request.GET.items():
            if key.lower() == name and value.strip():
                return "token", value.strip()
    return None


def _basic_cache_key(username, password):
    digest = hashlib.sha256(f"{username}\0{password}\0{settings.SECRET_KEY}".encode()).hexdigest()
    return f"capgeo:basic:{digest}"


def user_for_basic(request, username, password):
    key = _basic_cache_key(username, password)
    remembered = cache.get(key)
    if remembered:
        user_id, password_hash = remembered
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is not None and user.password == password_hash:
            return user
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    cache.set(key, (user.pk, user.password), BASIC_CACHE_SECONDS)
    return user


def user_from_credentials(request):
    """The authenticated user, None when the request carries no credentials, or
    InvalidCredentials."""
    found = credentials(request)
    if found is None:
        return None
    kind, value = found
    user = user_for_basic(request, *value) if kind == "basic" else user_for_token(value)
    if user is None:
        raise InvalidCredentials()
    return user


def unauthorized_response(request):
    text = _("Identifiants invalides : vérifiez l'identifiant et le mot de passe, ou le jeton "
             "d'accès (il a peut-être été révoqué).")
    if request.path_info.startswith("/ows"):
        # The service's exception report (WFS or WMS), with the challenge: QGIS asks again.
        response = error_response(request, 401, text, code="InvalidParameterValue",
                                  locator="Authorization")
    else:
        response = HttpResponse(text, status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


def desktop_outcome(request):
    """(user or None, invalid): the desktop credentials of this request, checked once (the
    middleware, then DRF, ask)."""
    outcome = getattr(request, "_desktop_outcome", None)
    if outcome is None:
        try:
            outcome = (user_from_credentials(request), False)
        except InvalidCredentials:
            outcome = (None, True)
        request._desktop_outcome = outcome
    return outcome


def strip_url_credentials(request):
    """Remove ?token= / ?access_token= from the request once read: everything built from the
    request's URL afterwards (WFS next/previous links, REST pagination, MapProxy and gisserver
    URLs, the WSGI environ's QUERY_STRING) never carries the credential. The other parameters
    are kept verbatim."""
    if not any(key.lower() in TOKEN_PARAMETERS for key in request.GET):
        return
    raw = request.META.get("QUERY_STRING", "")
    kept = [pair for pair in raw.split("&")
            if unquote_plus(pair.partition("=")[0]).lower() not in TOKEN_PARAMETERS]
    request.META["QUERY_STRING"] = "&".join(kept)
    request.GET = QueryDict(request.META["QUERY_STRING"], encoding=request.encoding)


class DesktopAuthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user, invalid = desktop_outcome(request)
        strip_url_credentials(request)
        if invalid and request.path.startswith(ENFORCED_PREFIXES):
            return unauthorized_response(request)
        if user is not None:
            request.user = user
            request._cached_user = user
            request.desktop_authenticated = True  # per request, no session, no CSRF cookie
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # csrf_exempt only means "desktop clients post here without a token": a browser session
        # still needs it. Views without the mark are Django's CsrfViewMiddleware's, DRF views
        # are DRF's SessionAuthentication's (see accounts.csrf).
        if not getattr(view_func, "csrf_exempt", False) or csrf.is_drf_view(view_func):
            return None
        reason = csrf.refusal(request)
        if reason is not None:
            return csrf.refusal_response(request, reason)
        return None


class DesktopTokenAuthentication(authentication.BaseAuthentication):
    """DRF: the same credentials as DesktopAuthMiddleware (Basic, Bearer, X-Api-Key, ?token=)."""

    def authenticate(self, request):
        user, invalid = desktop_outcome(request._request)
        if invalid:
            raise exceptions.AuthenticationFailed(_(
                "Identifiants invalides (identifiant et mot de passe, ou jeton d'accès)."))
        if user is None:
            return None
        return user, None

    def authenticate_header(self, request):
        # Challenge only clients that sent desktop credentials: a Basic challenge to a browser's
        # anonymous fetch() would pop up the browser's login dialog. Without one, DRF answers 403.
        user, invalid = desktop_outcome(request._request)
        sent = invalid or user is not None
        return f'Basic realm="{REALM}"' if sent else None
