"""The report's maps: catalogue layers around the installation, drawn by the WMS renderer.

Two extracts: a *situation* map (the commune, settings.SPANC_REPORT_SITUATION_LAYERS, default
``communes``) and a *detail* map at 1:5 000 (settings.SPANC_REPORT_DETAIL_LAYERS, default
``parcelles``), the latter only when one of its layers exists and may be viewed.

Layers are read through the access policy of the person who downloads the report, like a GetMap
of theirs: a layer they may not view is left out. Each layer is drawn with its style named
``rapport`` when it has one, else with a light print style (reports are often printed in grey).
The installation is not a catalogue row to filter: it is the report's subject, drawn on top as a
marker.
"""
import datetime
import json
from dataclasses import dataclass

from django.conf import settings

from layers.access import AccessPolicy
from layers.models import Style
from layers.styles import StyleError, geometry_family, resolve_style
from maps import catalogue, renderer
from maps.crs import PROJ, crs_for
from maps.errors import MapError
from maps.mapnik_env import mapnik

SITUATION_LAYERS = ("communes",)
DETAIL_LAYERS = ("parcelles",)
REPORT_STYLE_NAME = "rapport"
WIDTH, HEIGHT = 1000, 620       # pixels; printed 16 cm wide (about 160 dpi)
DETAIL_SPAN = 800.0             # metres across: 1:5 000 printed 16 cm wide
SITUATION_MARGIN = 0.08         # share of the commune's extent added around it
BACKGROUND = (236, 240, 243, 255)
MARKER_FILL, MARKER_STROKE = "#c0392b", "#ffffff"
# A fixed "updated_at" for the built-in print styles: the renderer's Map cache keys on it.
BUILTIN_VERSION = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
LABEL = {"size": 13, "color": "#2c3e50", "halo_color": "#ffffff", "halo_radius": 2}
LABEL_ATTRIBUTES = ("nom", "name", "libelle", "numero")

PRINT_SYMBOLS = {
    "polygon": [{"type": "polygon", "fill": "#ffffff", "fill_opacity": 0.85, "stroke": "#5d6d7e",
                 "stroke_width": 1.2}],
    "line": [{"type": "line", "stroke": "#7f8c8d", "stroke_width": 1.0}],
    "point": [{"type": "point", "mark": "circle", "size": 6, "fill": "#7f8c8d",
               "stroke": "#ffffff", "stroke_width": 0.8}],
}


@dataclass
class MapExtract:
    png: bytes
    box: tuple          # (minx, miny, maxx, maxy) Lambert-93
    layers: list        # catalogue Layer rows drawn
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def scale(self):
        """The scale denominator once printed PRINT_WIDTH_CM wide."""
        return (self.box[2] - self.box[0]) / (PRINT_WIDTH_CM / 100)


PRINT_WIDTH_CM = 16


def _print_style(layer):
    family = geometry_family(layer.geometry_type)
    label_attribute = next((a for a in LABEL_ATTRIBUTES
                            if any(col.get("name") == a for col in layer.attributes or [])), None)
    style = Style(layer=layer, name="impression", title="Impression", updated_at=BUILTIN_VERSION,
                  definition={"kind": "single", "min_scale": None, "max_scale": None,
                              "label": {"attribute": label_attribute, **LABEL}
                              if label_attribute and family == "polygon" else None,
                              "symbol": PRINT_SYMBOLS[family]})
    style.pk = 0  # part of the renderer's cache key ("0:<version>"); never saved
    return style


def _style_for(layer):
    for style in getattr(layer, "loaded_styles", []):
        if style.name == REPORT_STYLE_NAME:
            try:
                resolve_style(layer, style)
                return style
            except StyleError:
                break  # a broken report style must not break the report
    return _print_style(layer)


def served_layers(user, names):
    """The layers the user may view, bottom first (unknown or hidden ones left out)."""
    policy = AccessPolicy.for_user(user)
    served = []
    for name in names:
        try:
            grant = catalogue.grant_for(policy, name)
        except MapError:
            continue
        served.append(catalogue.ServedLayer(grant, _style_for(grant.layer)))
    return served


def _marker_map(point, width, height):
    geojson = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]}}]})
    escaped = geojson.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
    <Map srs="{PROJ[2154]}">
      <Style name="marker"><Rule>
        <MarkersSymbolizer marker-type="ellipse" width="28" height="28" fill="{MARKER_FILL}"
          fill-opacity="0.25" stroke="{MARKER_FILL}" stroke-width="2" allow-overlap="true"
          ignore-placement="true"/>
        <MarkersSymbolizer marker-type="ellipse" width="12" height="12" fill="{MARKER_FILL}"
          stroke="{MARKER_STROKE}" stroke-width="2" allow-overlap="true" ignore-placement="true"/>
      </Rule></Style>
      <Layer name="installation" srs="{PROJ[2154]}"><StyleName>marker</StyleName>
        <Datasource><Parameter name="type">geojson</Parameter>
          <Parameter name="inline">{escaped}</Parameter></Datasource></Layer>
    </Map>"""
    map_ = mapnik.Map(width, height)
    mapnik.load_map_from_string(map_, xml)
    map_.aspect_fix_mode = mapnik.aspect_fix_mode.RESPECT
    return map_


def centred_box(point, span, width=WIDTH, height=HEIGHT):
    half_x = span / 2
    half_y = half_x * height / width
    return (point.x - half_x, point.y - half_y, point.x + half_x, point.y + half_y)


def situation_box(installation, width=WIDTH, height=HEIGHT):
    """The commune's extent (and the point, wherever it is) with a margin, at the image's ratio."""
    minx, miny, maxx, maxy = installation.commune.geom.extent
    point = installation.location
    minx, miny = min(minx, point.x), min(miny, point.y)
    maxx, maxy = max(maxx, point.x), max(maxy, point.y)
    span_x = (maxx - minx) * (1 + 2 * SITUATION_MARGIN) or DETAIL_SPAN
    span_y = (maxy - miny) * (1 + 2 * SITUATION_MARGIN) or DETAIL_SPAN
    span_x = max(span_x, span_y * width / height)
    span_y = span_x * height / width
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    return (cx - span_x / 2, cy - span_y / 2, cx + span_x / 2, cy + span_y / 2)


def render(served, installation, box, width=WIDTH, height=HEIGHT):
    image = renderer.render(served, crs_for("EPSG:2154", "1.3.0"), box, width, height,
                            BACKGROUND)
    marker = _marker_map(installation.location, width, height)
    marker.zoom_to_box(mapnik.Box2d(*box))
    image.premultiply()  # mapnik.render expects a premultiplied image (see maps.renderer)
    mapnik.render(marker, image)
    return MapExtract(image.to_string("png"), box, [s.layer for s in served], width, height)


def situation_map(user, installation):
    names = getattr(settings, "SPANC_REPORT_SITUATION_LAYERS", SITUATION_LAYERS)
    return render(served_layers(user, names), installation, situation_box(installation))


def detail_map(user, installation):
    """The 1:5 000 extract, or None when none of its layers may be drawn for this user."""
    names = getattr(settings, "SPANC_REPORT_DETAIL_LAYERS", DETAIL_LAYERS)
    served = served_layers(user, names)
    if not served:
        return None
    situation = served_layers(user, getattr(settings, "SPANC_REPORT_SITUATION_LAYERS",
                                            SITUATION_LAYERS))
    return render(situation + served, installation,
                  centred_box(installation.location, DETAIL_SPAN))
