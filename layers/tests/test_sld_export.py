"""SLD export (layers.sld_export): a valid SLD 1.1 / SE 1.1 document that imports back (layers.sld)
to the very rules Mapnik draws."""
import math

import pytest
from lxml import etree

from layers.sld import import_sld
from layers.sld_export import OGC, SE, SLD, document
from layers.styles import clean_definition, rules_of

POLYGON = {"type": "polygon", "fill": "#3a87c8", "fill_opacity": 0.8, "stroke": "#1d4f7a",
           "stroke_width": 1.5, "stroke_dasharray": [4, 2]}
LABEL = {"attribute": "nom", "font": "DejaVu Sans Bold", "size": 11, "color": "#222222",
         "halo_color": "#ffffff", "halo_radius": 1.5}

DEFINITIONS = {
    "single_with_label_and_scales": {
        "kind": "single", "symbol": [POLYGON], "label": LABEL,
        "min_scale": 1000, "max_scale": 250000},
    "categorized_with_other": {
        "kind": "categorized", "attribute": "insee",
        "categories": [
            {"value": "44069", "title": "Guérande",
             "symbol": [{"type": "polygon", "fill": "#e31a1c", "fill_opacity": 1, "stroke": None}]},
            {"value": "44055", "title": "La Baule-Escoublac",
             "symbol": [{"type": "polygon", "fill": "#1a9850", "stroke": "#000000",
                         "stroke_width": 0.5}]}],
        "other": [{"type": "polygon", "fill": "#dddddd"}]},
    "graduated": {
        "kind": "graduated", "attribute": "population", "method": "quantile",
        "breaks": [1000.0, 2500.5, 8000.0, 16000.0], "colors": ["#fee8c8", "#b30000"],
        "symbol": [{"type": "polygon", "fill": "#000000", "stroke": "#ffffff"}]},
    "points_and_lines": {
        "kind": "sld", "rules": [
            {"title": "Stations", "filter": {"op": "like", "attribute": "nom",
                                             "value": "Gare%d\\__"},
             "symbolizers": [{"type": "point", "mark": "star", "size": 14, "fill": "#ffcc00",
                              "fill_opacity": 0.5, "stroke": "#333333", "stroke_width": 2}]},
            {"title": "Sans nom", "filter": {"op": "null", "attribute": "nom"},
             "symbolizers": [{"type": "point", "mark": "triangle", "size": 6, "fill": None,
                              "stroke": "#ff0000", "stroke_width": 1}]},
            {"title": "Moyennes", "filter": {"op": "or", "args": [
                {"op": "between", "attribute": "population", "low": 100, "high": 200.5},
                {"op": "not", "arg": {"op": "!=", "attribute": "code", "value": 7}}]},
             "min_scale": 5000, "max_scale": None,
             "symbolizers": [{"type": "line", "stroke": "#7b3294", "stroke_width": 2,
                              "stroke_opacity": 0.6}]},
            {"title": "Le reste", "else": True,
             "symbolizers": [{"type": "line", "stroke": "#999999", "stroke_dasharray": [1, 3]}]},
        ]},
}


def normalized(rules):
    """Rules as they compare after an SLD round trip: literal values are text in SLD, a rule with
    no title gets its exported name, an infinite scale bound is no bound."""
    def values(node):
        if not node:
            return node
        node = dict(node)
        if "value" in node:
            node["value"] = str(node["value"])
            if node["value"].endswith(".0"):
                node["value"] = node["value"][:-2]
        for key in ("low", "high"):
            if key in node:
                node[key] = float(node[key])
        if "args" in node:
            node["args"] = [values(a) for a in node["args"]]
        if "arg" in node:
            node["arg"] = values(node["arg"])
        return node

    out = []
    for number, rule in enumerate(rules, start=1):
        max_scale = rule.get("max_scale")
        out.append({"title": rule["title"] or f"regle_{number}", "filter": values(rule["filter"]),
                    "else": rule["else"], "min_scale": rule.get("min_scale"),
                    "max_scale": None if max_scale is None or math.isinf(max_scale) else max_scale,
                    "symbolizers": rule["symbolizers"]})
    return out


@pytest.mark.parametrize("key", sorted(DEFINITIONS))
def test_an_exported_style_imports_back_to_the_same_rules(key):
    definition = clean_definition(DEFINITIONS[key])
    xml = document([("communes", [("mon_style", "Mon style", rules_of(definition), True)])])
    imported = import_sld(xml)
    assert imported.warnings == []
    assert imported.style_name == "mon_style" and imported.style_title == "Mon style"
    expected = normalized([{k: v for k, v in rule.items() if k != "label_only"}
                           for rule in rules_of(definition)])
    assert normalized(imported.definition["rules"]) == expected


def test_the_document_is_sld_110_with_se_symbolizers():
    definition = clean_definition(DEFINITIONS["categorized_with_other"])
    root = etree.fromstring(document([
        ("communes", [("par_commune", "Par commune", rules_of(definition), True),
                      ("simple", "Simple", rules_of(clean_definition(DEFINITIONS["graduated"])),
                       False)]),
    ]))
    assert root.tag == f"{{{SLD}}}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    layer = root.find(f"{{{SLD}}}NamedLayer")
    assert layer.findtext(f"{{{SE}}}Name") == "communes"
    styles = layer.findall(f"{{{SLD}}}UserStyle")
    assert [s.findtext(f"{{{SE}}}Name") for s in styles] == ["par_commune", "simple"]
    assert styles[0].findtext(f"{{{SLD}}}IsDefault") == "1"
    assert styles[1].find(f"{{{SLD}}}IsDefault") is None
    rules = styles[0].findall(f"{{{SE}}}FeatureTypeStyle/{{{SE}}}Rule")
    assert len(rules) == 3  # two categories and the other values
    equal = rules[0].find(f"{{{OGC}}}Filter/{{{OGC}}}PropertyIsEqualTo")
    assert equal.findtext(f"{{{OGC}}}PropertyName") == "insee"
    assert equal.findtext(f"{{{OGC}}}Literal") == "44069"
    assert rules[2].find(f"{{{SE}}}ElseFilter") is not None
    fill = rules[0].find(f"{{{SE}}}PolygonSymbolizer/{{{SE}}}Fill/{{{SE}}}SvgParameter")
    assert (fill.get("name"), fill.text) == ("fill", "#e31a1c")
    # SE element order inside a rule: Name, Description, Filter, scales, symbolizers.
    order = [etree.QName(child).localname for child in rules[0]]
    assert order == ["Name", "Description", "Filter", "PolygonSymbolizer"]
