"""GetCapabilities: the service and the layers the requester may view, grouped by theme."""
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from layers.access import AccessPolicy, LayerNotFound
from layers.extents import stored_summary
from layers.models import Permission
from layers.styles import StyleError, resolve_style
from maps import catalogue, decisions, remote
from maps.crs import advertised_codes, crs_for
from maps.legend import legend_size

from .featureinfo import ADVERTISED_INFO_FORMATS
from .params import ADVERTISED_IMAGE_FORMATS, MAX_LAYERS, max_size

CONTENT_TYPES = {"1.3.0": "text/xml; charset=utf-8",
                 "1.1.1": "application/vnd.ogc.wms_xml; charset=utf-8"}


@dataclass
class Group:
    title: str
    abstract: str = ""
    layers: list = field(default_factory=list)
    geographic: tuple = None
    bboxes: list = field(default_factory=list)


def _bounds(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def extents(layer, policy):
    """{srid: (minx, miny, maxx, maxy)} (east/north order) of the rows of the layer the user may
    view, each measured on the data in that CRS (layers.extents), or None when there are none
    (the layer then inherits its group's boxes: a restricted user never sees the whole layer's
    extent)."""
    if layer.is_vector and policy.commune_id and not policy.is_admin:
        try:  # only a member of a commune can be restricted to some rows
            source = policy.source(layer, Permission.VIEW)
        except LayerNotFound:
            return None
        boxes = source.summary().boxes
    else:
        boxes = stored_summary(layer).boxes
    return boxes if all(srid in boxes for srid in (2154, 3857, 4326)) else None


def bounding_boxes(boxes_by_srid, version):
    """[(code, minx, miny, maxx, maxy)] in each CRS's axis order for that version."""
    out = []
    for code in advertised_codes(version):
        if code == "CRS:84":
            continue  # the geographic bounding box says it
        crs = crs_for(code, version)
        box = crs.from_xy(boxes_by_srid[crs.srid])
        digits = 6 if crs.srid == 4326 else 2
        out.append((code, *(round(v, digits) for v in box)))
    return out


def legend_url(base, version, layer_name, style_name):
    """The GetLegendGraphic URL of a style (base ends with "?"); also used by the WMTS
    capabilities (wms.tiles.styles)."""
    query = urlencode({"SERVICE": "WMS", "VERSION": version, "REQUEST": "GetLegendGraphic",
                       "LAYER": layer_name, "STYLE": style_name, "FORMAT": "image/png"})
    return base + query


def layer_entry(request, layer, styles, version, base, policy):
    boxes = extents(layer, policy)
    entry_styles = []
    if not layer.is_vector:
        entry_styles = remote.advertised_styles(
            layer, lambda name: legend_url(base, version, layer.name, name))
        styles = []
    source = None
    for style in catalogue.layer_styles(layer, styles) if layer.is_vector else []:
        try:
            resolved = resolve_style(layer, style)
        except StyleError:
            continue  # a broken style is not advertised (GetMap reports it if asked)
        if resolved.attributes and not policy.is_admin:
            # Its legend as the user gets it: without the classes of columns hidden from him.
            if source is None:
                try:
                    source = decisions.source(request.user, layer.name, Permission.VIEW)
                except LayerNotFound:
                    continue
            resolved = catalogue.styled_for(source, resolved)
        width, height = legend_size(layer, resolved)
        entry_styles.append({"name": resolved.name, "title": resolved.title,
                             "legend": legend_url(base, version, layer.name, resolved.name),
                             "width": width, "height": height})
    return {
        "layer": layer, "keywords": [k for k in layer.keywords if k],
        "queryable": 1 if layer.queryable else 0,
        "geographic": tuple(round(v, 6) for v in boxes[4326]) if boxes else None,
        "bboxes": bounding_boxes(boxes, version) if boxes else [], "boxes": boxes,
        "styles": entry_styles,
        "attribution": layer.attribution,
        "metadata_url": request.build_absolute_uri(reverse("catalogue:detail", args=[layer.name])),
    }


def get_capabilities(request, params, version):
    base = request.build_absolute_uri(reverse("ows:ows")) + "?"
    policy = AccessPolicy.for_user(request.user)
    layers = list(catalogue.visible_layers(request.user).select_related("remote_layer__service")
                  .order_by("theme__order", "theme__name", "title"))
    styles = catalogue.style_rows(layers)
    groups, by_theme = [], {}
    for layer in layers:
        key = layer.theme_id
        if key not in by_theme:
            theme = layer.theme
            by_theme[key] = Group(theme.name if theme else _("Autres couches"),
                                  theme.description if theme else "")
            groups.append(by_theme[key])
        by_theme[key].layers.append(layer_entry(request, layer, styles.get(layer.pk, []),
                                                version, base, policy))
    for group in groups:
        boxes = [e["boxes"] for e in group.layers if e["boxes"]]
        if boxes:
            union = {srid: _bounds([b[srid] for b in boxes]) for srid in (2154, 3857, 4326)}
            group.geographic = tuple(round(v, 6) for v in union[4326])
            group.bboxes = bounding_boxes(union, version)
    root_geographic, root_bboxes = (-5.0, 46.0, 0.0, 49.0), []
    boxes = [e["boxes"] for g in groups for e in g.layers if e["boxes"]]
    if boxes:
        union = {srid: _bounds([b[srid] for b in boxes]) for srid in (2154, 3857, 4326)}
        root_geographic = tuple(round(v, 6) for v in union[4326])
        root_bboxes = bounding_boxes(union, version)
    intercommunality = getattr(settings, "CAPGEO_INTERCOMMUNALITY_NAME", "Cap Atlantique")
    context = {
        "version": version, "base": base, "groups": groups,
        "title": _("C@p Géo — cartes de %(name)s") % {"name": intercommunality},
        "abstract": _("Service de cartes (WMS) de la plateforme SIG C@p Géo : les couches du "
                      "catalogue que vous pouvez consulter, rendues par Mapnik."),
        "keywords": ["WMS", "C@p Géo", intercommunality],
        "crs_codes": advertised_codes(version), "root_geographic": root_geographic,
        "root_bboxes": root_bboxes, "image_formats": ADVERTISED_IMAGE_FORMATS,
        "info_formats": ADVERTISED_INFO_FORMATS, "max_size": max_size(),
        "layer_limit": MAX_LAYERS,
    }
    template = "wms/capabilities_130.xml" if version == "1.3.0" else "wms/capabilities_111.xml"
    response = HttpResponse(render_to_string(template, context, request=request),
                            content_type=CONTENT_TYPES[version])
    response["Cache-Control"] = "private, no-cache"
    return response
