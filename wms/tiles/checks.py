"""Requests MapProxy would answer with a 500 (it has no exception code for them), refused first
with a WMTS 1.0 exception report (HTTP 400) and a French message: REST tile paths whose names
are not plain ASCII names, non-integer tile matrix, row, column or pixel (I, J), missing
parameters of GetTile and GetFeatureInfo."""
import re
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..wms.errors import xml_text

KVP_PATHS = {"service", "wmts", "wmts/"}
# wmts/<layer>[/<style>]/<matrix set>/<matrix>/<col>/<row>.<format> (no style: the default)
REST_TILE = re.compile(r"^wmts/(?P<layer>[^/]+)(?:/(?P<style>[^/]+))?"
                       r"(?P<rest>/[^/]+/\d{1,9}/\d{1,9}/\d{1,9}\.[a-z]{3,4})$", re.ASCII)
REST_CAPABILITIES = "wmts/1.0.0/WMTSCapabilities.xml"
REQUESTS = {"getcapabilities", "gettile", "getfeatureinfo"}
GETTILE_PARAMETERS = ("LAYER", "STYLE", "TILEMATRIXSET", "TILEMATRIX", "TILEROW", "TILECOL",
                      "FORMAT")
# MapProxy converts these with int() (a 500 on anything else): ASCII digits, 9 at most.
INTEGER_PARAMETERS = ("TILEMATRIX", "TILEROW", "TILECOL")
GETFEATUREINFO_PARAMETERS = GETTILE_PARAMETERS + ("INFOFORMAT", "I", "J")
_INTEGER = re.compile(r"[0-9]{1,9}", re.ASCII)
# Names of layers, styles and matrix sets (the catalogue's are [a-z0-9_], styles' tile layers
# "<layer>.<style>"): anything else (%FF, control characters) made MapProxy answer 500.
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}", re.ASCII)


# MapProxy's messages (WMTS ExceptionText, TMS Message), already XML-escaped: French versions.
TRANSLATIONS = [
    (re.compile(r"^The requested tile is outside the bounding box of the tile map\.$"),
     lambda: _("La tuile demandée est hors de la grille de tuiles.")),
    (re.compile(r"^unknown tilematrixset: (?P<v>.*)$", re.S),
     lambda: _("Grille de tuiles (TileMatrixSet) inconnue : %(v)s.")),
    (re.compile(r"^invalid format \((?P<v>.*)\)\. this tile set only supports \((?P<w>.*)\)$",
                re.S),
     lambda: _("Format « %(v)s » non proposé : ces tuiles sont servies en %(w)s.")),
    (re.compile(r"^unknown layer: (?P<v>.*)$", re.S),
     lambda: _("Couche ou grille inconnue, ou qui ne vous est pas accessible : %(v)s.")),
    (re.compile(r"^invalid request \((?P<v>.*)\)$", re.S),
     lambda: _("Requête de tuile invalide : %(v)s.")),
    (re.compile(r"^unknown infoformat: (?P<v>.*)$", re.S),
     lambda: _("Format d'information (INFOFORMAT) non proposé : %(v)s.")),
]
_MESSAGE = re.compile(r"(<ows:ExceptionText>|<Message>)(.*?)(</ows:ExceptionText>|</Message>)",
                      re.S)


def _french(match):
    text = match.group(2).strip()
    for pattern, template in TRANSLATIONS:
        found = pattern.match(text)
        if found:
            return match.group(1) + template() % found.groupdict() + match.group(3)
    return match.group(0)


def error_body(body):
    """An XML error document of MapProxy made well-formed (it quotes the request, control
    characters included) and in the user's language (French first)."""
    text = xml_text(body.decode("utf-8", "replace"))
    text = _MESSAGE.sub(_french, text).replace('xml:lang="en"',
                                               f"xml:lang={quoteattr(get_language() or 'fr')}")
    return text.encode("utf-8")


def exception_report(code, locator, text, status=400):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0" '
        f"xml:lang={quoteattr(get_language() or 'fr')}>"
        f"<ows:Exception exceptionCode={quoteattr(code)} locator={quoteattr(xml_text(locator))}>"
        f"<ows:ExceptionText>{escape(xml_text(text))}</ows:ExceptionText></ows:Exception>"
        "</ows:ExceptionReport>"
    )
    return HttpResponse(body, status=status, content_type="application/xml; charset=utf-8")


def refuse_bad_request(path, query):
    """An exception report for a malformed WMTS request, or None to let MapProxy answer."""
    tile = REST_TILE.match(path) if path.startswith("wmts/") else None
    if path.startswith("wmts/") and path != REST_CAPABILITIES and (
            tile is None or not all(_NAME.fullmatch(name) for name in (
                tile["layer"], tile["style"] or "default", tile["rest"].split("/")[1]))):
        return exception_report(
            "InvalidParameterValue", "path",
            _("Adresse de tuile invalide : attendu /mapproxy/wmts/<couche>/<style>/<grille>/"
              "<niveau>/<colonne>/<ligne>.png"))
    if path not in KVP_PATHS:
        return None
    params = {key.upper(): value for key, value in query.items()}
    if path == "service" and params.get("SERVICE", "").upper() not in ("", "WMTS"):
        return None  # not ours to check
    request = params.get("REQUEST", "")
    if not request:
        return exception_report("MissingParameterValue", "request",
                                _("Le paramètre REQUEST est obligatoire."))
    if request.lower() not in REQUESTS:
        return exception_report("InvalidParameterValue", "request",
                                _("Opération inconnue : %(request)s.") % {"request": request})
    if request.lower() == "getcapabilities":
        return None
    gettile = request.lower() == "gettile"
    for name in GETTILE_PARAMETERS if gettile else GETFEATUREINFO_PARAMETERS:
        if not params.get(name):
            return exception_report("MissingParameterValue", name.lower(),
                                    _("Le paramètre %(name)s est obligatoire.") % {"name": name})
    for name in INTEGER_PARAMETERS if gettile else INTEGER_PARAMETERS + ("I", "J"):
        if not _INTEGER.fullmatch(params[name]):
            return exception_report("InvalidParameterValue", name.lower(),
                                    _("%(name)s doit être un entier positif.") % {"name": name})
    return None
