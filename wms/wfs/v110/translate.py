"""WFS 1.1.0 requests rewritten as the WFS 2.0.0 requests django-gisserver parses.

The two versions ask the same questions with other words: TYPENAME/TYPENAMES,
MAXFEATURES/COUNT, FEATUREID/RESOURCEID, NAMESPACE/NAMESPACES, SORTBY "A|D"/"ASC|DESC", and
Filter Encoding 1.1 (namespace http://www.opengis.net/ogc: PropertyName, FeatureId fid=…,
PropertyIsLike escape=…, Distance units=…) for FES 2.0 (ValueReference, ResourceId rid=…,
escapeChar=…, uom=…). GML 3.1.1 operands are kept as they are: wms.wfs.view registers them.

The 1.1.0 axis-order rule is kept by the rewriting itself: a KVP BBOX becomes a
gml:Envelope carrying the BBOX's srsName, so "EPSG:4326" is read longitude/latitude and
"urn:ogc:def:crs:EPSG::4326" latitude/longitude, like GML operands and like GeoServer.
"""
import re
from io import BytesIO
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml.ElementTree import iterparse
from django.utils.translation import gettext as _

from ..exceptions import WFSError
from ..xml import FES20, GML31, GML32, OGC, WFS11, WFS20, split

XSI = "http://www.w3.org/2001/XMLSchema-instance"
GML311 = "text/xml; subtype=gml/3.1.1"
# Legacy URN spelling of older clients (GeoServer's own 1.1.0 capabilities use it).
X_OGC_URN = re.compile(r"^urn:x-ogc:def:crs:EPSG:(?:[0-9.]*:)?(\d+)$", re.I)

KVP_RENAMES = {"TYPENAME": "TYPENAMES", "MAXFEATURES": "COUNT", "FEATUREID": "RESOURCEID",
               "NAMESPACE": "NAMESPACES"}
# FES 1.1 elements whose FES 2.0 name differs.
ELEMENT_RENAMES = {"PropertyName": "ValueReference"}
ATTRIBUTE_RENAMES = {"PropertyIsLike": {"escape": "escapeChar"}, "Distance": {"units": "uom"}}


def srs_name(value):
    """The srsName spelled so gisserver reads it (urn:x-ogc:… -> urn:ogc:…)."""
    value = (value or "").strip()
    match = X_OGC_URN.match(value)
    return f"urn:ogc:def:crs:EPSG::{match.group(1)}" if match else value


def output_format(value):
    """`text/xml; subtype="gml/3.1.1"` (GDAL quotes it) -> `text/xml; subtype=gml/3.1.1`."""
    return re.sub(r"\s*;\s*", "; ", value.replace('"', "").strip())


def kvp(params):
    """The 2.0.0 KVP of a 1.1.0 KVP request (params: upper-cased names)."""
    if "STOREDQUERY_ID" in params:
        raise WFSError("InvalidParameterValue", "storedQuery_id",
                       _("Les requêtes stockées n'existent qu'en WFS 2.0.0 (VERSION=2.0.0)."))
    result = {}
    for name, value in params.items():
        result[KVP_RENAMES.get(name, name)] = value
    result["VERSION"] = "2.0.0"
    if result.get("PROPERTYNAME", "").strip() in ("*", ""):
        result.pop("PROPERTYNAME", None)  # every property (OWSLib always sends "*")
    result.pop("ACCEPTVERSIONS", None)
    if result.get("NAMESPACES"):
        # 1.1.0 writes xmlns(prefix=uri), 2.0.0 xmlns(prefix,uri).
        result["NAMESPACES"] = re.sub(r"xmlns\((\w*)=", r"xmlns(\1,", result["NAMESPACES"])
    if result.get("SRSNAME"):
        result["SRSNAME"] = srs_name(result["SRSNAME"])
    if result.get("OUTPUTFORMAT"):
        result["OUTPUTFORMAT"] = output_format(result["OUTPUTFORMAT"])
    elif result.get("REQUEST", "").lower() == "getfeature":
        result["OUTPUTFORMAT"] = GML311  # 1.1.0's default (gisserver's would be GML 3.2)
    if result.get("SORTBY"):
        result["SORTBY"] = sort_by(result["SORTBY"])
    if result.get("FILTER"):
        if result.get("BBOX") or result.get("RESOURCEID"):
            raise WFSError("InvalidParameterValue", "filter",
                           _("FILTER ne se combine ni avec BBOX ni avec FEATUREID."))
        result["FILTER"] = filter_text(result["FILTER"])
    elif result.get("BBOX"):
        if result.get("RESOURCEID"):
            raise WFSError("InvalidParameterValue", "bbox",
                           _("BBOX ne se combine pas avec FEATUREID."))
        result["FILTER"] = bbox_filter(result.pop("BBOX"))
    return result


def sort_by(value):
    """`nom D,numero` (1.1.0: A or D) -> `nom DESC,numero` (2.0.0: ASC or DESC)."""
    parts = []
    for item in value.split(","):
        words = item.split()
        if len(words) == 2 and words[1].upper() in ("A", "D"):
            words[1] = "ASC" if words[1].upper() == "A" else "DESC"
        parts.append(" ".join(words))
    return ",".join(parts)


def bbox_filter(value):
    """A KVP BBOX (minx,miny,maxx,maxy[,crs]) as an FES 2.0 filter with a GML 3.1.1 envelope."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) not in (4, 5):
        raise WFSError("InvalidParameterValue", "bbox",
                       _("BBOX attend quatre nombres séparés par des virgules, suivis "
                         "éventuellement du système de coordonnées."))
    try:
        numbers = [float(part) for part in parts[:4]]
    except ValueError:
        raise WFSError("InvalidParameterValue", "bbox",
                       _("BBOX contient une valeur qui n'est pas un nombre.")) from None
    if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
        raise WFSError("InvalidParameterValue", "bbox", _("BBOX contient une valeur non finie."))
    root = Element(f"{{{FES20}}}Filter")
    envelope = SubElement(SubElement(root, f"{{{FES20}}}BBOX"), f"{{{GML31}}}Envelope")
    if len(parts) == 5:
        envelope.set("srsName", srs_name(parts[4]))
    SubElement(envelope, f"{{{GML31}}}lowerCorner").text = f"{numbers[0]!r} {numbers[1]!r}"
    SubElement(envelope, f"{{{GML31}}}upperCorner").text = f"{numbers[2]!r} {numbers[3]!r}"
    return tostring(root, encoding="unicode")


# --- XML ----------------------------------------------------------------------------------------
def parse_with_prefixes(data):
    """(root, {prefix: namespace}) of an XML text, parsed safely (no DTD, no entity)."""
    if isinstance(data, str):
        data = data.encode()
    prefixes, root = {}, None
    try:
        for event, item in iterparse(BytesIO(data), events=("start-ns", "start"),
                                     forbid_dtd=True, forbid_entities=True,
                                     forbid_external=True):
            if event == "start-ns":
                prefixes.setdefault(item[0], item[1])
            elif root is None:
                root = item
    except Exception as error:  # ParseError, DefusedXmlException
        raise WFSError("InvalidParameterValue", "filter",
                       _("Filtre XML illisible : %(error)s") % {"error": error}) from None
    return root, prefixes


def filter_text(text):
    """An FES 1.1 <ogc:Filter> (or an un-namespaced <Filter>) as FES 2.0 text."""
    text = text.strip()
    head = text[:text.find(">") + 1] if ">" in text else text
    if "xmlns" not in head and (head.startswith("<Filter>") or head.startswith("<Filter ")):
        # Like GeoServer and MapServer, a KVP filter may leave its namespaces out.
        text = (f'<Filter xmlns="{OGC}" xmlns:gml="{GML31}"' + text[len("<Filter"):])
    root, prefixes = parse_with_prefixes(text)
    return tostring(filter_element(root, prefixes), encoding="unicode")


def filter_element(element, prefixes):
    namespace, local = split(element.tag)
    if len(element) == 0:
        raise WFSError("InvalidParameterValue", "filter", _("Le filtre est vide."))
    if (namespace, local) == (FES20, "Filter"):
        return element  # a client that already speaks FES 2.0
    if (namespace, local) != (OGC, "Filter"):
        raise WFSError("InvalidParameterValue", "filter",
                       _("Un filtre OGC 1.1 (ogc:Filter) est attendu, pas « %(tag)s ».")
                       % {"tag": local})
    return fes20(element, prefixes)


def fes20(element, prefixes):
    """A copy of an FES 1.1 element tree in FES 2.0 (elements of other namespaces kept)."""
    namespace, local = split(element.tag)
    if namespace != OGC:
        return element  # gml:… operands
    attributes = dict(element.attrib)
    if local in ("FeatureId", "GmlObjectId"):
        rid = attributes.pop("fid", None) or attributes.pop(f"{{{GML31}}}id", "")
        return Element(f"{{{FES20}}}ResourceId", {"rid": rid})
    renames = ATTRIBUTE_RENAMES.get(local, {})
    attributes = {renames.get(key, key): value for key, value in attributes.items()}
    copy = Element(f"{{{FES20}}}{ELEMENT_RENAMES.get(local, local)}", attributes)
    copy.text, copy.tail = element.text, element.tail
    if local == "PropertyName" and copy.text:
        copy.text = property_path(copy.text, prefixes)
    for child in element:
        if local in ("DWithin", "Beyond") and split(child.tag)[0] == GML31:
            # gisserver looks for the distance operators' geometry in a GML 3.2 namespace
            # only; GDAL reads the geometry the same in either (the srsName decides the axes).
            child = in_namespace(child, GML31, GML32)
        copy.append(fes20(child, prefixes))
    return copy


def in_namespace(element, old, new):
    """A copy of an element tree with the elements of namespace `old` moved to `new`."""
    namespace, local = split(element.tag)
    copy = Element(f"{{{new}}}{local}" if namespace == old else element.tag, dict(element.attrib))
    copy.text, copy.tail = element.text, element.tail
    for child in element:
        copy.append(in_namespace(child, old, new))
    return copy


def property_path(text, prefixes):
    """`app:nom` with the client's prefix for C@p Géo's namespace -> `capgeo:nom`."""
    from ..view import XML_NAMESPACE, XML_PREFIX

    steps = []
    for step in text.strip().split("/"):
        prefix, sep, name = step.partition(":")
        if sep and prefixes.get(prefix) == XML_NAMESPACE:
            step = f"{XML_PREFIX}:{name}"
        steps.append(step)
    return "/".join(steps)


def get_feature_document(root, prefixes):
    """A 1.1.0 <wfs:GetFeature> (already parsed safely) as a 2.0.0 document (bytes)."""
    attributes = {key: value for key, value in root.attrib.items()
                  if not key.startswith(f"{{{XSI}}}")}
    attributes["version"] = "2.0.0"
    attributes.setdefault("service", "WFS")
    if "maxFeatures" in attributes:
        attributes["count"] = attributes.pop("maxFeatures")
    attributes["outputFormat"] = output_format(attributes.get("outputFormat") or GML311)
    document = Element(f"{{{WFS20}}}GetFeature", attributes)
    for query in root:
        namespace, local = split(query.tag)
        if (namespace, local) != (WFS11, "Query"):
            raise WFSError("OperationNotSupported", local or "GetFeature",
                           _("Élément « %(tag)s » non pris en charge dans GetFeature 1.1.0 "
                             "(seul wfs:Query l'est).") % {"tag": local})
        query_attributes = {"typeNames": type_names(query.get("typeName", ""), prefixes)}
        if query.get("srsName"):
            query_attributes["srsName"] = srs_name(query.get("srsName"))
        if query.get("handle"):
            query_attributes["handle"] = query.get("handle")
        copy = SubElement(document, f"{{{WFS20}}}Query", query_attributes)
        for child in query:
            child_namespace, child_local = split(child.tag)
            if child_namespace == WFS11 and child_local == "PropertyName":
                SubElement(copy, f"{{{WFS20}}}PropertyName").text = \
                    property_path(child.text or "", prefixes)
            elif child_namespace == OGC and child_local in ("Filter", "SortBy"):
                copy.append(fes20(child, prefixes))
            else:
                raise WFSError("OperationNotSupported", child_local or "Query",
                               _("Élément « %(tag)s » non pris en charge dans wfs:Query.")
                               % {"tag": child_local})
    # capgeo: in type names and paths is known to gisserver's parser (the view's aliases).
    text = tostring(document, encoding="unicode")
    return text.encode()


def type_names(value, prefixes):
    """`feature:layer,x` with the client's prefix -> `capgeo:layer,x`."""
    return ",".join(property_path(name, prefixes) for name in value.split(",") if name.strip())


def other_document(root, prefixes):
    """A 1.1.0 <wfs:GetCapabilities> or <wfs:DescribeFeatureType> as a 2.0.0 document."""
    local = split(root.tag)[1]
    attributes = {"service": root.get("service", "WFS")}
    if local == "DescribeFeatureType":
        attributes["version"] = "2.0.0"
        if root.get("outputFormat"):
            attributes["outputFormat"] = output_format(root.get("outputFormat"))
    document = Element(f"{{{WFS20}}}{local}", attributes)
    for child in root:
        if split(child.tag) == (WFS11, "TypeName") and local == "DescribeFeatureType":
            SubElement(document, f"{{{WFS20}}}TypeName").text = \
                property_path(child.text or "", prefixes)
    return tostring(document, encoding="unicode").encode()
