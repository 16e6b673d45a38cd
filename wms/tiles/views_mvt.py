"""GET /tiles/<layer>/<z>/<x>/<y>.mvt: a layer's vector tile, for the requesting user (and the
Lambert-93 tiles OGC API – Tiles serves, answered the same way)."""
import hashlib

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from layers.access import LayerNotFound
from layers.models import Permission
from maps import decisions

from .mvt import TileOutOfRange, render_lambert93_tile, render_tile

MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
PUBLIC_MAX_AGE = 300  # seconds: public tiles may be kept by browsers and proxies that long


def _text(message, status):
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _cache_control(request, grant):
    """public for a layer everyone sees whole, private otherwise (rows depend on the viewer)."""
    if grant.restricted:
        return "private, no-cache"
    if not request.user.is_authenticated:
        return f"public, max-age={PUBLIC_MAX_AGE}"
    try:
        anonymous = decisions.source(AnonymousUser(), grant.layer.name, Permission.VIEW)
    except LayerNotFound:
        return "private, no-cache"
    return "private, no-cache" if anonymous.restricted else f"public, max-age={PUBLIC_MAX_AGE}"


@require_GET
def vector_tile(request, layer, z, x, y):
    return tile_answer(request, layer, lambda grant: render_tile(grant, int(z), int(x), int(y)),
                       _("Tuile hors de la grille Web Mercator : %(tile)s."))


def lambert93_vector_tile(request, layer, level, row, col):
    """The layer's vector tile level/row/col of the Lambert-93 grid (OGC API – Tiles' LAMB93),
    answered as /tiles/ answers its tiles: same rights, ETag, Cache-Control, 204 when empty."""
    return tile_answer(request, layer,
                       lambda grant: render_lambert93_tile(grant, int(level), int(row), int(col)),
                       _("Tuile hors de la grille Lambert-93 : %(tile)s."))


def tile_answer(request, layer, render, out_of_range):
    try:
        # From the worker's cache of decisions: one tiny query while the catalogue is unchanged.
        grant = decisions.source(request.user, layer, Permission.VIEW)
    except LayerNotFound:
        return _text(_("Couche inconnue : %(name)s.") % {"name": layer}, 404)
    if not grant.layer.is_vector:
        return _text(_("Couche inconnue : %(name)s.") % {"name": layer}, 404)
    try:
        body = render(grant)
    except TileOutOfRange as error:
        return _text(out_of_range % {"tile": error}, 400)
    cache_control = _cache_control(request, grant)
    if not body:
        response = HttpResponse(status=204)
        response["Cache-Control"] = cache_control
        return response
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=MVT_CONTENT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    if cache_control.startswith("private"):
        response["Vary"] = "Cookie, Authorization"
    return response
