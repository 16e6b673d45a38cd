"""The web map viewer (/carte/), its JSON endpoints and the gallery of saved maps.

Every answer starts from the access policy (webmap.config, webmap.search, webmap.thumbnails):
the viewer of an anonymous visitor never names a restricted layer, and a saved map not shared
with the visitor is answered like an unknown one.
"""
import logging

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from . import search as search_module
from .config import viewer_config
from .messages import viewer_messages
from .models import SavedMap
from .thumbnails import map_thumbnail_png

logger = logging.getLogger(__name__)


def visible_map(user, slug):
    """The saved map with that slug if it is shared with the user, else None."""
    if not slug:
        return None
    return SavedMap.objects.visible_to(user).filter(slug=slug[:80]).first()


def _viewer_response(request, slug):
    saved_map = visible_map(request.user, slug)
    config = viewer_config(request.user, saved_map)
    status = 200
    if slug and saved_map is None:
        # Deleted, misspelt or not shared with this visitor: the same message, and the map opens.
        config["notices"].append(_("La carte « %(slug)s » n'existe pas ou ne vous est pas "
                                   "accessible : la carte générale s'affiche à la place.")
                                 % {"slug": slug[:80]})
        status = 404
    context = {"config": config, "messages_js": viewer_messages(), "saved_map": saved_map,
               "gallery_count": SavedMap.objects.visible_to(request.user).count()}
    response = render(request, "webmap/viewer.html", context, status=status)
    patch_vary_headers(response, ["Cookie"])
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
@ensure_csrf_cookie  # the PDF export posts JSON with the token read from the cookie
def viewer(request):
    return _viewer_response(request, request.GET.get("carte", "").strip())


@require_GET
@ensure_csrf_cookie
def saved(request, slug):
    return _viewer_response(request, slug)


@require_GET
def config_json(request):
    slug = request.GET.get("carte", "").strip()
    saved_map = visible_map(request.user, slug)
    if slug and saved_map is None:
        return JsonResponse({"error": _("La carte « %(slug)s » n'existe pas ou ne vous est pas "
                                        "accessible.") % {"slug": slug[:80]}}, status=404)
    response = JsonResponse(viewer_config(request.user, saved_map))
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
def search(request):
    result = search_module.search(request.user, request.GET.get("q", ""))
    response = JsonResponse(result, status=400 if "error" in result else 200)
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
def gallery(request):
    maps = list(SavedMap.objects.visible_to(request.user))
    entries = [{"map": m, "url": reverse("webmap:saved", args=[m.slug]),
                "thumbnail": reverse("webmap:thumbnail", args=[m.slug])} for m in maps]
    return render(request, "webmap/gallery.html", {"entries": entries})


@require_GET
def thumbnail(request, slug):
    saved_map = visible_map(request.user, slug)
    if saved_map is None:
        raise Http404(_("Carte inconnue."))
    try:
        png = map_thumbnail_png(request.user, saved_map)
    except Exception:  # the gallery shows the card without its image, never a 500
        logger.exception("Vignette de la carte %s impossible à produire", saved_map.slug)
        raise Http404(_("Vignette indisponible.")) from None
    response = HttpResponse(png, content_type="image/png")
    patch_cache_control(response, private=True, max_age=300)
    return response
