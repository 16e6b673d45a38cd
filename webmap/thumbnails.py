"""Thumbnails of saved maps for the gallery, drawn by the map engine's Mapnik renderer.

A thumbnail is drawn for the visitor asking for it, with *their* grants (maps.catalogue
resolves each layer through the access policy), so it never shows a row they could not see on
the map itself. Renderings are cached under a key made of the map's version and, for each layer,
its version and the visitor's row filter: visitors with the same rights share a rendering.
"""
import hashlib
import io
import json

from django.core.cache import cache
from PIL import Image

from layers.access import AccessPolicy
from layers.models import Permission

from .config import layer_extent, territory_extent, to_web_mercator
from .models import LOCAL_BASEMAP, NO_BASEMAP

WIDTH, HEIGHT = 320, 200
BACKGROUND = (220, 232, 240, 255)  # the sea, as on the layer thumbnails
CACHE_SECONDS = 3600


def _served_layers(user, saved_map):
    """ServedLayers (bottom first) the user may view: basemap, then the map's visible layers."""
    from maps import catalogue
    from maps.errors import MapError

    policy = AccessPolicy.for_user(user)
    wanted = []
    if saved_map.basemap not in ("", NO_BASEMAP):
        wanted.append((saved_map.basemap, ""))
    wanted += [(item.layer_name, item.style) for item in saved_map.map_layers.all()
               if item.visible and item.layer_id]
    served = []
    for name, style in wanted:
        try:
            grant = catalogue.grant_for(policy, name)
            served.append(catalogue.ServedLayer(grant, catalogue.style_named(grant.layer, style)))
        except MapError:  # deleted, not viewable, remote or bad style: drawn without it
            continue
    return served


def _frame(saved_map, served):
    box = to_web_mercator(saved_map.extent)
    if box is None:
        overlays = [s.layer for s in served if s.layer.name != LOCAL_BASEMAP] or [s.layer for s in served]
        boxes = [box for box in (layer_extent(layer) for layer in overlays) if box]
        if boxes:
            box = [min(b[0] for b in boxes), min(b[1] for b in boxes),
                   max(b[2] for b in boxes), max(b[3] for b in boxes)]
        else:
            box = territory_extent()
    # Grow to the thumbnail's aspect ratio, centred, so nothing is stretched.
    minx, miny, maxx, maxy = box
    width, height = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    if width / height < WIDTH / HEIGHT:
        width = height * WIDTH / HEIGHT
    else:
        height = width * HEIGHT / WIDTH
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def _cache_key(saved_map, served, frame):
    parts = [saved_map.pk, saved_map.updated_at.isoformat(), [round(v, 1) for v in frame]]
    for s in served:
        parts.append([s.layer.name, str(s.layer.updated_at), str(s.layer.data_updated_at),
                      s.style_version, list(map(str, s.grant.view_key))])
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return f"webmap:thumbnail:{digest}"


def map_thumbnail_png(user, saved_map):
    """PNG bytes of the saved map as this user may see it."""
    from maps import renderer
    from maps.crs import crs_for

    served = _served_layers(user, saved_map)
    frame = _frame(saved_map, served)
    key = _cache_key(saved_map, served, frame)
    png = cache.get(key)
    if png is None:
        crs = crs_for("EPSG:3857", "1.3.0")
        base = [s for s in served if s.layer.name == saved_map.basemap]
        overlays = [s for s in served if s.layer.name != saved_map.basemap]
        background = renderer.render(base, crs, frame, WIDTH, HEIGHT, None)
        foreground = renderer.render(overlays, crs, frame, WIDTH, HEIGHT, None)
        png = _compose(background.to_string("png"), foreground.to_string("png"))
        cache.set(key, png, CACHE_SECONDS)
    return png


def _compose(background_png, foreground_png):
    """The basemap in light grey (as the viewer shows it) under the map's layers."""
    base = Image.open(io.BytesIO(background_png)).convert("RGBA")
    grey = base.convert("L").point(lambda v: 150 + v * 105 // 255)
    light = Image.merge("RGBA", (grey, grey, grey, base.getchannel("A")))
    page = Image.new("RGBA", base.size, BACKGROUND)  # the sea
    page = Image.alpha_composite(page, light)
    foreground = Image.open(io.BytesIO(foreground_png)).convert("RGBA")
    out = io.BytesIO()
    Image.alpha_composite(page, foreground).convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


def viewable(user, names):
    """The subset of layer names the user may view (for the gallery's captions)."""
    policy = AccessPolicy.for_user(user)
    return set(policy.layers(Permission.VIEW).filter(name__in=names).values_list("name", flat=True))
