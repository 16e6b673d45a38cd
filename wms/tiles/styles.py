"""Named styles in the cached tiles: the WMTS Style dimension on top of MapProxy.

MapProxy's WMTS offers one style per layer ("default"). Each other named style of a cacheable
layer is therefore configured as its own MapProxy layer and cache, "<layer>.<style>" (layer names
have no dot), and this module makes that invisible to WMTS clients:
- requests: a GetTile (KVP STYLE, or the {Style} segment of the REST template) for a named style
  is routed to that style's tile layer; "default" and the default style's own name go to the
  layer itself; an unknown style gets a WMTS exception (InvalidParameterValue, locator "style");
- capabilities: the style layers are folded back into their layer as <Style> elements, each with
  its title and a LegendURL (the WMS GetLegendGraphic of that style); each layer gets its
  catalogue abstract and keywords (MapProxy's template leaves them empty).
TMS has no style parameter: there the style layers stay separate tile maps ("<layer>.<style>").
REST URLs without a style segment (the layout before styles) keep working, as the default style.
"""
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from lxml import etree

from wms.wms.capabilities import legend_url
from maps.catalogue import layer_styles

from .checks import REST_TILE, exception_report

SEPARATOR = "."
DEFAULT = "default"
NS = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1",
      "xlink": "http://www.w3.org/1999/xlink"}


@dataclass(frozen=True)
class TileStyle:
    name: str       # the WMTS identifier: "default" for the default style
    title: str
    tile_layer: str  # the MapProxy layer holding its tiles


def tile_layer_name(layer_name, style_name=""):
    return f"{layer_name}{SEPARATOR}{style_name}" if style_name else layer_name


def catalogue_layer_name(tile_layer):
    """The catalogue layer a MapProxy layer draws (what the access policy is asked about)."""
    return tile_layer.partition(SEPARATOR)[0]


def offered_styles(layer):
    """The layer's tile styles, default first: the default style, then every other named style
    (one named "default" but not the default would be unreachable: left out)."""
    rows = layer_styles(layer)
    default, others = rows[0], rows[1:]
    styles = [TileStyle(DEFAULT, default.title if default else _("Style par défaut"), layer.name)]
    styles += [TileStyle(s.name, s.title, tile_layer_name(layer.name, s.name))
               for s in others if s.name.lower() != DEFAULT]
    return styles, (default.name if default else "")


class StyleIndex:
    """The tile styles of the layers in one MapProxy configuration."""

    def __init__(self):
        self.styles = {}         # layer name -> [TileStyle], default first
        self.default_names = {}  # layer name -> the default style's own name ("" if built-in)
        self.descriptions = {}   # layer name -> (abstract, [keywords])

    def add(self, layer, styles, default_name):
        self.styles[layer.name] = styles
        self.default_names[layer.name] = default_name
        self.descriptions[layer.name] = (layer.abstract, [k for k in layer.keywords if k])

    def tile_layer(self, layer_name, style_name):
        """The MapProxy layer of a style; None for an unknown style of a known layer; the layer
        name unchanged for a layer not in this configuration (MapProxy reports it unknown)."""
        styles = self.styles.get(layer_name)
        if styles is None:
            return layer_name
        if style_name in ("", DEFAULT, self.default_names[layer_name]):
            return layer_name
        return next((s.tile_layer for s in styles if s.name == style_name), None)



def unknown_style(layer_name, style_name):
    return exception_report(
        "InvalidParameterValue", "style",
        _("La couche « %(layer)s » n'a pas de style « %(style)s ».")
        % {"layer": layer_name[:100], "style": style_name[:100]})


def route(path, query, index):
    """(path, query string or None when unchanged) to hand to MapProxy, or an exception
    response for an unknown style. `query`: the request's parameters (a dict)."""
    match = REST_TILE.match(path)
    if match:
        layer_name, style_name = match["layer"], match["style"] or DEFAULT
        target = index.tile_layer(layer_name, style_name)
        if target is None:
            return unknown_style(layer_name, style_name)
        return f"wmts/{target}/{DEFAULT}{match['rest']}", None
    keys = {key.upper(): key for key in query}
    if query.get(keys.get("REQUEST"), "").lower() == "gettile" and "LAYER" in keys:
        layer_name, style_name = query[keys["LAYER"]], query.get(keys.get("STYLE"), "")
        target = index.tile_layer(layer_name, style_name)
        if target is None:
            return unknown_style(layer_name, style_name)
        routed = {**query, keys["LAYER"]: target, keys.get("STYLE", "STYLE"): DEFAULT}
        return path, urlencode(routed)
    return path, None


def fold_capabilities(xml, index, ows_url):
    """The WMTS capabilities with each layer's styles as <Style> elements and the style layers
    themselves removed."""
    root = etree.fromstring(xml)
    contents = root.find("wmts:Contents", NS)
    if contents is None:
        return xml
    for element in contents.findall("wmts:Layer", NS):
        identifier = element.findtext("ows:Identifier", namespaces=NS)
        if identifier in index.styles:
            _describe(element, *index.descriptions[identifier])
            _replace_styles(element, identifier, index, ows_url)
        elif catalogue_layer_name(identifier) in index.styles:
            contents.remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _describe(element, abstract, keywords):
    node = element.find("ows:Abstract", NS)
    if node is None:
        return
    node.text = abstract or None
    if keywords:
        holder = etree.Element(f"{{{NS['ows']}}}Keywords")
        for keyword in keywords:
            etree.SubElement(holder, f"{{{NS['ows']}}}Keyword").text = keyword
        node.addnext(holder)  # ows:Abstract, ows:Keywords, ows:WGS84BoundingBox… (OWS order)


def _replace_styles(element, layer_name, index, ows_url):
    old = element.findall("wmts:Style", NS)
    position = element.index(old[0]) if old else len(element)
    for style in old:
        element.remove(style)
    default_name = index.default_names[layer_name]
    for offset, style in enumerate(index.styles[layer_name]):
        node = etree.Element(f"{{{NS['wmts']}}}Style")
        if style.name == DEFAULT:
            node.set("isDefault", "true")
        etree.SubElement(node, f"{{{NS['ows']}}}Title").text = style.title
        etree.SubElement(node, f"{{{NS['ows']}}}Identifier").text = style.name
        wms_style = default_name if style.name == DEFAULT else style.name
        legend = etree.SubElement(node, f"{{{NS['wmts']}}}LegendURL")
        legend.set("format", "image/png")
        legend.set(f"{{{NS['xlink']}}}href", legend_url(ows_url + "?", "1.3.0", layer_name,
                                                        wms_style))
        element.insert(position + offset, node)
