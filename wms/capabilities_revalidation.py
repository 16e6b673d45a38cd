"""Validators of the capabilities documents (WMS 1.1.1/1.3.0, WFS 1.1.0/2.0.0, WMTS and TMS).

A capabilities document is a function of the catalogue (layers, rules, styles, themes, remote
services: all bump the ``wms_catalogue_version`` counter, see maps.decisions), of who asks
(their audience: authenticated, GIS administrator, commune, role — all the access policy looks
at), of the request (its parameters, host, language) and of the code. So:

- ``ETag``: a hash of all of these. Two users who may see different layers never share one; a
  layer published, a rule changed or a style added changes it for everyone.
- ``Last-Modified``: when the current catalogue version was first served (table
  ``wms_catalogue_seen``, wms migration 0003), in whole seconds, sent once that second is over (a
  change in the same second could not be told apart).
- ``Cache-Control: no-cache, no-store, max-age=0`` (``private, …`` for a signed-in user),
  ``Expires`` (now) and ``Vary: Cookie, Authorization, Accept-Language``. ``no-store`` is what
  QGIS needs: it asks for capabilities with Qt's PreferCache, drops Cache-Control from the
  entries it keeps and answers a later session from its disk cache without asking, whatever
  no-cache or Expires say (QGIS 3.22, wms/tests/test_capabilities_qgis.py); an entry Qt never
  stores (no-store) cannot be reused. Clients that still revalidate get the validators below.
- A conditional GET answers ``304 Not Modified`` without building the document: If-None-Match
  when sent (any matching tag), otherwise If-Modified-Since (RFC 9110, 13.2.2).

QGIS sees a layer published after it first connected, instead of "Could not find typename".
"""
import functools
import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponseNotModified
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_http_date_safe

from layers.audience import Audience

logger = logging.getLogger(__name__)
VARY = ("Cookie", "Authorization", "Accept-Language")
KEEP_SEEN_VERSIONS = 1000
TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=1)
def code_salt():
    """What else shapes the documents: their templates, gisserver's version, the limits they
    advertise (a deployment changing any of them changes every ETag)."""
    import gisserver

    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.glob("*/capabilities_*.xml")):
        digest.update(path.read_bytes())
    for value in (getattr(gisserver, "__version__", ""), settings.CAPGEO_WFS_MAX_COUNT,
                  getattr(settings, "CAPGEO_WMS_MAX_SIZE", ""),
                  settings.CAPGEO_INTERCOMMUNALITY_NAME, settings.CAPGEO_STORAGE_SRID):
        digest.update(repr(value).encode())
    return digest.hexdigest()


def catalogue_state():
    """((version, data version), first served at, now) of the catalogue, or None without a
    counter row. The data version moves with the layers' rows (their extents are in the
    documents), the version with everything else (wms migration 0005)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT v.version, v.data_version, s.seen_at, clock_timestamp() "
                       "FROM wms_catalogue_version v LEFT JOIN wms_catalogue_seen s "
                       "ON s.version = v.version AND s.data_version = v.data_version "
                       "WHERE v.id = 1")
        row = cursor.fetchone()
        if row is None:
            return None
        version, data_version, seen_at, now = row
        if seen_at is None:
            # First request of this state: it dates it (ON CONFLICT: another one did too).
            try:
                with transaction.atomic():
                    cursor.execute("INSERT INTO wms_catalogue_seen (version, data_version) "
                                   "VALUES (%s, %s) ON CONFLICT DO NOTHING", [version, data_version])
                    cursor.execute("DELETE FROM wms_catalogue_seen WHERE version < %s OR "
                                   "(version = %s AND data_version < %s)",
                                   [version - KEEP_SEEN_VERSIONS, version,
                                    data_version - KEEP_SEEN_VERSIONS])
            except DatabaseError:  # a read-only database: no Last-Modified, the ETag still works
                logger.warning("Catalogue version %s.%s could not be dated", version,
                               data_version, exc_info=True)
                return (version, data_version), None, now
            cursor.execute("SELECT seen_at, clock_timestamp() FROM wms_catalogue_seen "
                           "WHERE version = %s AND data_version = %s", [version, data_version])
            seen_at, now = cursor.fetchone()
    return (version, data_version), seen_at, now


def validators(request, kind, user=None):
    """(etag, last_modified or None, private) of the document `kind` ("WMS", "WFS", "WMTS"…)
    this request would get, or None when the catalogue has no version counter."""
    state = catalogue_state()
    if state is None:
        return None
    version, seen_at, now = state
    audience = Audience.of(user or request.user)
    private = audience.authenticated
    parts = [code_salt(), kind, "%s.%s" % version, audience.key, translation.get_language() or "",
             request.scheme, request.get_host(), request.path,
             repr(sorted((key.upper(), sorted(values)) for key, values in request.GET.lists()))]
    etag = '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40] + '"'
    last_modified = int(seen_at.timestamp()) if seen_at is not None else None
    if last_modified is not None and int(now.timestamp()) <= last_modified:
        last_modified = None  # the second is not over: a change in it would share the date
    return etag, last_modified, private


def _tags(header):
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def not_modified(request, etag, last_modified):
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = _tags(if_none_match)
        return "*" in tags or etag in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and last_modified is not None and last_modified <= since


def _decorate(response, etag, last_modified, private):
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    elif "Last-Modified" in response:
        del response["Last-Modified"]  # MapProxy's own: not the catalogue's
    # no-store: QGIS would otherwise answer its next session from its disk cache (see above);
    # max-age=0 and Expires for caches that store anyway.
    response["Cache-Control"] = ("private, " if private else "") + "no-cache, no-store, max-age=0"
    response["Expires"] = http_date()
    patch_vary_headers(response, VARY)
    return response


def capabilities(request, kind, build, user=None):
    """The response of build() with validators, or 304 when the client's copy is current.
    Only a 200 gets validators (an exception report is not a document to keep)."""
    found = validators(request, kind, user)
    if found is None:
        return build()
    etag, last_modified, private = found
    if request.method in ("GET", "HEAD") and not_modified(request, etag, last_modified):
        return _decorate(HttpResponseNotModified(), etag, last_modified, private)
    response = build()
    if response.status_code == 200:
        _decorate(response, etag, last_modified, private)
    return response
