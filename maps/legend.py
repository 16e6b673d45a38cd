"""Legends of catalogue styles: one entry per rule of a style, a swatch drawn by Mapnik and the
rule's title (for GetLegendGraphic, capabilities sizes and prints).

Legends depend only on the style (never on rows), and are cached per process and style version.
"""
import io
import json
import threading
from collections import OrderedDict
from types import SimpleNamespace

from django.utils.translation import gettext as _
from lxml import etree
from PIL import Image, ImageDraw

from layers.styles import attribute_types, default_definition, geometry_family, rules_of

from .crs import PROJ
from .mapnik_env import mapnik
from .mapnik_xml import rule_element
from .picture import font

SWATCH = 20
PADDING, GAP, ROW_GAP = 4, 6, 4
TEXT_SIZE = 12
CACHE_SIZE = 128
_cache, _lock = OrderedDict(), threading.Lock()


def clear_cache():
    with _lock:
        _cache.clear()


def entries(layer, style):
    """[(title, rule)] shown in the legend (label-only rules are not)."""
    rules = [rule for rule in style.rules if not rule.get("label_only")]
    if len(rules) == 1 and not rules[0]["title"]:
        return [(style.title if style.version != "builtin" else layer.title, rules[0])]
    return [(rule["title"] or _("(sans titre)"), rule) for rule in rules]


def legend_size(layer, style, swatch=SWATCH):
    """(width, height) of the legend image, without drawing it (for capabilities)."""
    return _size([title for title, _rule in entries(layer, style)], swatch)


def _size(texts, swatch):
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    texts = texts or [""]
    text_width = max(int(measure.textlength(text, font=font(TEXT_SIZE))) for text in texts)
    row = max(swatch, TEXT_SIZE + 4)
    width = PADDING * 2 + swatch + GAP + max(text_width, 10)
    height = PADDING * 2 + len(texts) * row + (len(texts) - 1) * ROW_GAP
    return width, height


def _swatch_geometry(family, size):
    inset = 2
    if family == "point":
        return {"type": "Point", "coordinates": [size / 2, size / 2]}
    if family == "line":
        return {"type": "LineString", "coordinates": [[inset, size * 0.3], [size * 0.4, size * 0.7],
                                                      [size * 0.6, size * 0.3], [size - inset, size * 0.7]]}
    return {"type": "Polygon", "coordinates": [[[inset, inset], [size - inset, inset],
                                                [size - inset, size - inset], [inset, size - inset],
                                                [inset, inset]]]}


def swatch(layer, rule, size):
    """The rule drawn on a geometry of the layer's family (for a legend)."""
    family = geometry_family(layer.geometry_type)
    root = etree.Element("Map", srs=PROJ[2154])
    style = etree.SubElement(root, "Style", name="swatch")
    style.append(rule_element(rule, attribute_types(layer), family, with_filter=False,
                              with_scale=False, with_text=False))
    map_layer = etree.SubElement(root, "Layer", name="swatch", srs=PROJ[2154])
    etree.SubElement(map_layer, "StyleName").text = "swatch"
    datasource = etree.SubElement(map_layer, "Datasource")
    feature = {"type": "Feature", "properties": {}, "geometry": _swatch_geometry(family, size)}
    etree.SubElement(datasource, "Parameter", name="type").text = "geojson"
    etree.SubElement(datasource, "Parameter", name="inline").text = json.dumps(
        {"type": "FeatureCollection", "features": [feature]})
    map_ = mapnik.Map(size, size)
    mapnik.load_map_from_string(map_, etree.tostring(root, encoding="unicode"))
    map_.zoom_to_box(mapnik.Box2d(0, 0, size, size))
    image = mapnik.Image(size, size)
    mapnik.render(map_, image)
    return Image.open(io.BytesIO(image.to_string("png32"))).convert("RGBA")


def draw_legend(layer, style, size=SWATCH):
    return _compose([(title, swatch(layer, rule, size)) for title, rule in entries(layer, style)],
                    size)


def _compose(rows, size):
    """The legend PNG of [(title, swatch image)]."""
    width, height = _size([title for title, _swatch in rows], size)
    picture = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(picture)
    row = max(size, TEXT_SIZE + 4)
    y = PADDING
    for title, image in rows:
        picture.alpha_composite(image, (PADDING, y + (row - size) // 2))
        draw.text((PADDING + size + GAP, y + row / 2), title, fill=(30, 30, 30, 255),
                  font=font(TEXT_SIZE), anchor="lm")
        y += row + ROW_GAP
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def family_titles():
    return (("polygon", _("Surfaces")), ("line", _("Lignes")), ("point", _("Points")))


def builtin_families_legend(size=SWATCH):
    """The legend of the built-in default style for each geometry family: how the features of
    a remote WFS layer are drawn (maps.sources.wfs), whatever their geometry."""
    rows = []
    for family, title in family_titles():
        stand_in = SimpleNamespace(geometry_type=family.upper(), attributes=[])
        rows.append((title, swatch(stand_in, rules_of(default_definition(stand_in))[0], size)))
    return _compose(rows, size)


def builtin_families_legend_size(size=SWATCH):
    return _size([title for _family, title in family_titles()], size)


def cached_legend(served, size):
    layer = served.layer
    key = (layer.pk, layer.updated_at, layer.geometry_type, served.style_version, size)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    png = draw_legend(layer, served.resolved_style(), size)
    with _lock:
        _cache[key] = png
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return png
