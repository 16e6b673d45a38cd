"""Import of SLD 1.0 / Symbology Encoding 1.1 documents (as QGIS exports them) into style rules.

What is translated: rules (title, ogc:Filter comparisons, Like, Null, Between, And/Or/Not,
ElseFilter, Min/MaxScaleDenominator), PolygonSymbolizer (fill, stroke with dasharray),
LineSymbolizer, PointSymbolizer with a WellKnownName mark (circle, square, triangle, star, cross, x)
and its size, TextSymbolizer (one PropertyName as label, font size/weight/style, fill, halo).
Everything else is reported in the warnings, never dropped silently; a rule whose filter cannot be
translated is skipped (drawing it unfiltered would be wrong) and reported.

The XML is parsed without DTDs, entities or network access; a document that is not an SLD is an
error with a French message.
"""
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from lxml import etree

from .styles import FONTS, StyleError, attribute_types, clean_definition

MAX_BYTES = 2 * 1024 * 1024

COMPARISONS = {
    "PropertyIsEqualTo": "=", "PropertyIsNotEqualTo": "!=", "PropertyIsLessThan": "<",
    "PropertyIsLessThanOrEqualTo": "<=", "PropertyIsGreaterThan": ">",
    "PropertyIsGreaterThanOrEqualTo": ">=",
}
REVERSED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
MARK_ALIASES = {"circle": "circle", "square": "square", "triangle": "triangle", "star": "star",
                "cross": "cross", "x": "x", "ellipse": "circle", "rectangle": "square"}
# Parts of a symbolizer that are read (the others are reported).
KNOWN_PARTS = {"Fill", "Stroke", "Graphic", "Mark", "WellKnownName", "Size", "Label", "Font",
               "Halo", "Radius", "SvgParameter", "CssParameter", "Name", "Description", "Title",
               "Abstract", "Opacity"}
IGNORED_QUIETLY = {"LabelPlacement", "PointPlacement", "AnchorPoint", "AnchorPointX",
                   "AnchorPointY", "Rotation", "Displacement", "DisplacementX", "DisplacementY"}


class _SkipRule(Exception):
    pass


@dataclass
class SldImport:
    definition: dict
    warnings: list = field(default_factory=list)
    style_name: str = ""
    style_title: str = ""


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def parse_document(text):
    """The root element of an SLD document, or StyleError (French)."""
    if isinstance(text, str):
        data = text.encode("utf-8")
    else:
        data = bytes(text)
    if not data.strip():
        raise StyleError(_("Le fichier SLD est vide."))
    if len(data) > MAX_BYTES:
        raise StyleError(_("Le fichier SLD est trop volumineux (2 Mo au plus)."))
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise StyleError(_("Le fichier SLD ne doit pas contenir de déclaration DOCTYPE ou ENTITY."))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise StyleError(_("Le fichier SLD n'est pas un document XML valide : %(error)s.")
                         % {"error": error.msg or error}) from None
    if etree.QName(root).localname != "StyledLayerDescriptor":
        raise StyleError(_("Ce document n'est pas un SLD : l'élément racine est « %(name)s » au "
                           "lieu de « StyledLayerDescriptor ».") % {"name": etree.QName(root).localname})
    return root


def _local(element):
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element, name):
    return [c for c in element if _local(c) == name]


def _child(element, name):
    found = _children(element, name)
    return found[0] if found else None


def _text(element):
    return (element.text or "").strip() if element is not None else ""


def _parameters(element):
    """{name: value} of the SvgParameter / CssParameter children."""
    out = {}
    if element is None:
        return out
    for child in element:
        if _local(child) in ("SvgParameter", "CssParameter"):
            out[child.get("name", "")] = "".join(child.itertext()).strip()
    return out


class _Importer:
    def __init__(self, layer):
        self.layer = layer
        self.types = attribute_types(layer) if layer is not None and layer.attributes else None
        self.warnings = []

    def warn(self, message, rule_title=""):
        if rule_title:
            message = _("Règle « %(rule)s » : %(message)s") % {"rule": rule_title, "message": message}
        if message not in self.warnings:
            self.warnings.append(message)

    # --- structure --------------------------------------------------------------------------
    def run(self, root):
        styles = [e for e in root.iter() if _local(e) == "UserStyle"]
        if not styles:
            raise StyleError(_("Le SLD ne contient aucun style (élément UserStyle)."))
        if len(styles) > 1:
            self.warn(_("Le SLD contient %(n)d styles : seul le premier est importé.")
                      % {"n": len(styles)})
        style = styles[0]
        rules = []
        for feature_type_style in _children(style, "FeatureTypeStyle"):
            for element in feature_type_style:
                name = _local(element)
                if name == "Rule":
                    rule = self.rule(element, len(rules) + 1)
                    if rule is not None:
                        rules.append(rule)
                elif name not in ("Name", "Description", "Title", "Abstract",
                                  "FeatureTypeName", "SemanticTypeIdentifier"):
                    self.warn(_("élément « %(name)s » non pris en charge, ignoré.") % {"name": name})
        if not rules:
            raise StyleError(_("Le SLD ne contient aucune règle utilisable."))
        name = _text(_child(style, "Name"))
        description = _child(style, "Description")
        title = _text(_child(style, "Title")) or _text(
            _child(description if description is not None else style, "Title"))
        return rules, name, title

    def rule(self, element, number):
        description = _child(element, "Description")
        title = (_text(_child(description, "Title")) if description is not None else "") \
            or _text(_child(element, "Title")) or _text(_child(element, "Name")) \
            or _("règle %(n)d") % {"n": number}
        rule = {"title": title, "filter": None, "else": False, "min_scale": None,
                "max_scale": None, "symbolizers": []}
        try:
            for child in element:
                name = _local(child)
                if name in ("Name", "Description", "Title", "Abstract", "LegendGraphic", ""):
                    continue
                if name == "Filter":
                    rule["filter"] = self.filter_root(child, title)
                elif name == "ElseFilter":
                    rule["else"] = True
                elif name == "MinScaleDenominator":
                    rule["min_scale"] = self.number(_text(child), title)
                elif name == "MaxScaleDenominator":
                    rule["max_scale"] = self.number(_text(child), title)
                elif name == "PolygonSymbolizer":
                    rule["symbolizers"].extend(self.polygon(child, title))
                elif name == "LineSymbolizer":
                    rule["symbolizers"].extend(self.line(child, title))
                elif name == "PointSymbolizer":
                    rule["symbolizers"].extend(self.point(child, title))
                elif name == "TextSymbolizer":
                    rule["symbolizers"].extend(self.text(child, title))
                else:
                    self.warn(_("« %(name)s » n'est pas pris en charge, ignoré.") % {"name": name},
                              title)
        except _SkipRule:
            return None
        if not rule["symbolizers"]:
            self.warn(_("aucun symbole utilisable, règle ignorée."), title)
            return None
        return rule

    def number(self, text, title):
        try:
            return float(text)
        except ValueError:
            self.warn(_("nombre invalide « %(text)s », ignoré.") % {"text": text}, title)
            return None

    def report_unknown(self, element, title, known=KNOWN_PARTS):
        for child in element.iter():
            name = _local(child)
            if child is element or not name or name in known or name in IGNORED_QUIETLY:
                continue
            self.warn(_("« %(name)s » n'est pas pris en charge, ignoré.") % {"name": name}, title)
        unit = element.get("uom", "")
        if unit and not unit.endswith("pixel"):
            self.warn(_("unité « %(uom)s » non prise en charge : tailles lues en pixels.")
                      % {"uom": unit.rsplit("/", 1)[-1]}, title)

    # --- symbolizers ------------------------------------------------------------------------
    def stroke(self, element, title):
        params = _parameters(element)
        out = {"stroke": params.get("stroke", "#000000"),
               "stroke_width": params.get("stroke-width", 1),
               "stroke_opacity": params.get("stroke-opacity", 1),
               "stroke_dasharray": params.get("stroke-dasharray") or None}
        for name in params:
            if name not in ("stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
                            "stroke-linejoin", "stroke-linecap", "stroke-dashoffset"):
                self.warn(_("paramètre de trait « %(name)s » non pris en charge.") % {"name": name},
                          title)
        if _child(element, "GraphicStroke") is not None:
            self.warn(_("trait à motif (GraphicStroke) non pris en charge."), title)
        return out

    def polygon(self, element, title):
        self.report_unknown(element, title)
        fill, stroke = _child(element, "Fill"), _child(element, "Stroke")
        if fill is not None and _child(fill, "GraphicFill") is not None:
            self.warn(_("remplissage à motif (GraphicFill) non pris en charge : couleur grise."),
                      title)
        symbolizer = {"type": "polygon", "fill": None, "stroke": None}
        if fill is not None:
            params = _parameters(fill)
            symbolizer["fill"] = params.get("fill", "#808080")
            symbolizer["fill_opacity"] = params.get("fill-opacity", 1)
        if stroke is not None:
            symbolizer.update(self.stroke(stroke, title))
        return [symbolizer]

    def line(self, element, title):
        self.report_unknown(element, title)
        stroke = _child(element, "Stroke")
        if stroke is None:
            return []
        return [{"type": "line", **self.stroke(stroke, title)}]

    def point(self, element, title):
        self.report_unknown(element, title, KNOWN_PARTS)
        graphic = _child(element, "Graphic")
        if graphic is None:
            return []
        mark = _child(graphic, "Mark")
        if mark is None:
            self.warn(_("symbole ponctuel sans forme simple (image externe) : cercle gris."), title)
            return [{"type": "point", "mark": "circle", "size": 8, "fill": "#808080"}]
        shape = _text(_child(mark, "WellKnownName")).lower() or "square"
        if shape not in MARK_ALIASES:
            self.warn(_("forme « %(shape)s » non prise en charge : cercle.") % {"shape": shape}, title)
        symbolizer = {"type": "point", "mark": MARK_ALIASES.get(shape, "circle"),
                      "size": self.number(_text(_child(graphic, "Size")) or "6", title) or 6,
                      "fill": None, "stroke": None}
        fill, stroke = _child(mark, "Fill"), _child(mark, "Stroke")
        if fill is not None:
            params = _parameters(fill)
            symbolizer["fill"] = params.get("fill", "#808080")
            symbolizer["fill_opacity"] = params.get("fill-opacity", 1)
        if stroke is not None:
            params = self.stroke(stroke, title)
            symbolizer["stroke"], symbolizer["stroke_width"] = params["stroke"], params["stroke_width"]
        return [symbolizer]

    def text(self, element, title):
        self.report_unknown(element, title, KNOWN_PARTS | {"PropertyName", "Literal"})
        label = _child(element, "Label")
        names = [c for c in label.iter() if _local(c) == "PropertyName"] if label is not None else []
        if len(names) != 1 or _text(label) or any((c.tail or "").strip() for c in names):
            self.warn(_("étiquette composée (texte et plusieurs attributs) non prise en charge."),
                      title)
            if not names:
                return []
        attribute = _text(names[0])
        if self.types is not None and attribute not in self.types:
            self.warn(_("l'attribut « %(name)s » de l'étiquette n'existe pas dans la couche.")
                      % {"name": attribute}, title)
            return []
        font = _parameters(_child(element, "Font"))
        family = font.get("font-family", "").lower()
        bold = font.get("font-weight", "").lower() == "bold"
        italic = font.get("font-style", "").lower() in ("italic", "oblique")
        face = "DejaVu Sans Bold" if bold else "DejaVu Sans Oblique" if italic else \
            "DejaVu Serif Book" if "serif" in family and "sans" not in family else "DejaVu Sans Book"
        assert face in FONTS
        symbolizer = {"type": "text", "attribute": attribute, "font": face,
                      "size": font.get("font-size", 10),
                      "color": _parameters(_child(element, "Fill")).get("fill", "#000000")}
        halo = _child(element, "Halo")
        if halo is not None:
            symbolizer["halo_radius"] = _text(_child(halo, "Radius")) or 1
            symbolizer["halo_color"] = _parameters(_child(halo, "Fill")).get("fill", "#ffffff")
        return [symbolizer]

    # --- filters ----------------------------------------------------------------------------
    def filter_root(self, element, title):
        operands = [c for c in element if _local(c)]
        if len(operands) != 1:
            self.warn(_("filtre vide ou multiple, règle ignorée."), title)
            raise _SkipRule
        return self.filter(operands[0], title)

    def unsupported(self, name, title):
        self.warn(_("filtre « %(name)s » non pris en charge, règle ignorée.") % {"name": name}, title)
        raise _SkipRule

    def attribute(self, element, title):
        name = _text(element)
        if self.types is not None and name not in self.types:
            self.warn(_("l'attribut « %(name)s » n'existe pas dans la couche, règle ignorée.")
                      % {"name": name}, title)
            raise _SkipRule
        return name

    def filter(self, element, title):
        name = _local(element)
        operands = [c for c in element if _local(c)]
        if name in ("And", "Or"):
            return {"op": name.lower(), "args": [self.filter(c, title) for c in operands]}
        if name == "Not" and len(operands) == 1:
            return {"op": "not", "arg": self.filter(operands[0], title)}
        if name in COMPARISONS and len(operands) == 2:
            kinds = [_local(c) for c in operands]
            op = COMPARISONS[name]
            if kinds == ["Literal", "PropertyName"]:
                operands, op = operands[::-1], REVERSED[op]
            elif kinds != ["PropertyName", "Literal"]:
                self.unsupported(name + " (" + ", ".join(kinds) + ")", title)
            return {"op": op, "attribute": self.attribute(operands[0], title),
                    "value": "".join(operands[1].itertext())}
        if name == "PropertyIsLike" and [_local(c) for c in operands] == ["PropertyName", "Literal"]:
            return {"op": "like", "attribute": self.attribute(operands[0], title),
                    "value": "".join(operands[1].itertext()),
                    "wildcard": element.get("wildCard", "*"),
                    "single": element.get("singleChar", "."),
                    "escape": element.get("escapeChar") or element.get("escape") or "!"}
        if name == "PropertyIsNull" and operands and _local(operands[0]) == "PropertyName":
            return {"op": "null", "attribute": self.attribute(operands[0], title)}
        if name == "PropertyIsBetween" and operands and _local(operands[0]) == "PropertyName":
            bounds = {}
            for boundary in operands[1:]:
                literal = _child(boundary, "Literal")
                bounds[_local(boundary)] = self.number(_text(literal), title)
            low, high = bounds.get("LowerBoundary"), bounds.get("UpperBoundary")
            if low is None or high is None:
                self.unsupported(name, title)
            return {"op": "between", "attribute": self.attribute(operands[0], title),
                    "low": low, "high": high}
        self.unsupported(name, title)


def _clean_like(node):
    """Mapnik's LIKE translation reads % and _; rewrite the SLD's own wildcards into them."""
    if node is None:
        return None
    if node.get("op") == "like":
        pattern, out, index = node["value"], [], 0
        wildcard, single, escape = node.pop("wildcard"), node.pop("single"), node.pop("escape")
        while index < len(pattern):
            char = pattern[index]
            if char == escape and index + 1 < len(pattern):
                nxt = pattern[index + 1]
                out.append("\\" + nxt if nxt in "%_\\" else nxt)
                index += 2
                continue
            out.append("%" if char == wildcard else "_" if char == single
                       else "\\" + char if char in "%_\\" else char)
            index += 1
        node["value"] = "".join(out)
    for arg in node.get("args", []):
        _clean_like(arg)
    if node.get("arg"):
        _clean_like(node["arg"])
    return node


def import_sld(text, layer=None):
    """Parse an SLD document into a clean "sld" style definition plus French warnings.

    Raises StyleError when nothing usable can be read (not XML, not an SLD, no rule).
    """
    root = parse_document(text)
    importer = _Importer(layer)
    rules, name, title = importer.run(root)
    for rule in rules:
        _clean_like(rule["filter"])
    definition = {"kind": "sld", "rules": rules, "label": None, "min_scale": None,
                  "max_scale": None}
    definition = clean_definition(definition, layer)
    return SldImport(definition, importer.warnings, name, title)
