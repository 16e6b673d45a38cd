"""A style's rules (layers.styles.rules_of) written as Mapnik XML: <Style> and <Rule> elements,
filters in Mapnik's expression language.

The XML is made with lxml (escaped); attribute names are columns of the layer (checked by
layers.styles.clean_definition), values are quoted for Mapnik's expression language.
"""
import math
import re

from django.utils.translation import gettext as _
from lxml import etree

from layers.styles import (COMPARISONS, SYMBOLS_DIR, StyleError, attribute_types, geometry_family,
                           is_numeric_type)


# --- Mapnik expressions ----------------------------------------------------------------------
def quote_value(value, numeric):
    """A literal for Mapnik's expression language: a number, or a single-quoted escaped string."""
    if numeric and not isinstance(value, str):
        return repr(float(value)) if isinstance(value, float) else str(int(value))
    if numeric:
        try:
            number = float(value)
            if math.isfinite(number):
                return repr(number)
        except ValueError:
            pass
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    text = text.replace("\n", " ").replace("\r", " ")
    return f"'{text}'"


def like_to_regex(pattern, wildcard="%", single="_", escape="\\"):
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == escape and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == wildcard:
            out.append(".*")
        elif char == single:
            out.append(".")
        else:
            out.append(re.escape(char))
        index += 1
    return "^" + "".join(out) + "$"


def mapnik_expression(node, types):
    """The Mapnik filter expression of a clean filter tree (types: attribute -> PostgreSQL type)."""
    op = node["op"]
    if op in ("and", "or"):
        return "(" + f" {op} ".join(mapnik_expression(a, types) for a in node["args"]) + ")"
    if op == "not":
        return f"(not {mapnik_expression(node['arg'], types)})"
    field_ = f"[{node['attribute']}]"
    numeric = is_numeric_type(types.get(node["attribute"], ""))
    if op in COMPARISONS:
        return f"({field_} {COMPARISONS[op]} {quote_value(node['value'], numeric)})"
    if op == "like":
        regex = like_to_regex(str(node["value"]), node.get("wildcard", "%"), node.get("single", "_"))
        return f"({field_}.match({quote_value(regex, False)}))"
    if op == "null":
        return f"({field_} = null)"
    if op == "between":
        return (f"({field_} >= {quote_value(node['low'], True)} and "
                f"{field_} <= {quote_value(node['high'], True)})")
    raise StyleError(_("Opérateur de filtre inconnu : « %(op)s ».") % {"op": op})


# --- Mapnik XML ------------------------------------------------------------------------------
def _fmt(number):
    return f"{float(number):g}"


def _symbolizer_element(symbolizer, family):
    kind = symbolizer["type"]
    if kind == "polygon":
        elements = []
        if symbolizer["fill"]:
            # No gamma: a gamma other than 1 makes AGG rebuild its table for every feature
            # (measured: 3x slower on 100,000 polygons).
            elements.append(etree.Element("PolygonSymbolizer", fill=symbolizer["fill"],
                                          **{"fill-opacity": _fmt(symbolizer["fill_opacity"])}))
        if symbolizer["stroke"] and symbolizer["stroke_width"] > 0:
            elements.append(_line_element(symbolizer))
        return elements
    if kind == "line":
        return [_line_element(symbolizer)]
    if kind == "point":
        attrs = {"width": _fmt(symbolizer["size"]), "height": _fmt(symbolizer["size"]),
                 "allow-overlap": "true", "ignore-placement": "true",
                 "fill-opacity": _fmt(symbolizer["fill_opacity"]),
                 "placement": "interior" if family == "polygon" else "point"}
        if symbolizer["mark"] == "circle":
            attrs["marker-type"] = "ellipse"
        else:
            attrs["file"] = str(SYMBOLS_DIR / f"{symbolizer['mark']}.svg")
        if symbolizer["fill"]:
            attrs["fill"] = symbolizer["fill"]
        else:
            attrs["fill-opacity"] = "0"
        if symbolizer["stroke"] and symbolizer["stroke_width"] > 0:
            attrs["stroke"] = symbolizer["stroke"]
            attrs["stroke-width"] = _fmt(symbolizer["stroke_width"])
        else:
            attrs["stroke-width"] = "0"
        return [etree.Element("MarkersSymbolizer", **attrs)]
    if kind == "text":
        attrs = {"face-name": symbolizer["font"], "size": _fmt(symbolizer["size"]),
                 "fill": symbolizer["color"], "placement":
                 {"polygon": "interior", "line": "line"}.get(family, "point"),
                 "avoid-edges": "false", "allow-overlap": "false"}
        if family == "point":
            attrs["dy"] = _fmt(-(symbolizer["size"] * 0.6 + 4))
        if symbolizer["halo_color"] and symbolizer["halo_radius"] > 0:
            attrs["halo-fill"] = symbolizer["halo_color"]
            attrs["halo-radius"] = _fmt(symbolizer["halo_radius"])
        element = etree.Element("TextSymbolizer", **attrs)
        element.text = f"[{symbolizer['attribute']}]"
        return [element]
    return []


def _line_element(symbolizer):
    attrs = {"stroke": symbolizer["stroke"], "stroke-width": _fmt(symbolizer["stroke_width"]),
             "stroke-opacity": _fmt(symbolizer["stroke_opacity"]),
             # miter: the SVG/SLD default, and much cheaper than round joins on dense maps.
             "stroke-linejoin": "miter"}
    if symbolizer.get("stroke_dasharray"):
        attrs["stroke-dasharray"] = ",".join(_fmt(d) for d in symbolizer["stroke_dasharray"])
    return etree.Element("LineSymbolizer", **attrs)


def rule_element(rule, types, family, with_filter=True, with_scale=True, with_text=True):
    element = etree.Element("Rule")
    if with_scale and rule.get("max_scale") not in (None, math.inf):
        etree.SubElement(element, "MaxScaleDenominator").text = _fmt(rule["max_scale"])
    if with_scale and rule.get("min_scale"):
        etree.SubElement(element, "MinScaleDenominator").text = _fmt(rule["min_scale"])
    if with_filter and rule.get("else"):
        etree.SubElement(element, "ElseFilter")
    elif with_filter and rule.get("filter"):
        etree.SubElement(element, "Filter").text = mapnik_expression(rule["filter"], types)
    for symbolizer in rule["symbolizers"]:
        if symbolizer["type"] == "text" and not with_text:
            continue
        element.extend(_symbolizer_element(symbolizer, family))
    return element


def mapnik_style(name, rules, layer):
    """A <Style> element drawing the rules for the layer's geometry family."""
    types, family = attribute_types(layer), geometry_family(layer.geometry_type)
    style = etree.Element("Style", name=name)
    # Non-label rules first (all that match draw), then labels on top.
    for rule in sorted(rules, key=lambda r: bool(r.get("label_only"))):
        style.append(rule_element(rule, types, family))
    return style
