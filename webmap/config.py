"""The viewer's configuration for one visitor: the layers they may view, grouped by theme, the
basemaps, and the composition of a saved map reduced to what they may see.

Everything starts from ``AccessPolicy.for_user(user).layers(Permission.VIEW)``: a layer the
visitor may not view is absent, and a saved map's layer that is missing (deleted, or not viewable)
is dropped with a notice that does not say which one, so its existence does not leak.
"""
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from layers.access import AccessPolicy
from layers.extents import stored_summary
from layers.models import Layer, Permission, Style

from .models import LOCAL_BASEMAP, NO_BASEMAP

WEB_MERCATOR = 3857


def to_web_mercator(geometry):
    """(minx, miny, maxx, maxy) in EPSG:3857 of a geometry stored in Lambert-93."""
    if geometry is None:
        return None
    return [round(v, 2) for v in geometry.transform(WEB_MERCATOR, clone=True).extent]


def layer_extent(layer, policy=None):
    """The layer's EPSG:3857 box, measured on its data in Web Mercator (layers.extents), rounded;
    with a policy, the box of the rows that user may view (a user restricted to his commune
    never gets the whole layer's extent)."""
    summary = policy.summary(layer) if policy is not None else stored_summary(layer)
    box = summary.boxes.get(WEB_MERCATOR)
    return [round(v, 2) for v in box] if box else None


def territory_extent():
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
                       " SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 2154), 3857) e"
                       " FROM territory_commune) s")
        row = cursor.fetchone()
    if row is None or row[0] is None:  # no territory loaded: western France
        return [-300000.0, 5900000.0, -150000.0, 6050000.0]
    return [round(v, 2) for v in row]


def print_url():
    """The server print service (wms.printing), mounted before /carte/ in capgeo/urls.py."""
    try:
        return reverse("print-map")
    except NoReverseMatch:
        return "/carte/impression/"  # the contract's address: the viewer says it is unavailable


def remote_extent(layer):
    """The advertised WGS 84 box of a remote layer, in EPSG:3857 (None if unknown or absurd)."""
    box = layer.remote_layer.wgs84_bbox if layer.remote_layer_id else None
    if not box or len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -85 <= box[1] < box[3] <= 85):
        return None
    polygon = Polygon.from_bbox(box)
    polygon.srid = 4326
    return to_web_mercator(polygon)


def is_remote_wms(layer):
    """A remote WMS layer: the platform's WMS relays GetFeatureInfo to its server."""
    return bool(layer.remote_layer_id and layer.remote_layer.service.protocol == "wms")


def layer_entry(layer, styles, policy=None):
    return {
        "name": layer.name,
        "title": layer.title,
        "abstract": layer.abstract,
        "kind": layer.kind,
        "usage": layer.usage,
        "queryable": bool(layer.queryable and (layer.is_vector or is_remote_wms(layer))),
        "geometry_type": layer.geometry_type,
        "extent": layer_extent(layer, policy) or remote_extent(layer),
        "attribution": layer.attribution,
        "styles": [{"name": s.name, "title": s.title, "default": s.is_default}
                   for s in styles.get(layer.pk, [])],
        "metadata_url": reverse("catalogue:detail", args=[layer.name]),
    }


def visible_layers(user):
    """The Layer list the user may view, in catalogue order (theme, title)."""
    policy = AccessPolicy.for_user(user)
    return list(policy.layers(Permission.VIEW).select_related("theme", "remote_layer__service")
                .order_by("theme__order", "theme__name", "title"))


def styles_by_layer(layers):
    rows = {}
    for style in Style.objects.filter(layer__in=layers).only(
            "layer_id", "name", "title", "is_default").order_by("-is_default", "name"):
        rows.setdefault(style.layer_id, []).append(style)
    return rows


def basemaps(layers):
    """The local commune plan (if viewable), the catalogue's basemap layers, and none."""
    entries = []
    names = {layer.name for layer in layers}
    if LOCAL_BASEMAP in names:
        entries.append({"name": LOCAL_BASEMAP, "title": _("Plan des communes (local)"),
                        "layer": LOCAL_BASEMAP, "opacity": 0.55})
    for layer in layers:
        if layer.usage == Layer.Usage.BASEMAP:
            entries.append({"name": layer.name, "title": layer.title, "layer": layer.name,
                            "opacity": 1.0})
    entries.append({"name": NO_BASEMAP, "title": _("Aucun fond de plan"), "layer": None,
                    "opacity": 1.0})
    return entries


def viewer_config(user, saved_map=None):
    policy = AccessPolicy.for_user(user)
    layers = visible_layers(user)
    styles = styles_by_layer(layers)
    themes, by_theme = [], {}
    for layer in layers:
        if layer.usage == Layer.Usage.BASEMAP:
            continue
        key = layer.theme.slug if layer.theme else ""
        if key not in by_theme:
            by_theme[key] = {"slug": key or "autres",
                             "title": layer.theme.name if layer.theme else _("Autres couches"),
                             "layers": []}
            themes.append(by_theme[key])
        by_theme[key]["layers"].append(layer_entry(layer, styles, policy))
    base = basemaps(layers)
    config = {
        "themes": themes,
        "basemaps": base,
        "territory_extent": territory_extent(),
        "urls": {
            "ows": reverse("ows:ows"),
            "search": reverse("webmap:search"),
            "print": print_url(),
            "viewer": reverse("webmap:viewer"),
        },
        "map": None,
        "initial": {"basemap": base[0]["name"], "layers": [], "extent": None},
        "notices": [],
    }
    if saved_map is not None:
        apply_saved_map(config, saved_map, {layer.name: layer for layer in layers}, styles, policy)
    return config


def apply_saved_map(config, saved_map, viewable, styles, policy=None):
    kept, missing = [], 0
    for item in saved_map.map_layers.order_by("position", "id"):
        layer = viewable.get(item.layer_name) if item.layer_id else None
        if layer is None:
            missing += 1
            continue
        style = item.style
        if style and style not in {s.name for s in styles.get(layer.pk, [])}:
            style = ""
        kept.append({"name": layer.name, "style": style, "opacity": item.opacity,
                     "visible": item.visible})
    basemap_names = {b["name"] for b in config["basemaps"]}
    basemap = saved_map.basemap if saved_map.basemap in basemap_names else config["basemaps"][0]["name"]
    config["map"] = {"slug": saved_map.slug, "title": saved_map.title,
                     "description": saved_map.description}
    config["initial"] = {"basemap": basemap, "layers": kept,
                         "extent": to_web_mercator(saved_map.extent) or union_extent(kept, viewable, policy)}
    if missing:
        config["notices"].append(ngettext(
            "%(count)d couche de cette carte n'est pas affichée : elle a été supprimée ou son "
            "accès vous est restreint.",
            "%(count)d couches de cette carte ne sont pas affichées : elles ont été supprimées "
            "ou leur accès vous est restreint.", missing) % {"count": missing})


def union_extent(kept, viewable, policy=None):
    boxes = [box for box in (layer_extent(viewable[item["name"]], policy) for item in kept) if box]
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]
