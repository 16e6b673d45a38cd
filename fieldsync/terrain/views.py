"""Views of the field app. The page is an app shell without any user data (the data comes from
the sync API and lives in the tablet's IndexedDB), so the service worker may cache it and start
the app with the network off.

The service worker's cache name carries a version computed from the content of every shell file:
any change of the app gives a new cache and the old one is dropped on activation.
"""
import hashlib
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _t
from django.views.decorators.cache import never_cache

from territory.models import Commune

from .. import photos, records
from .messages import field_messages

STYLES = ["vendor/ol/ol.css", "terrain/terrain.css"]
# i18n.js first: the other scripts build their texts with it.
# terrain/records.js, then the form of each record type (terrain/forms/<entity>.js, which
# registers the type), in the order of the server's registry (fieldsync.records).
SCRIPTS = ["vendor/ol/ol.js", "terrain/i18n.js", "terrain/records.js",
           *[f"terrain/forms/{entity}.js" for entity in records.REGISTRY],
           "terrain/store.js", "terrain/api.js", "terrain/tiles.js", "terrain/sync.js",
           "terrain/map.js", "terrain/app.js"]
ICONS = ["terrain/icon-192.png", "terrain/icon-512.png", "terrain/icon.svg"]
SHELL_STATIC = STYLES + SCRIPTS + ICONS
TEMPLATES = ["terrain/app.html", "terrain/sw.js"]
PHOTO_CHUNK_BYTES = 512 * 1024
BASEMAP_LAYERS = "communes"  # public demo layer drawn by the platform's WMS under the points


def may_use(user):
    """The SPANC staff and a reports service's agents: whoever a field record type admits."""
    return bool(user.is_authenticated and user.is_active and records.may_sync(user))


def _static_file(name):
    found = finders.find(name)
    if found:
        return Path(found)
    try:
        return Path(staticfiles_storage.path(name))
    except NotImplementedError:
        return None


_digests = {}


def _file_digest(path):
    """Content digest of a file, remembered until the file changes."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def shell_version():
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = _static_file(name)
        digest.update((_file_digest(path) if path and path.is_file() else static(name)).encode())
    for name in TEMPLATES:
        digest.update(_file_digest(Path(get_template(name).origin.name)).encode())
    return digest.hexdigest()[:16]


def shell_urls():
    return [reverse("terrain:app"), reverse("terrain:manifest")] + [static(n) for n in SHELL_STATIC]


def _config():
    return {
        "version": shell_version(),
        "urls": {
            "app": reverse("terrain:app"),
            "session": reverse("terrain:session"),
            "serviceWorker": reverse("terrain:service-worker"),
            "login": _login_url(),
            "devices": reverse("fieldsync_api:devices"),
            "package": reverse("fieldsync_api:package"),
            "changes": reverse("fieldsync_api:changes"),
            "push": reverse("fieldsync_api:push"),
            "photo": reverse("fieldsync_api:photo", args=["SHA256"]),
            "ows": reverse("ows:ows"),
        },
        "language": get_language(),  # the page's: texts, dates and numbers (terrain/i18n.js)
        "basemapLayers": BASEMAP_LAYERS,
        # Photos go up in chunks the server accepts, so a cut upload resumes at the last one.
        "photoChunkBytes": min(PHOTO_CHUNK_BYTES, photos.max_chunk_bytes()),
        "communes": dict(Commune.objects.order_by("insee").values_list("insee", "name")),
    }


@login_required
def app(request):
    if not may_use(request.user):
        raise PermissionDenied(_t("L'application terrain est réservée aux agents du SPANC et des services qui traitent les signalements."))
    response = render(request, "terrain/app.html", {
        "styles": [static(n) for n in STYLES], "scripts": [static(n) for n in SCRIPTS],
        "config": _config(), "messages_js": field_messages(),
    })
    response["Cache-Control"] = "no-cache"
    return response


def service_worker(request):
    body = get_template("terrain/sw.js").render({
        "version": shell_version(), "shell_urls": json.dumps(shell_urls()),
        "app_url": json.dumps(reverse("terrain:app")),
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("terrain:app")
    response["Cache-Control"] = "no-cache"
    return response


def manifest(request):
    app_url = reverse("terrain:app")
    data = {
        "name": _t("C@p Géo terrain — contrôles SPANC"),
        "short_name": _t("C@p Géo terrain"),
        "description": _t("Contrôles des installations d'assainissement non collectif, "
                          "hors ligne."),
        "lang": get_language(), "start_url": app_url, "scope": app_url, "display": "standalone",
        "orientation": "any", "background_color": "#ffffff", "theme_color": "#1f5f8b",
        "icons": [
            {"src": static("terrain/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("terrain/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any maskable"},
            {"src": static("terrain/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@never_cache
def session(request):
    """Is the browser's session still open? (the app asks before each sync). With the CSRF token
    the API's session authentication requires for writes."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"authenticated": False, "login_url": _login_url()})
    return JsonResponse({
        "authenticated": True, "allowed": may_use(user), "username": user.username,
        "name": user.get_full_name() or user.username, "role": user.role,
        "csrf_token": get_token(request), "login_url": _login_url(),
    })


def _login_url():
    return reverse("login") + "?next=" + reverse("terrain:app")
