"""Safe parsing of XML request bodies (defusedxml): no DTD, no entity, no network access.

Any DOCTYPE is refused outright, which stops external entities (XXE) and entity expansion
(billion laughs) before they are looked at; a WFS request never needs one.

Before anything reads the tree (gisserver's filter parser and the Transaction code recurse on
it), the document's depth is bounded (CAPGEO_XML_MAX_DEPTH: a filter of 1,000 nested fes:Not
would raise RecursionError) and every GML coordinate must be a finite number (NaN, Infinity or
1e400 would fail in GEOS or PostGIS). A filter given in the query string (FILTER=) is checked
the same way, on its text (check_filter_text).
"""
import math
import re
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _

from .exceptions import WFSError

WFS11 = "http://www.opengis.net/wfs"
WFS20 = "http://www.opengis.net/wfs/2.0"
OGC = "http://www.opengis.net/ogc"
FES20 = "http://www.opengis.net/fes/2.0"
GML31 = "http://www.opengis.net/gml"
GML32 = "http://www.opengis.net/gml/3.2"


def max_body_bytes():
    """The largest body the WFS reads: CAPGEO_WFS_MAX_BODY_BYTES (a QGIS transaction of many
    features easily passes Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which other forms keep)."""
    return int(getattr(settings, "CAPGEO_WFS_MAX_BODY_BYTES", 50 * 1024 * 1024))


def too_large():
    return WFSError("OperationParsingFailed", "request",
                    _("Document XML trop volumineux (%(max)d octets au plus).")
                    % {"max": max_body_bytes()})


def request_body(request):
    """The POSTed body, read from the stream up to max_body_bytes(), or
    WFSError(OperationParsingFailed) when it is larger (an XML report, not Django's 400 page).

    request.body itself refuses anything over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default):
    the bounded read is kept as the request's body, so the code after it (gisserver, the WFS 1.1
    translation) reads the same bytes through request.body."""
    if hasattr(request, "_body"):  # already read (by a middleware, within Django's limit)
        return request._body
    limit = max_body_bytes()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise too_large()
    try:
        body = request.read(limit + 1)
    except RequestDataTooBig:
        raise too_large() from None
    if len(body) > limit:
        raise too_large()
    request._body = body  # Django's own cache of request.body
    return body


def parse(body, check=True):
    """The root Element of an XML body, or WFSError(OperationParsingFailed); check=False leaves
    the depth and coordinates checks (check_tree) to the caller."""
    if not body or not body.strip():
        raise WFSError("OperationParsingFailed", "request",
                       _("Le corps de la requête POST est vide : un document XML est attendu."))
    if len(body) > max_body_bytes():
        raise too_large()
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise WFSError("OperationParsingFailed", "request",
                       _("Les déclarations DOCTYPE et les entités XML sont refusées.")) from None
    except (ParseError, ValueError) as error:
        raise WFSError("OperationParsingFailed", "request",
                       _("Document XML mal formé : %(error)s") % {"error": error}) from None
    if check:
        check_tree(root)
    return root


def max_depth():
    return int(getattr(settings, "CAPGEO_XML_MAX_DEPTH", 64))


def too_deep():
    return WFSError("OperationParsingFailed", "request",
                    _("Document XML trop imbriqué : %(max)d niveaux au plus.")
                    % {"max": max_depth()})


# GML elements holding coordinates (GML 2, 3.1.1 and 3.2), by local name.
COORDINATE_ELEMENTS = {"pos", "posList", "coordinates", "lowerCorner", "upperCorner",
                       "X", "Y", "Z"}
_NUMBER_SEPARATORS = re.compile(r"[\s,]+")


def check_coordinates(text, element="pos"):
    """WFSError if a number of a GML coordinate list is not finite (NaN, Infinity, 1e400);
    words that are not numbers at all are left to the GML parser."""
    for token in _NUMBER_SEPARATORS.split(text.strip()):
        try:
            value = float(token)
        except ValueError:
            continue
        if not math.isfinite(value):
            raise WFSError("InvalidParameterValue", element,
                           _("Coordonnée invalide dans %(element)s : « %(value)s » (un nombre "
                             "fini est attendu).") % {"element": element, "value": token[:40]})


def check_tree(root):
    """Depth and GML coordinates of a parsed document (iteratively: no recursion)."""
    limit = max_depth()
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            raise too_deep()
        if isinstance(element.tag, str):
            namespace, local = split(element.tag)
            if local in COORDINATE_ELEMENTS and "gml" in namespace and element.text:
                check_coordinates(element.text, local)
        stack.extend((child, depth + 1) for child in element)


_TAG = re.compile(r"<(/?)([A-Za-z_][^\s/>]*)[^>]*?(/?)>")


def check_filter_text(text):
    """Depth and coordinates of a FILTER given in the query string, read as text (its namespace
    prefixes may be undeclared, which gisserver accepts but an XML parser would not)."""
    limit, depth = max_depth(), 0
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.groups()
        if closing:
            depth -= 1
            continue
        if not self_closing:
            depth += 1
            if depth > limit:
                raise too_deep()
        local = name.rpartition(":")[2]
        if local in COORDINATE_ELEMENTS and not self_closing:
            end = text.find("<", match.end())
            check_coordinates(text[match.end():end if end >= 0 else None], local)


def split(tag):
    """('{ns}local') -> (ns, local)."""
    if tag.startswith("{"):
        namespace, _sep, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
