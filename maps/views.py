"""A catalogue layer's thumbnail (/catalogue/<layer>/vignette.png), for whoever may view the layer.

The layer is found through the access policy (a layer the visitor may not view is a 404); the
image itself never shows rows some viewers may not see (maps.thumbnails).
"""
import logging

from django.http import Http404, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from layers.access import AccessPolicy, LayerNotFound
from layers.models import Permission

logger = logging.getLogger(__name__)


@require_GET
def layer_thumbnail(request, name):
    from .thumbnails import PUBLIC, current_thumbnail  # Mapnik loads with the first drawing

    try:
        layer = AccessPolicy.for_user(request.user).source(name, Permission.VIEW).layer
    except LayerNotFound:
        raise Http404(_("Couche introuvable.")) from None
    if not layer.is_vector:
        raise Http404(_("Pas de vignette pour une couche distante."))
    try:
        png, variant = current_thumbnail(layer)
    except Exception:  # a rendering failure shows the card without image, never a 500
        logger.exception("Vignette de la couche %s impossible à produire", layer.name)
        raise Http404(_("Vignette indisponible.")) from None
    response = HttpResponse(png, content_type="image/png")
    if variant == PUBLIC:
        patch_cache_control(response, public=True, max_age=600)
    else:
        patch_cache_control(response, private=True, max_age=600)
    return response
