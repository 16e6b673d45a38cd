"""Styles of vector layers: the normalised definition and its rules (the map engine draws them:
maps.mapnik_xml).

A style's ``definition`` (JSON, stored on layers.models.Style) is one of:

- ``{"kind": "single", "symbol": SYMBOL}``;
- ``{"kind": "categorized", "attribute": A, "categories": [{"value", "title", "symbol"}],
  "other": SYMBOL | null}``;
- ``{"kind": "graduated", "attribute": A, "method": "equal_interval" | "quantile",
  "classes": N, "breaks": [b0 … bN], "colors": [from, to], "symbol": SYMBOL}`` (the breaks are
  computed from the data when the style is saved);
- ``{"kind": "sld", "rules": [RULE]}`` (an imported SLD, see layers.sld);

plus, for every kind, ``"label": {"attribute", "size", "color", "halo_color", "halo_radius"}``
or null, and ``"min_scale"`` / ``"max_scale"`` (scale denominators) or null.

A SYMBOL is a list of symbolizers ``{"type": "polygon" | "line" | "point" | "text", …}``; a RULE
is ``{"title", "filter", "else", "min_scale", "max_scale", "symbolizers"}`` where a filter is a
small tree: ``{"op": "=", "attribute": A, "value": V}`` (ops = != < <= > >= like null between),
``{"op": "and" | "or", "args": [...]}``, ``{"op": "not", "arg": F}``.

Everything goes through ``clean_definition`` (attribute names must be columns of the layer) then
``rules_of(definition)``; maps.mapnik_xml writes the rules as Mapnik XML.
"""
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


SYMBOLS_DIR = Path(__file__).resolve().parent / "symbols"
MARKS = ("circle", "square", "triangle", "star", "cross", "x")
DEFAULT_FONT = "DejaVu Sans Book"
FONTS = ("DejaVu Sans Book", "DejaVu Sans Bold", "DejaVu Sans Oblique", "DejaVu Serif Book")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")
COMPARISONS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
DEFAULT_FILL, DEFAULT_STROKE = "#3a87c8", "#1d4f7a"
DEFAULT_POINT_FILL, DEFAULT_LINE_STROKE = "#d7301f", "#7b3294"


class StyleError(ValidationError):
    """A style definition that cannot be drawn; the message is French and shown as is."""


# --- defaults --------------------------------------------------------------------------------
def geometry_family(geometry_type):
    """polygon, line or point for a catalogue geometry type (polygon when unknown)."""
    geometry_type = (geometry_type or "").upper()
    if "POINT" in geometry_type:
        return "point"
    if "LINE" in geometry_type:
        return "line"
    return "polygon"


def default_symbol(family, fill=DEFAULT_FILL, stroke=DEFAULT_STROKE):
    if family == "point":
        return [{"type": "point", "mark": "circle", "size": 8, "fill": fill, "fill_opacity": 1.0,
                 "stroke": "#ffffff", "stroke_width": 1.0}]
    if family == "line":
        return [{"type": "line", "stroke": fill, "stroke_width": 2.0, "stroke_opacity": 1.0,
                 "stroke_dasharray": None}]
    return [{"type": "polygon", "fill": fill, "fill_opacity": 0.8, "stroke": stroke,
             "stroke_width": 1.0, "stroke_opacity": 1.0, "stroke_dasharray": None}]


def default_definition(layer):
    """The style of a layer that has none: one symbol by geometry family."""
    family = geometry_family(layer.geometry_type)
    fill = {"point": DEFAULT_POINT_FILL, "line": DEFAULT_LINE_STROKE}.get(family, DEFAULT_FILL)
    return {"kind": "single", "symbol": default_symbol(family, fill),
            "label": None, "min_scale": None, "max_scale": None}


# --- validation ------------------------------------------------------------------------------
def attribute_types(layer):
    return {a["name"]: a.get("type", "") for a in layer.attributes}


def is_numeric_type(pgtype):
    return any(pgtype.startswith(t) for t in NUMERIC_TYPES)


def _check_attribute(name, layer):
    if not isinstance(name, str) or not name or "]" in name or "[" in name:
        raise StyleError(_("Nom d'attribut invalide : « %(name)s ».") % {"name": name})
    if layer is not None and layer.attributes and name not in attribute_types(layer):
        raise StyleError(_("« %(name)s » n'est pas un attribut de la couche.") % {"name": name})


def _color(value, default=None):
    if value is None:
        return default
    if isinstance(value, str) and COLOR_RE.match(value.strip()):
        return value.strip().lower()
    raise StyleError(_("Couleur invalide : « %(value)s » (attendu : #rrggbb).") % {"value": value})


def _number(value, default, low=0.0, high=1000.0):
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StyleError(_("Nombre invalide : « %(value)s ».") % {"value": value}) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise StyleError(_("Valeur hors limites : %(value)s.") % {"value": value})
    return number


def _dasharray(value):
    if not value:
        return None
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value.strip())
    dashes = [_number(v, 0.0, 0.0, 500.0) for v in value]
    if len(dashes) < 2 or not any(dashes):
        return None
    return dashes


def clean_symbolizer(symbolizer, layer=None):
    """A symbolizer with every field present and checked (raises StyleError)."""
    if not isinstance(symbolizer, dict):
        raise StyleError(_("Symbole invalide."))
    kind = symbolizer.get("type")
    if kind == "polygon":
        return {"type": "polygon", "fill": _color(symbolizer.get("fill")),
                "fill_opacity": _number(symbolizer.get("fill_opacity"), 1.0, 0, 1),
                "stroke": _color(symbolizer.get("stroke")),
                "stroke_width": _number(symbolizer.get("stroke_width"), 1.0, 0, 100),
                "stroke_opacity": _number(symbolizer.get("stroke_opacity"), 1.0, 0, 1),
                "stroke_dasharray": _dasharray(symbolizer.get("stroke_dasharray"))}
    if kind == "line":
        return {"type": "line", "stroke": _color(symbolizer.get("stroke"), DEFAULT_STROKE),
                "stroke_width": _number(symbolizer.get("stroke_width"), 1.0, 0, 100),
                "stroke_opacity": _number(symbolizer.get("stroke_opacity"), 1.0, 0, 1),
                "stroke_dasharray": _dasharray(symbolizer.get("stroke_dasharray"))}
    if kind == "point":
        mark = symbolizer.get("mark") or "circle"
        if mark not in MARKS:
            raise StyleError(_("Forme de symbole inconnue : « %(mark)s ».") % {"mark": mark})
        return {"type": "point", "mark": mark,
                "size": _number(symbolizer.get("size"), 8.0, 1, 200),
                "fill": _color(symbolizer.get("fill")),
                "fill_opacity": _number(symbolizer.get("fill_opacity"), 1.0, 0, 1),
                "stroke": _color(symbolizer.get("stroke")),
                "stroke_width": _number(symbolizer.get("stroke_width"), 1.0, 0, 50)}
    if kind == "text":
        _check_attribute(symbolizer.get("attribute"), layer)
        font = symbolizer.get("font") or DEFAULT_FONT
        if font not in FONTS:
            font = DEFAULT_FONT
        return {"type": "text", "attribute": symbolizer["attribute"], "font": font,
                "size": _number(symbolizer.get("size"), 10.0, 4, 100),
                "color": _color(symbolizer.get("color"), "#000000"),
                "halo_color": _color(symbolizer.get("halo_color")),
                "halo_radius": _number(symbolizer.get("halo_radius"), 0.0, 0, 20)}
    raise StyleError(_("Type de symbole inconnu : « %(type)s ».") % {"type": kind})


def clean_filter(node, layer=None, depth=0):
    if node is None:
        return None
    if depth > 20 or not isinstance(node, dict):
        raise StyleError(_("Filtre invalide."))
    op = node.get("op")
    if op in ("and", "or"):
        args = [clean_filter(arg, layer, depth + 1) for arg in node.get("args") or []]
        if not args:
            raise StyleError(_("Filtre « %(op)s » sans opérande.") % {"op": op})
        return {"op": op, "args": args}
    if op == "not":
        return {"op": "not", "arg": clean_filter(node.get("arg"), layer, depth + 1)}
    _check_attribute(node.get("attribute"), layer)
    if op in COMPARISONS or op == "like":
        value = node.get("value")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise StyleError(_("Valeur de filtre invalide."))
        if isinstance(value, float) and not math.isfinite(value):
            raise StyleError(_("Valeur de filtre invalide."))
        return {"op": op, "attribute": node["attribute"], "value": value}
    if op == "null":
        return {"op": "null", "attribute": node["attribute"]}
    if op == "between":
        low, high = node.get("low"), node.get("high")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            raise StyleError(_("Bornes de filtre invalides."))
        return {"op": "between", "attribute": node["attribute"], "low": low, "high": high}
    raise StyleError(_("Opérateur de filtre inconnu : « %(op)s ».") % {"op": op})


def _scale(value):
    return None if value in (None, "") else _number(value, None, 0, 1e12)


def clean_rule(rule, layer=None):
    symbolizers = [clean_symbolizer(s, layer) for s in rule.get("symbolizers") or []]
    return {"title": str(rule.get("title") or "")[:200],
            "filter": clean_filter(rule.get("filter"), layer),
            "else": bool(rule.get("else")),
            "min_scale": _scale(rule.get("min_scale")), "max_scale": _scale(rule.get("max_scale")),
            "symbolizers": symbolizers}


def clean_label(label, layer=None):
    if not label:
        return None
    return clean_symbolizer({"type": "text", **label}, layer)


def clean_definition(definition, layer=None):
    """The definition with every field checked and completed; raises StyleError (French)."""
    if not isinstance(definition, dict):
        raise StyleError(_("Définition de style invalide."))
    kind = definition.get("kind")
    common = {"kind": kind, "label": clean_label(definition.get("label"), layer),
              "min_scale": _scale(definition.get("min_scale")),
              "max_scale": _scale(definition.get("max_scale"))}
    if kind == "single":
        return {**common, "symbol": [clean_symbolizer(s, layer) for s in definition.get("symbol") or []]}
    if kind == "categorized":
        _check_attribute(definition.get("attribute"), layer)
        categories = []
        for category in definition.get("categories") or []:
            value = category.get("value")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise StyleError(_("Valeur de catégorie invalide."))
            categories.append({"value": value, "title": str(category.get("title") or value)[:200],
                               "symbol": [clean_symbolizer(s, layer) for s in category.get("symbol") or []]})
        if not categories:
            raise StyleError(_("Un style catégorisé demande au moins une catégorie."))
        other = definition.get("other")
        return {**common, "attribute": definition["attribute"], "categories": categories,
                "other": [clean_symbolizer(s, layer) for s in other] if other else None}
    if kind == "graduated":
        _check_attribute(definition.get("attribute"), layer)
        method = definition.get("method") or "equal_interval"
        if method not in ("equal_interval", "quantile"):
            raise StyleError(_("Méthode de classement inconnue : « %(m)s ».") % {"m": method})
        breaks = [_number(b, None, -1e15, 1e15) for b in definition.get("breaks") or []]
        if len(breaks) < 2 or breaks != sorted(breaks):
            raise StyleError(_("Les bornes des classes doivent être au moins deux, croissantes."))
        colors = [_color(c) for c in (definition.get("colors") or ["#fee8c8", "#b30000"])][:2]
        if len(colors) != 2:
            raise StyleError(_("Indiquez deux couleurs (début et fin de la rampe)."))
        return {**common, "attribute": definition["attribute"], "method": method,
                "classes": len(breaks) - 1, "breaks": breaks, "colors": colors,
                "symbol": [clean_symbolizer(s, layer) for s in definition.get("symbol") or []]}
    if kind == "sld":
        rules = [clean_rule(rule, layer) for rule in definition.get("rules") or []]
        if not rules:
            raise StyleError(_("Le style ne contient aucune règle."))
        return {**common, "rules": rules}
    raise StyleError(_("Type de style inconnu : « %(kind)s ».") % {"kind": kind})


# --- class breaks ----------------------------------------------------------------------------
def compute_breaks(grant, attribute, method, classes):
    """Class breaks of a numeric attribute over the rows the user's FeatureSource covers."""
    classes = int(classes)
    if not 1 <= classes <= 12:
        raise StyleError(_("Le nombre de classes va de 1 à 12."))
    layer = grant.layer
    _check_attribute(attribute, layer)
    if not is_numeric_type(attribute_types(layer).get(attribute, "")):
        raise StyleError(_("L'attribut « %(name)s » n'est pas numérique.") % {"name": attribute})
    if method == "quantile":
        values = grant.quantiles(attribute, [i / classes for i in range(classes + 1)])
    elif method == "equal_interval":
        values = grant.value_range(attribute)
    else:
        raise StyleError(_("Méthode de classement inconnue : « %(m)s ».") % {"m": method})
    if not values or values[0] is None:
        raise StyleError(_("L'attribut « %(name)s » n'a aucune valeur.") % {"name": attribute})
    if method == "equal_interval":
        low, high = values
        step = (high - low) / classes
        values = [low + i * step for i in range(classes)] + [high]
    return [float(v) for v in values]


def ramp(colors, count):
    """count colours from colors[0] to colors[1], evenly interpolated."""
    start = [int(colors[0][i:i + 2], 16) for i in (1, 3, 5)]
    end = [int(colors[1][i:i + 2], 16) for i in (1, 3, 5)]
    out = []
    for index in range(count):
        share = index / (count - 1) if count > 1 else 0
        out.append("#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(start, end)))
    return out


def _with_fill(symbol, color):
    """The symbol with its fill (or a line's stroke) replaced by color."""
    out = []
    for symbolizer in symbol:
        symbolizer = dict(symbolizer)
        if symbolizer["type"] in ("polygon", "point"):
            symbolizer["fill"] = color
        elif symbolizer["type"] == "line":
            symbolizer["stroke"] = color
        out.append(symbolizer)
    return out


def _format_number(value):
    return f"{value:,.6g}".replace(",", "\u202f").replace(".", ",")


# --- rules -----------------------------------------------------------------------------------
def rules_of(definition):
    """The drawing rules of a clean definition, labels last, the style's scale range applied."""
    kind = definition["kind"]
    if kind == "single":
        rules = [{"title": "", "filter": None, "else": False, "symbolizers": definition["symbol"]}]
    elif kind == "categorized":
        attribute = definition["attribute"]
        rules = [{"title": c["title"], "else": False, "symbolizers": c["symbol"],
                  "filter": {"op": "=", "attribute": attribute, "value": c["value"]}}
                 for c in definition["categories"]]
        if definition.get("other"):
            rules.append({"title": _("Autres valeurs"), "filter": None, "else": True,
                          "symbolizers": definition["other"]})
    elif kind == "graduated":
        attribute, breaks = definition["attribute"], definition["breaks"]
        colors = ramp(definition["colors"], len(breaks) - 1)
        rules = []
        for index, (low, high) in enumerate(zip(breaks, breaks[1:])):
            last = index == len(breaks) - 2
            rules.append({
                "title": f"{_format_number(low)} – {_format_number(high)}", "else": False,
                "symbolizers": _with_fill(definition["symbol"], colors[index]),
                "filter": {"op": "and", "args": [
                    {"op": ">=", "attribute": attribute, "value": low},
                    {"op": "<=" if last else "<", "attribute": attribute, "value": high}]},
            })
    else:
        rules = [dict(rule) for rule in definition["rules"]]
    if definition.get("label"):
        rules.append({"title": "", "filter": None, "else": False,
                      "symbolizers": [definition["label"]], "label_only": True})
    for rule in rules:
        rule.setdefault("min_scale", None)
        rule.setdefault("max_scale", None)
        if definition.get("min_scale") is not None:
            rule["min_scale"] = max(rule["min_scale"] or 0, definition["min_scale"])
        if definition.get("max_scale") is not None:
            rule["max_scale"] = min(rule["max_scale"] or math.inf, definition["max_scale"])
    return rules


def attributes_used(rules):
    """The attribute names the rules read (filters and labels), sorted."""
    names = set()

    def walk(node):
        if not node:
            return
        if "attribute" in node:
            names.add(node["attribute"])
        for arg in node.get("args", []):
            walk(arg)
        walk(node.get("arg"))

    for rule in rules:
        walk(rule.get("filter"))
        names.update(s["attribute"] for s in rule["symbolizers"] if s["type"] == "text")
    return sorted(names)


@dataclass
class ResolvedStyle:
    """What a renderer needs of a style: a stable identity, its rules, the attributes they read."""
    name: str
    title: str
    version: str
    rules: list
    attributes: list = field(default_factory=list)


def resolve_style(layer, style=None):
    """The ResolvedStyle of a Style row, or of the layer's built-in default when style is None."""
    if style is None:
        definition = default_definition(layer)
        name, title, version = "default", _("Style par défaut"), "builtin"
    else:
        definition = clean_definition(style.definition, layer)
        name, title, version = style.name, style.title, f"{style.pk}:{style.updated_at.isoformat()}"
    rules = rules_of(definition)
    return ResolvedStyle(name, title, version, rules, attributes_used(rules))


# --- what a user may see of a style ------------------------------------------------------------
def _reads_any(node, names):
    if not node:
        return False
    if node.get("attribute") in names:
        return True
    return any(_reads_any(arg, names) for arg in node.get("args", [])) or \
        _reads_any(node.get("arg"), names)


def restrict_style(layer, style, readable):
    """The style as drawn for a user who may read only the columns `readable` (his feature
    source's, decided by layers.access): colours, classes and labels must not tell him the values
    of a column hidden from him (docs/guide-sig.md « Droits »).

    - a rule whose filter reads a hidden column is not applied (a class of a categorized or
      graduated style on that column, an SLD rule), nor listed in the legend;
    - a label of a hidden column is not drawn;
    - the features those rules drew fall to the style's « other values » rule when it has one,
      else to the layer's default symbol (an else rule added for them): they are still drawn,
      the same way whatever their hidden value.
    The style is unchanged when it reads no hidden column."""
    readable = set(readable)
    hidden = {name for name in style.attributes if name not in readable}
    if not hidden:
        return style
    kept, dropped = [], []
    for rule in style.rules:
        if _reads_any(rule.get("filter"), hidden):
            dropped.append(rule)
            continue
        symbolizers = [s for s in rule["symbolizers"]
                       if not (s["type"] == "text" and s.get("attribute") in hidden)]
        if symbolizers:
            kept.append({**rule, "symbolizers": symbolizers})
    drawing = [rule for rule in kept if not rule.get("label_only")]
    if dropped and not any(rule.get("else") for rule in drawing):
        lows = [rule.get("min_scale") or 0 for rule in dropped]
        highs = [rule.get("max_scale") or math.inf for rule in dropped]
        fallback = {"title": _("Autres objets") if drawing else "", "filter": None, "else": True,
                    "symbolizers": default_definition(layer)["symbol"],
                    "min_scale": min(lows) or None,
                    "max_scale": None if max(highs) == math.inf else max(highs)}
        kept.insert(len(drawing), fallback)
    version = f"{style.version}|sans:{','.join(sorted(hidden))}"
    return ResolvedStyle(style.name, style.title, version, kept, attributes_used(kept))
