"""Safe parsing of XML request bodies (defusedxml): no DTD, no entity, no network access.

Any DOCTYPE is refused outright, which stops external entities (XXE) and entity expansion
(billion laughs) before they are looked at; a WFS request never needs one.
"""
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.utils.translation import gettext as _

from .exceptions import WFSError

WFS11 = "http://www.opengis.net/wfs"
WFS20 = "http://www.opengis.net/wfs/2.0"
OGC = "http://www.opengis.net/ogc"
FES20 = "http://www.opengis.net/fes/2.0"
GML31 = "http://www.opengis.net/gml"
GML32 = "http://www.opengis.net/gml/3.2"


def max_body_bytes():
    return int(getattr(settings, "CAPGEO_WFS_MAX_BODY_BYTES", 50 * 1024 * 1024))


def parse(body):
    """The root Element of an XML body, or WFSError(OperationParsingFailed)."""
    if not body or not body.strip():
        raise WFSError("OperationParsingFailed", "request",
                       _("Le corps de la requête POST est vide : un document XML est attendu."))
    if len(body) > max_body_bytes():
        raise WFSError("OperationParsingFailed", "request",
                       _("Document XML trop volumineux (%(max)d octets au plus).")
                       % {"max": max_body_bytes()})
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise WFSError("OperationParsingFailed", "request",
                       _("Les déclarations DOCTYPE et les entités XML sont refusées.")) from None
    except (ParseError, ValueError) as error:
        raise WFSError("OperationParsingFailed", "request",
                       _("Document XML mal formé : %(error)s") % {"error": error}) from None


def split(tag):
    """('{ns}local') -> (ns, local)."""
    if tag.startswith("{"):
        namespace, _sep, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
