"""Export of styles as SLD 1.1.0 / Symbology Encoding 1.1 (what QGIS, GeoServer and MapServer read).

The document says what Mapnik draws: the style's drawing rules (layers.styles.rules_of: categories,
classes, the "other values" rule, labels, scale ranges) with their OGC filters and symbolizers.
It is the inverse of layers.sld's import, and the tests check that an exported style imports back
to the same rules. Used by the WMS GetStyles request and the style admin's download.
"""
import math

from lxml import etree

from .styles import resolve_style

SLD = "http://www.opengis.net/sld"
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: SLD, "se": SE, "ogc": OGC, "xlink": XLINK, "xsi": XSI}
SCHEMA = "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"

COMPARISONS = {"=": "PropertyIsEqualTo", "!=": "PropertyIsNotEqualTo", "<": "PropertyIsLessThan",
               "<=": "PropertyIsLessThanOrEqualTo", ">": "PropertyIsGreaterThan",
               ">=": "PropertyIsGreaterThanOrEqualTo"}
FONT_FACES = {  # our font -> (font-family, font-weight, font-style)
    "DejaVu Sans Book": ("DejaVu Sans", "normal", "normal"),
    "DejaVu Sans Bold": ("DejaVu Sans", "bold", "normal"),
    "DejaVu Sans Oblique": ("DejaVu Sans", "normal", "italic"),
    "DejaVu Serif Book": ("DejaVu Serif", "normal", "normal"),
}


def _se(parent, tag, text=None, **attributes):
    element = etree.SubElement(parent, f"{{{SE}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


def _number(value):
    """Numbers as SLD readers expect them: 2 rather than 2.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _parameters(parent, values):
    for name, value in values:
        if value is not None:
            _se(parent, "SvgParameter", _number(value) if not isinstance(value, str) else value,
                name=name)


def _fill(parent, color, opacity=1.0):
    if color:
        _parameters(_se(parent, "Fill"), [("fill", color), ("fill-opacity", opacity)])


def _stroke(parent, symbolizer):
    if not symbolizer.get("stroke"):
        return
    dashes = symbolizer.get("stroke_dasharray")
    _parameters(_se(parent, "Stroke"), [
        ("stroke", symbolizer["stroke"]), ("stroke-width", symbolizer.get("stroke_width", 1.0)),
        ("stroke-opacity", symbolizer.get("stroke_opacity")),
        ("stroke-dasharray", " ".join(_number(d) for d in dashes) if dashes else None)])


def _symbolizer(rule_element, symbolizer):
    kind = symbolizer["type"]
    if kind == "polygon":
        element = _se(rule_element, "PolygonSymbolizer")
        _fill(element, symbolizer.get("fill"), symbolizer.get("fill_opacity", 1.0))
        _stroke(element, symbolizer)
    elif kind == "line":
        _stroke(_se(rule_element, "LineSymbolizer"), symbolizer)
    elif kind == "point":
        graphic = _se(_se(rule_element, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", symbolizer["mark"])
        _fill(mark, symbolizer.get("fill"), symbolizer.get("fill_opacity", 1.0))
        _stroke(mark, symbolizer)
        _se(graphic, "Size", _number(symbolizer["size"]))
    elif kind == "text":
        element = _se(rule_element, "TextSymbolizer")
        etree.SubElement(_se(element, "Label"), f"{{{OGC}}}PropertyName").text = \
            symbolizer["attribute"]
        family, weight, style = FONT_FACES.get(symbolizer["font"], FONT_FACES["DejaVu Sans Book"])
        _parameters(_se(element, "Font"), [("font-family", family), ("font-size", symbolizer["size"]),
                                           ("font-weight", weight), ("font-style", style)])
        if symbolizer.get("halo_color") and symbolizer.get("halo_radius"):
            halo = _se(element, "Halo")
            _se(halo, "Radius", _number(symbolizer["halo_radius"]))
            _fill(halo, symbolizer["halo_color"])
        _fill(element, symbolizer["color"])


def _filter(parent, node):
    op = node["op"]
    if op in ("and", "or"):
        element = etree.SubElement(parent, f"{{{OGC}}}{op.capitalize()}")
        for arg in node["args"]:
            _filter(element, arg)
        return
    if op == "not":
        _filter(etree.SubElement(parent, f"{{{OGC}}}Not"), node["arg"])
        return
    if op == "null":
        element = etree.SubElement(parent, f"{{{OGC}}}PropertyIsNull")
        etree.SubElement(element, f"{{{OGC}}}PropertyName").text = node["attribute"]
        return
    if op == "between":
        element = etree.SubElement(parent, f"{{{OGC}}}PropertyIsBetween")
        etree.SubElement(element, f"{{{OGC}}}PropertyName").text = node["attribute"]
        for bound, value in (("LowerBoundary", node["low"]), ("UpperBoundary", node["high"])):
            boundary = etree.SubElement(element, f"{{{OGC}}}{bound}")
            etree.SubElement(boundary, f"{{{OGC}}}Literal").text = _number(value)
        return
    if op == "like":  # stored with Mapnik's wildcards: % any, _ one, backslash escapes
        element = etree.SubElement(parent, f"{{{OGC}}}PropertyIsLike", wildCard="%",
                                   singleChar="_", escapeChar="\\")
    else:
        element = etree.SubElement(parent, f"{{{OGC}}}{COMPARISONS[op]}")
    etree.SubElement(element, f"{{{OGC}}}PropertyName").text = node["attribute"]
    value = node["value"]
    etree.SubElement(element, f"{{{OGC}}}Literal").text = \
        value if isinstance(value, str) else _number(value)


def _rule(parent, rule, number):
    element = _se(parent, "Rule")
    _se(element, "Name", f"regle_{number}")
    if rule["title"]:
        _se(_se(element, "Description"), "Title", rule["title"])
    if rule.get("filter"):
        _filter(etree.SubElement(element, f"{{{OGC}}}Filter"), rule["filter"])
    elif rule.get("else"):
        _se(element, "ElseFilter")
    if rule.get("min_scale") is not None:
        _se(element, "MinScaleDenominator", _number(rule["min_scale"]))
    if rule.get("max_scale") is not None and math.isfinite(rule["max_scale"]):
        _se(element, "MaxScaleDenominator", _number(rule["max_scale"]))
    for symbolizer in rule["symbolizers"]:
        _symbolizer(element, symbolizer)


def user_style(parent, name, title, rules, is_default):
    """Append a UserStyle drawing these rules (layers.styles.rules_of)."""
    style = etree.SubElement(parent, f"{{{SLD}}}UserStyle")
    _se(style, "Name", name)
    _se(_se(style, "Description"), "Title", title)
    if is_default:
        etree.SubElement(style, f"{{{SLD}}}IsDefault").text = "1"
    feature_type_style = _se(style, "FeatureTypeStyle")
    for number, rule in enumerate(rules, start=1):
        _rule(feature_type_style, rule, number)
    return style


def document(named_layers):
    """The SLD of [(layer name, [(style name, title, rules, is_default)])] as UTF-8 bytes."""
    root = etree.Element(f"{{{SLD}}}StyledLayerDescriptor", nsmap=NSMAP, version="1.1.0")
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA)
    for layer_name, styles in named_layers:
        named = etree.SubElement(root, f"{{{SLD}}}NamedLayer")
        _se(named, "Name", layer_name)
        for name, title, rules, is_default in styles:
            user_style(named, name, title, rules, is_default)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def style_document(style):
    """The SLD of one saved Style (layers.models.Style); StyleError if it no longer validates."""
    resolved = resolve_style(style.layer, style)
    return document([(style.layer.name, [(style.name, style.title, resolved.rules,
                                          style.is_default)])])
