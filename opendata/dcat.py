"""GeoDCAT-AP description of the portal's datasets (JSON-LD, RDF/XML, Turtle), for harvesters
such as data.gouv.fr, paged with Hydra.

Vocabularies: DCAT 2, Dublin Core terms, the EU authority tables (frequency, access right,
language), vCard for the contact point, GeoDCAT-AP's uses of them (INSPIRE themes as dcat:theme,
reference systems as dct:conformsTo, the ISO 19139 record as the dataset's catalogue record);
licences by their official URLs, on the dataset and on every distribution; extents measured in
WGS 84 as WKT (dcat:bbox) and GeoJSON (locn:geometry).

``dct:identifier`` is the layer's UUID (Layer.uuid): the harvest key, the same in the CSW's ISO
records, never changed nor given to another layer. A layer no longer public is absent from the
next harvest.
"""
from django.conf import settings
from django.urls import reverse

from layers.inspire import INSPIRE_THEME_URI
from layers.models import UpdateFrequency
from metadata.iso19139 import contact_email, inspire_label, organisation

from .datasets import LICENCE_URLS, downloads, service_urls

PAGE_SIZE = 100

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
}
EU = "http://publications.europa.eu/resource/authority/"
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


def _contact(layer):
    return {"@type": "vcard:Organization", "vcard:fn": organisation(layer),
            "vcard:hasEmail": {"@id": f"mailto:{contact_email(layer)}"}}


def _geojson_box(layer):
    minx, miny, maxx, maxy = layer.extent_wgs84.extent
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return ('{"type":"Polygon","coordinates":[['
            + ",".join(f"[{x:.6f},{y:.6f}]" for x, y in ring) + "]]}")


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
    ogcapi = request.build_absolute_uri(f"/ogc/collections/{layer.name}")
    distributions += [{
        "@type": "dcat:Distribution",
        "dct:title": f"{layer.title} ({service})",
        "dcat:accessURL": {"@id": url}, "dct:format": service,
        "dct:conformsTo": {"@id": standard},
        **({"dct:license": {"@id": licence}} if licence else {}),
    } for service, url, standard in (
        ("WMS", services["wms_capabilities"], "http://www.opengis.net/def/serviceType/ogc/wms"),
        ("WFS", services["wfs_capabilities"], "http://www.opengis.net/def/serviceType/ogc/wfs"),
        ("OGC API Features", ogcapi, "http://www.opengis.net/def/interface/ogcapi-features"),
    )]
    record = request.build_absolute_uri(reverse("metadata:record-xml", args=[layer.uuid]))
    themes = []
    if layer.inspire_theme_code:
        themes.append({"@id": INSPIRE_THEME_URI + layer.inspire_theme_code,
                       "skos:prefLabel": inspire_label(layer.inspire_theme_code)})
    keywords = list(layer.keywords or [])
    if layer.theme_id and layer.theme.name not in keywords:
        keywords.append(layer.theme.name)
    location = {"@type": "dct:Location",
                "dcat:bbox": {"@value": _bbox_wkt(layer), "@type": "gsp:wktLiteral"},
                "locn:geometry": {"@value": _geojson_box(layer), "@type": "gsp:geoJSONLiteral"}}
    item = {
        "@id": landing, "@type": "dcat:Dataset",
        "dct:identifier": str(layer.uuid), "dct:title": layer.title,
        "dct:description": layer.abstract or layer.title,
        "dcat:keyword": keywords,
        "dcat:landingPage": {"@id": landing},
        "dct:publisher": _publisher(layer),
        "dcat:contactPoint": _contact(layer),
        "dct:language": {"@id": EU + "language/FRA"},
        "dct:accessRights": {"@id": EU + "access-right/PUBLIC"},
        "dct:conformsTo": [{"@id": f"http://www.opengis.net/def/crs/EPSG/0/{srid}"}
                           for srid in (settings.CAPGEO_STORAGE_SRID, 4326, 3857)],
        "dct:modified": _date(layer.data_updated_at or layer.updated_at),
        "dct:issued": _date(layer.created_at),
        "dct:accrualPeriodicity": {"@id": FREQUENCY + FREQUENCIES.get(layer.update_frequency,
                                                                      "UNKNOWN")},
        "dct:spatial": location,
        "dcat:distribution": distributions,
        "foaf:isPrimaryTopicOf": {
            "@id": record, "@type": "dcat:CatalogRecord",
            "dct:conformsTo": {"@id": "http://www.isotc211.org/2005/gmd"},
            "dct:modified": _date(layer.updated_at)},
    }
    if themes:
        item["dcat:theme"] = themes
    if layer.temporal_start or layer.temporal_end:
        item["dct:temporal"] = {"@type": "dct:PeriodOfTime", **{
            key: {"@value": value.isoformat(), "@type": "xsd:date"}
            for key, value in (("dcat:startDate", layer.temporal_start),
                               ("dcat:endDate", layer.temporal_end)) if value}}
    if licence:
        item["dct:license"] = {"@id": licence}
    if layer.lineage:
        item["dct:provenance"] = {"@type": "dct:ProvenanceStatement",
                                  "dct:description": layer.lineage}
    if layer.attribution:
        item["dct:rightsHolder"] = {"@type": "foaf:Agent", "foaf:name": layer.attribution}
    return {key: value for key, value in item.items() if value is not None}


def page_number(request, total):
    """The page asked (?page=, from 1), or None when it is not a page of the feed."""
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or len(raw) > 9:
        return None
    page = int(raw)
    last = max(1, -(-total // PAGE_SIZE))
    return page if 1 <= page <= last else None


def catalogue(request, layers, url_name="opendata:dcat", page=1):
    """The catalogue's page `page` (PAGE_SIZE datasets), with its Hydra view when it has more
    than one page; layers: a queryset in a stable order."""
    home = request.build_absolute_uri(reverse("opendata:list"))
    name = settings.CAPGEO_INTERCOMMUNALITY_NAME
    url = request.build_absolute_uri(reverse(url_name))
    total = layers.count()
    last = max(1, -(-total // PAGE_SIZE))
    selected = layers[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    document = {
        "@context": CONTEXT,
        "@id": url,
        "@type": "dcat:Catalog",
        "dct:title": f"C@p Géo — données ouvertes de {name}",
        "dct:description": "Données géographiques publiées en accès libre par la plateforme "
                           f"SIG communautaire de {name}.",
        "dct:language": {"@id": "http://publications.europa.eu/resource/authority/language/FRA"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": name},
        "foaf:homepage": {"@id": home},
        "dcat:dataset": [dataset(request, layer) for layer in selected],
    }
    if last > 1:
        view = {"@id": f"{url}?page={page}", "@type": "hydra:PartialCollectionView",
                "hydra:first": {"@id": f"{url}?page=1"}, "hydra:last": {"@id": f"{url}?page={last}"},
                "hydra:totalItems": total}
        if page < last:
            view["hydra:next"] = {"@id": f"{url}?page={page + 1}"}
        if page > 1:
            view["hydra:previous"] = {"@id": f"{url}?page={page - 1}"}
        document["hydra:view"] = view
    return document


def turtle(document):
    """The JSON-LD catalogue as Turtle, by rdflib (the context is inline: nothing fetched)."""
    import json

    from rdflib import Graph

    graph = Graph()
    graph.parse(data=json.dumps(document), format="json-ld")
    return graph.serialize(format="turtle").encode()


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
