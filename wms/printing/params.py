"""The print request (JSON body of POST /carte/impression/), checked with French messages.

    {"title": "…", "format": "pdf"|"png", "paper": "A4"|"A3",
     "orientation": "landscape"|"portrait", "crs": "EPSG:3857", "dpi": 150,
     "bbox": [minx, miny, maxx, maxy],          # east/north order, in crs
     "layers": [{"name": "communes", "style": "", "opacity": 1.0}, …]}   # bottom to top

Layers are only named here; which of them the user may draw is decided by the access policy when
the map is rendered (views.py), so an unknown and a forbidden layer answer the same.
"""
import json
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from maps.crs import DOMAIN
from maps.errors import PrintError
from maps.printing.ground import ground_width

MAX_BODY_BYTES = 64 * 1024
MAX_TITLE = 200
PAPERS_MM = {"A4": (210, 297), "A3": (297, 420)}
CRS_SRIDS = {"EPSG:3857": 3857, "EPSG:2154": 2154, "EPSG:4326": 4326, "CRS:84": 4326}
MIN_GROUND_METRES = 10


def max_layers():
    return int(getattr(settings, "CAPGEO_PRINT_MAX_LAYERS", 12))


def default_dpi():
    return int(getattr(settings, "CAPGEO_PRINT_DPI", 150))


def max_ground_km():
    return float(getattr(settings, "CAPGEO_PRINT_MAX_GROUND_KM", 500))


@dataclass(frozen=True)
class PrintLayer:
    name: str
    style: str = ""
    opacity: float = 1.0


@dataclass
class PrintRequest:
    title: str
    format: str
    paper: str
    orientation: str
    srid: int
    bbox: tuple
    dpi: int
    layers: list = field(default_factory=list)

    @property
    def page_mm(self):
        short, long = PAPERS_MM[self.paper]
        return (long, short) if self.orientation == "landscape" else (short, long)


def _choice(body, key, choices, default):
    value = body.get(key, default)
    if not isinstance(value, str) or value not in choices:
        raise PrintError(_("« %(key)s » vaut %(choices)s.") % {
            "key": key, "choices": _(" ou ").join(f"« {c} »" for c in choices)})
    return value


def _number(value, message):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PrintError(message)
    return float(value)


def parse_body(raw):
    """A PrintRequest from the raw request body, or PrintError."""
    if len(raw) > MAX_BODY_BYTES:
        raise PrintError(_("Demande d'impression trop volumineuse."))
    try:
        # NaN and Infinity are not JSON: refuse them at parse time too.
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        raise PrintError(_("La demande d'impression doit être un objet JSON valide.")) from None
    if not isinstance(body, dict):
        raise PrintError(_("La demande d'impression doit être un objet JSON valide."))
    return parse(body)


def _refuse_constant(name):
    raise ValueError(name)


def parse(body):
    title = body.get("title", "")
    if not isinstance(title, str):
        raise PrintError(_("Le titre doit être un texte."))
    title = " ".join(title.replace("\x00", "").split())[:MAX_TITLE]
    request = PrintRequest(
        title=title,
        format=_choice(body, "format", ("pdf", "png"), "pdf"),
        paper=_choice(body, "paper", ("A4", "A3"), "A4"),
        orientation=_choice(body, "orientation", ("landscape", "portrait"), "landscape"),
        srid=CRS_SRIDS[_choice(body, "crs", tuple(CRS_SRIDS), "EPSG:3857")],
        bbox=(), dpi=default_dpi(),
    )
    if "dpi" in body:
        dpi = _number(body["dpi"], _("« dpi » doit être un nombre entre 72 et 300."))
        if not 72 <= dpi <= 300:
            raise PrintError(_("« dpi » doit être un nombre entre 72 et 300."))
        request.dpi = int(dpi)
    request.bbox = parse_bbox(body.get("bbox"), request.srid)
    request.layers = parse_layers(body.get("layers"))
    return request


def parse_bbox(value, srid):
    message = _("L'emprise « bbox » est une liste de quatre nombres [minx, miny, maxx, maxy].")
    if not isinstance(value, list) or len(value) != 4:
        raise PrintError(message)
    minx, miny, maxx, maxy = (_number(v, message) for v in value)
    if minx >= maxx or miny >= maxy:
        raise PrintError(_("Emprise invalide : minx doit être inférieur à maxx et miny à maxy."))
    dminx, dminy, dmaxx, dmaxy = DOMAIN[srid]
    if minx < dminx or maxx > dmaxx or miny < dminy or maxy > dmaxy:
        raise PrintError(_("Emprise hors du domaine du système EPSG:%(srid)d : la carte doit "
                           "rester autour du territoire.") % {"srid": srid})
    width = ground_width((minx, miny, maxx, maxy), srid)
    if width > max_ground_km() * 1000:
        raise PrintError(_("Emprise trop grande : %(width).0f km de large, au plus %(max).0f km.")
                         % {"width": width / 1000, "max": max_ground_km()})
    if width < MIN_GROUND_METRES:
        raise PrintError(_("Emprise trop petite : moins de %(min)d mètres de large.")
                         % {"min": MIN_GROUND_METRES})
    if (maxx - minx) / (maxy - miny) > 20 or (maxy - miny) / (maxx - minx) > 20:
        raise PrintError(_("Emprise trop étirée : un côté fait plus de vingt fois l'autre."))
    return (minx, miny, maxx, maxy)


def parse_layers(value):
    if not isinstance(value, list) or not value:
        raise PrintError(_("« layers » est une liste non vide de couches "
                           "({\"name\": …, \"style\": …, \"opacity\": …})."))
    if len(value) > max_layers():
        raise PrintError(_("Trop de couches : %(count)d, au plus %(max)d par impression.")
                         % {"count": len(value), "max": max_layers()})
    layers = []
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise PrintError(_("Chaque couche est un objet avec au moins son nom (« name »)."))
        style = item.get("style") or ""
        if not isinstance(style, str):
            raise PrintError(_("Le style d'une couche est un texte."))
        opacity = _number(item.get("opacity", 1.0), _("L'opacité d'une couche est un nombre "
                                                      "entre 0 et 1."))
        if not 0 <= opacity <= 1:
            raise PrintError(_("L'opacité d'une couche est un nombre entre 0 et 1."))
        layers.append(PrintLayer(item["name"][:100], style[:100], opacity))
    return layers
