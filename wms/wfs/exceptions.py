"""OGC exception reports of the WFS, in French.

Every error the WFS answers is an ``ows:ExceptionReport version="2.0.0"`` with an exceptionCode,
a non-empty locator and a French ExceptionText. django-gisserver's own exceptions (English
messages) are converted here: known messages are translated, others get a French lead sentence
followed by the original detail.
"""
import re
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..wms.errors import xml_text

STATUS = {
    "OperationNotSupported": 400,
    "OperationParsingFailed": 400,
    "MissingParameterValue": 400,
    "InvalidParameterValue": 400,
    "VersionNegotiationFailed": 400,
    "OptionNotSupported": 400,
    "InvalidValue": 400,
    "NotFound": 404,
    "PermissionDenied": 403,
    "OperationProcessingFailed": 500,
}


class WFSError(Exception):
    """An error answered as an OGC exception report (raised by the C@p Géo parts of the WFS)."""

    def __init__(self, code, locator, text, status=None, authenticate=False):
        super().__init__(text)
        self.code, self.locator, self.text = code, locator or code, text
        self.status = status or STATUS.get(code, 400)
        self.authenticate = authenticate  # add WWW-Authenticate: the client may log in and retry

    def response(self, version="2.0.0"):
        return exception_response(self.code, self.locator, self.text, self.status,
                                  authenticate=self.authenticate, version=version)


def exception_report(code, locator, text, version="2.0.0"):
    # Messages quote what the client sent: U+0001 would make the report unreadable.
    code, locator, text = xml_text(code), xml_text(locator or code), xml_text(text)
    language = quoteattr(get_language() or "fr")  # the language the text was written in
    if version == "1.1.0":
        # WFS 1.1.0 answers with an OWS 1.0.0 report (namespace without version).
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.opengis.net/ows '
            'http://schemas.opengis.net/ows/1.0.0/owsExceptionReport.xsd" '
            f'language={language} version="1.0.0">\n'
            f"  <ows:Exception exceptionCode={quoteattr(code)} locator={quoteattr(locator or code)}>\n"
            f"    <ows:ExceptionText>{escape(text)}</ows:ExceptionText>\n"
            "  </ows:Exception>\n"
            "</ows:ExceptionReport>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/ows/1.1 '
        'http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd" '
        f'xml:lang={language} version="2.0.0">\n'
        f"  <ows:Exception exceptionCode={quoteattr(code)} locator={quoteattr(locator or code)}>\n"
        f"    <ows:ExceptionText>{escape(text)}</ows:ExceptionText>\n"
        "  </ows:Exception>\n"
        "</ows:ExceptionReport>\n"
    )


def exception_response(code, locator, text, status=None, authenticate=False, version="2.0.0"):
    response = HttpResponse(exception_report(code, locator, text, version),
                            status=status or STATUS.get(code, 400),
                            content_type="text/xml; charset=utf-8")
    if authenticate:
        response["WWW-Authenticate"] = 'Basic realm="C@p Géo", charset="UTF-8"'
    return response


# gisserver messages worth a full French translation: (pattern, French template).
TRANSLATIONS = [
    (re.compile(r"^Typename '(?P<v>.*)' doesn't exist in this server\.$", re.S),
     lambda: _("Le type d'objets « %(v)s » n'existe pas sur ce serveur, ou vous n'y avez pas "
               "accès.")),
    (re.compile(r"^'(?P<v>.*)' is not a permitted output format for this operation\.$", re.S),
     lambda: _("Le format de sortie « %(v)s » n'est pas proposé pour cette opération.")),
    (re.compile(r"^Missing required '(?P<v>.*)' parameter\.$", re.S),
     lambda: _("Le paramètre « %(v)s » est obligatoire.")),
    (re.compile(r"^Feature not found\.?$"),
     lambda: _("Aucun objet ne porte cet identifiant, ou vous n'y avez pas accès.")),
    (re.compile(r"^'(?P<v>.*)' is not implemented, supported are: (?P<w>.*)\.$", re.S),
     lambda: _("L'opération « %(v)s » n'est pas proposée ; opérations disponibles : %(w)s.")),
    (re.compile(r"^Feature '(?P<v>.*)' does not support CRS '(?P<w>.*)'\.$", re.S),
     lambda: _("Le système de coordonnées « %(w)s » n'est pas proposé pour « %(v)s » "
               "(EPSG:2154, EPSG:4326, EPSG:3857).")),
    (re.compile(r"^This server does not support (?P<v>\w+) version (?P<w>[^ ]*)\.$", re.S),
     lambda: _("Le %(v)s version %(w)s n'est pas proposé ici : demandez la version 2.0.0 "
               "(ou 1.1.0).")),
]

LEADS = {
    "InvalidParameterValue": lambda: _("Valeur de paramètre invalide"),
    "MissingParameterValue": lambda: _("Paramètre manquant"),
    "OperationParsingFailed": lambda: _("Requête illisible"),
    "OperationNotSupported": lambda: _("Opération non prise en charge"),
    "OptionNotSupported": lambda: _("Option non prise en charge"),
    "VersionNegotiationFailed": lambda: _("Version non prise en charge (2.0.0 et 1.1.0 sont "
                                          "proposées)"),
    "NotFound": lambda: _("Objet introuvable"),
    "PermissionDenied": lambda: _("Accès refusé"),
    "OperationProcessingFailed": lambda: _("Le serveur n'a pas pu traiter la requête"),
}


def french_text(code, text):
    text = (text or "").strip()
    for pattern, template in TRANSLATIONS:
        match = pattern.match(text)
        if match:
            return template() % match.groupdict()
    lead = LEADS.get(code, lambda: _("Erreur"))()
    return f"{lead} : {text}" if text else f"{lead}."


def from_gisserver(exc):
    """A WFSError from one of django-gisserver's OWSException."""
    code = exc.code or "OperationProcessingFailed"
    status = exc.status_code if exc.status_code in (400, 403, 404, 500) else STATUS.get(code, 400)
    return WFSError(code, exc.locator or code, french_text(code, exc.text), status)
