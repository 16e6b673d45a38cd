"""Guards applied to every request before any view reads it (formats: error_responses.py).

InputGuardMiddleware refuses, with a 400 in the format of the URL space:
- a NUL character (``%00``, ``\\u0000``) in the path, in a query parameter (name or value), in a
  header (a cookie, Basic credentials once decoded), in a JSON body (raw byte or ``\\u0000``
  escape) or in a form body: PostgreSQL refuses NUL in text and jsonb, so such a value would
  otherwise fail deep inside a query (the session's lookup, the user's, a layer's…);
- a JSON body nested deeper than CAPGEO_MAX_JSON_DEPTH (Python's json module recurses: a
  document of 100,000 ``[`` raises RecursionError).
and turns a RecursionError raised by a view (a parser recursing on a deeply nested document the
checks above did not see) into that 400 as well, with the traceback logged.

On the way out, an error answer (4xx/5xx) that is not in its URL space's format — Django's
405 of require_GET, a plain-text 401 of the desktop authentication, the HTML page of a CSRF
failure, a plain-text message of a view — is rewritten in that format (its text kept as the
message when it is plain text), so that /api/ only ever answers JSON and /ows and /mapproxy/
only OGC exception reports. Uncaught exceptions are answered by error_responses.server_error
(handler500), after Django has logged the traceback.

Bodies larger than DATA_UPLOAD_MAX_MEMORY_SIZE are not read here (Django refuses to hold them in
memory): the only view that accepts them, the sync push, bounds its own JSON parsing, and a
RecursionError would still be answered 400 by process_exception. The sync push's strings are
checked for NUL change by change by the sync protocol (NUL_CHECKED_PER_ITEM).
"""
import base64
import binascii
import logging
import re

from django.conf import settings
from django.utils.translation import gettext as _

from .error_responses import (
    HTML, JSON, OGC, REGISTERED, error_response, registered_space, url_space,
)

logger = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Bodies whose strings the view checks item by item: the sync push rejects the one change
# holding a NUL (docs/sync-protocol.md) rather than the whole batch, which the tablet could never
# send again.
NUL_CHECKED_PER_ITEM = {"/api/sync/push/"}

# A \u0000 escape not itself escaped (\\u0000 is the six characters "\u0000", not NUL).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_JSON_STRING = re.compile(rb'"[^"]*"')  # once escaped quotes and backslashes are gone
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def max_json_depth():
    return int(getattr(settings, "CAPGEO_MAX_JSON_DEPTH", 64))


def json_too_deep(raw, limit):
    """True when the JSON text nests arrays/objects deeper than limit (malformed text: False,
    its parser reports it). Linear, and in C for the bulk: escapes dropped, then everything but
    brackets and quotes, then the strings; the brackets left are peeled one level at a time."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        # \\ first (so that \\" stays a closing quote), then \" (a quote inside a string).
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes alternate (opening, closing): dropping two adjacent ones keeps that, and drops
    # every string without brackets in C; the few strings left are dropped by the regex.
    skeleton = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    skeleton = _JSON_STRING.sub(b"", skeleton)
    for _level in range(limit):
        shorter = _INNERMOST_PAIR.sub(b"", skeleton)  # one nesting level less
        if not shorter or len(shorter) == len(skeleton):
            return False
        skeleton = shorter
    return True


def json_problem(raw, nul=True):
    """A French message if the raw JSON body holds a NUL (nul=True) or nests too deep, else
    None."""
    if nul and (b"\x00" in raw or (b"\\u0000" in raw and _JSON_NUL.search(raw))):
        return nul_message()
    if json_too_deep(raw, max_json_depth()):
        return depth_message()
    return None


def nul_message():
    return _("Valeur invalide : caractère nul (U+0000, %00) refusé ; il n'est admis dans aucune "
             "adresse, aucun paramètre ni aucun texte envoyé à la plateforme.")


def depth_message():
    return _("Document trop imbriqué : %(max)d niveaux au plus.") % {"max": max_json_depth()}


def _readable_body(request):
    """The body if this guard may read it (a JSON or form body Django keeps in memory)."""
    if request.method not in BODY_METHODS:
        return None
    content_type = (request.content_type or "").lower()
    # JSON sent as text/plain or without a type (a "simple" fetch) is read as JSON by the views
    # that parse request.body themselves (print, SPANC planning): checked as JSON too.
    maybe_json = content_type in ("", "text/plain")
    if not (content_type in JSON_TYPES or content_type.endswith("+json")
            or content_type == FORM_TYPE or maybe_json):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length <= 0 or (limit is not None and length > limit):
        return None
    raw = request.body
    if maybe_json:
        if raw.lstrip()[:1] not in (b"{", b"["):
            return None
        content_type = "application/json"
    return content_type, raw


def header_with_nul(request):
    """The name of a header holding NUL (a cookie, the credentials of Basic authentication once
    decoded), or None: the session and the user are looked up in the database with them."""
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return key[5:].lower().replace("_", "-")
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[:6].lower() == "basic ":
        try:
            credentials = base64.b64decode(authorization[6:].strip())
        except (binascii.Error, ValueError):
            return None  # the authentication answers 401
        if b"\x00" in credentials:
            return "authorization"
    return None


def request_problem(request):
    """(message, locator) of the first problem of the request, or None."""
    if "\x00" in request.path_info:
        return nul_message(), "path"
    header = header_with_nul(request)
    if header:
        return nul_message(), header
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return nul_message(), key.replace("\x00", "")[:40] or "query"
    readable = _readable_body(request)
    if readable is not None:
        content_type, raw = readable
        if content_type == FORM_TYPE:
            if b"\x00" in raw or b"%00" in raw:
                return nul_message(), "body"
        else:
            problem = json_problem(raw, nul=request.path_info not in NUL_CHECKED_PER_ITEM)
            if problem:
                return problem, "body"
    return None


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = request_problem(request)
        if problem is not None:
            message, locator = problem
            logger.info("Requête refusée (%s) : %s %s", locator, request.method,
                        request.path_info.replace("\x00", "\\x00")[:200])
            code = "OperationParsingFailed" if locator == "body" else "InvalidParameterValue"
            parameter = locator if locator in request.GET else None
            return error_response(request, 400, message, code=code, locator=locator,
                                  parameter=parameter)
        return conform(request, self.get_response(request))

    def process_exception(self, request, exception):
        if isinstance(exception, RecursionError):
            logger.warning("Document trop imbriqué : %s %s", request.method, request.path_info,
                           exc_info=exception)
            return error_response(request, 400, _("Document trop imbriqué pour être lu."),
                                  code="OperationParsingFailed", locator="request")
        return None


KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After", "Vary")


def in_format(space, content_type, path=""):
    if space == JSON:
        return content_type == "application/json" or content_type.endswith("+json")
    if space == OGC:
        return "xml" in content_type or content_type.startswith("image/")
    if space == REGISTERED:
        return content_type in registered_space(path)[1]
    return True


def conform(request, response):
    """The error response rewritten in the URL space's format if it is not already."""
    if response.status_code < 400 or response.streaming:
        return response
    space = url_space(request.path_info)
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    if space == HTML and response.status_code == 405 and not response.content:
        # require_POST/require_GET answer an empty page: say it in French.
        rewritten = error_response(request, 405)
        rewritten["Allow"] = response.get("Allow", "")
        return rewritten
    if space == HTML or in_format(space, content_type, request.path_info):
        return response
    message = None
    if content_type == "text/plain":
        message = response.content.decode("utf-8", "replace").strip()[:500] or None
    rewritten = error_response(request, response.status_code, message)
    for header in KEPT_HEADERS:
        if header in response:
            rewritten[header] = response[header]
    return rewritten
