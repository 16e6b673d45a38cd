"""DCAT-AP (JSON-LD) description of the portal's datasets, for harvesters such as data.gouv.fr.

Vocabularies: DCAT 2, Dublin Core terms, the EU frequency authority table; licences by their
official URLs; extents as WKT in WGS 84 (dcat:bbox, GeoSPARQL literal).
"""
from django.conf import settings
from django.urls import reverse

from layers.models import UpdateFrequency

from .datasets import LICENCE_URLS, downloads, service_urls

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    UpdateFrequency.CONTINUAL: "UPDATE_CONT", UpdateFrequency.DAILY: "DAILY",
    UpdateFrequency.WEEKLY: "WEEKLY", UpdateFrequency.MONTHLY: "MONTHLY",
    UpdateFrequency.YEARLY: "ANNUAL", UpdateFrequency.AS_NEEDED: "IRREG",
    UpdateFrequency.IRREGULAR: "IRREG", UpdateFrequency.NOT_PLANNED: "NEVER",
}


def _date(value):
    return {"@value": value.isoformat(), "@type": "xsd:dateTime"} if value else None


def _publisher(layer):
    name = layer.owner_commune.name if layer.owner_commune_id else \
        settings.CAPGEO_INTERCOMMUNALITY_NAME
    return {"@type": "foaf:Organization", "foaf:name": name}


def _bbox_wkt(layer):
    minx, miny, maxx, maxy = layer.extent_wgs84.extent  # measured on the data (layers.extents)
    return (f"POLYGON(({minx:.6f} {miny:.6f},{maxx:.6f} {miny:.6f},{maxx:.6f} {maxy:.6f},"
            f"{minx:.6f} {maxy:.6f},{minx:.6f} {miny:.6f}))")


def dataset(request, layer):
    landing = request.build_absolute_uri(reverse("opendata:detail", args=[layer.name]))
    licence = LICENCE_URLS.get(layer.licence)
    services = service_urls(request, layer)
    distributions = [{
        "@type": "dcat:Distribution",
        "dct:title": f"{layer.title} ({label})",
        "dcat:accessURL": {"@id": url}, "dcat:downloadURL": {"@id": url},
        "dct:format": dcat_format, "dcat:mediaType": media_type,
        **({"dct:license": {"@id": licence}} if licence else {}),
    } for label, url, media_type, dcat_format in downloads(request, layer)]
    distributions += [{
        "@type": "dcat:Distribution",
        "dct:title": f"{layer.title} ({service})",
        "dcat:accessURL": {"@id": url}, "dct:format": service,
        "dct:conformsTo": {"@id": standard},
        **({"dct:license": {"@id": licence}} if licence else {}),
    } for service, url, standard in (
        ("WMS", services["wms_capabilities"], "http://www.opengis.net/def/serviceType/ogc/wms"),
        ("WFS", services["wfs_capabilities"], "http://www.opengis.net/def/serviceType/ogc/wfs"),
    )]
    item = {
        "@id": landing, "@type": "dcat:Dataset",
        "dct:identifier": layer.name, "dct:title": layer.title,
        "dct:description": layer.abstract or layer.title,
        "dcat:keyword": list(layer.keywords or []),
        "dcat:landingPage": {"@id": landing},
        "dct:publisher": _publisher(layer),
        "dct:modified": _date(layer.data_updated_at or layer.updated_at),
        "dct:issued": _date(layer.created_at),
        "dct:accrualPeriodicity": {"@id": FREQUENCY + FREQUENCIES.get(layer.update_frequency,
                                                                      "UNKNOWN")},
        "dct:spatial": {"@type": "dct:Location",
                        "dcat:bbox": {"@value": _bbox_wkt(layer), "@type": "gsp:wktLiteral"}},
        "dcat:distribution": distributions,
    }
    if layer.theme_id:
        item["dcat:theme"] = layer.theme.name
    if licence:
        item["dct:license"] = {"@id": licence}
    if layer.lineage:
        item["dct:provenance"] = {"@type": "dct:ProvenanceStatement",
                                  "dct:description": layer.lineage}
    if layer.attribution:
        item["dct:rightsHolder"] = {"@type": "foaf:Agent", "foaf:name": layer.attribution}
    return {key: value for key, value in item.items() if value is not None}


def catalogue(request, layers):
    home = request.build_absolute_uri(reverse("opendata:list"))
    name = settings.CAPGEO_INTERCOMMUNALITY_NAME
    return {
        "@context": CONTEXT,
        "@id": request.build_absolute_uri(reverse("opendata:dcat")),
        "@type": "dcat:Catalog",
        "dct:title": f"C@p Géo — données ouvertes de {name}",
        "dct:description": "Données géographiques publiées en accès libre par la plateforme "
                           f"SIG communautaire de {name}.",
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/FRA"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": name},
        "foaf:homepage": {"@id": home},
        "dcat:dataset": [dataset(request, layer) for layer in layers],
    }


# --- RDF/XML --------------------------------------------------------------------------------------
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _qname(prefixed):
    prefix, local = prefixed.split(":", 1)
    return f"{{{CONTEXT[prefix]}}}{local}"


def _expand(prefixed):
    prefix, local = prefixed.split(":", 1)
    return CONTEXT[prefix] + local


def _node(parent, value, tag=None):
    """Append value (a node, a reference, a typed or plain literal) under parent."""
    from lxml import etree

    if tag is not None:
        for item in value if isinstance(value, list) else [value]:
            element = etree.SubElement(parent, _qname(tag))
            if isinstance(item, dict) and "@type" in item and "@value" not in item:
                _node(element, item)
            elif isinstance(item, dict) and "@id" in item:
                element.set(f"{{{RDF}}}resource", item["@id"])
            elif isinstance(item, dict):
                element.set(f"{{{RDF}}}datatype", _expand(item["@type"]))
                element.text = str(item["@value"])
            else:
                element.text = str(item)
        return parent
    element = etree.SubElement(parent, _qname(value["@type"]))
    if "@id" in value:
        element.set(f"{{{RDF}}}about", value["@id"])
    for key, item in value.items():
        if not key.startswith("@"):
            _node(element, item, key)
    return element


def rdf_xml(document):
    """The JSON-LD catalogue (catalogue()) as RDF/XML bytes, for harvesters that want it."""
    from lxml import etree

    root = etree.Element(f"{{{RDF}}}RDF", nsmap={"rdf": RDF, **CONTEXT})
    _node(root, {key: value for key, value in document.items() if key != "@context"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
