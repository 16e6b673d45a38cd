"""ISO 19115 metadata of a layer, encoded in ISO 19139 XML (with the INSPIRE elements of the
metadata technical guidelines 2.0), generated from the catalogue: the catalogue stays the source
of truth, a record is never edited by hand.

Elements are written in the order of the ISO 19139 schemas (the tests validate every record of the
demo against them, with the copy shipped in the pycsw package). The record's identifier is the
layer's UUID (``Layer.uuid``), stable for the life of the layer and never given to another one.

Who may see what is not decided here: the caller gives the layer (one the audience may view) and
the permissions that audience holds, which decide the distributions listed (downloads only for
those who may download).
"""
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from lxml import etree

from layers.inspire import INSPIRE_THEME_URI, InspireTheme
from layers.models import Licence, Permission

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GMX = "http://www.isotc211.org/2005/gmx"
GML = "http://www.opengis.net/gml/3.2"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"gmd": GMD, "gco": GCO, "gmx": GMX, "gml": GML, "xlink": XLINK, "xsi": XSI}
SCHEMA_LOCATION = f"{GMD} http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd"
CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#"

# The CRSs every vector layer is served in (WMS, WFS, OGC API): storage first.
SERVED_CRS = (settings.CAPGEO_STORAGE_SRID, 4326, 3857)

INSPIRE_THESAURUS = ("GEMET - INSPIRE themes, version 1.0", "2008-06-01")
INSPIRE_REGULATION = (
    "Règlement (UE) n° 1089/2010 de la Commission du 23 novembre 2010 portant modalités "
    "d'application de la directive 2007/2/CE du Parlement européen et du Conseil en ce qui "
    "concerne l'interopérabilité des séries et des services de données géographiques",
    "2010-12-08",
)
LICENCES = {
    Licence.ETALAB_2: ("Licence Ouverte / Open Licence version 2.0 (Etalab)",
                       "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"),
    Licence.ODBL: ("Open Database License (ODbL) 1.0",
                   "https://opendatacommons.org/licenses/odbl/1-0/"),
    Licence.CC_BY_4: ("Creative Commons Attribution 4.0 (CC BY 4.0)",
                      "https://creativecommons.org/licenses/by/4.0/"),
    Licence.RESTRICTED: ("Diffusion restreinte : réutilisation soumise à l'accord du producteur",
                         None),
}
NO_LIMITATIONS = ("Pas de restriction d'accès public",
                  "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
                  "noLimitations")
RESTRICTED_ACCESS = ("Accès restreint aux utilisateurs autorisés de la plateforme",
                     "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
                     "INSPIRE_Directive_Article13_1b")
DOWNLOADS = [  # (format of the API export, label, version)
    ("geojson", "GeoJSON", "RFC 7946"),
    ("gpkg", "GeoPackage", "1.3"),
    ("csv", "CSV", "RFC 4180"),
    ("shp", "ESRI Shapefile", "1.0"),
]


def _el(parent, tag, text=None, **attributes):
    prefix, local = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}")
    for key, value in attributes.items():
        if ":" in key:
            prefix, name = key.split(":")
            key = f"{{{NSMAP[prefix]}}}{name}"
        element.set(key, value)
    if text is not None:
        element.text = str(text)
    return element


def _string(parent, tag, text):
    _el(_el(parent, tag), "gco:CharacterString", text)


def _anchor(parent, tag, text, href):
    _el(_el(parent, tag), "gmx:Anchor", text, **{"xlink:href": href})


def _code(parent, tag, codelist, value, text=None):
    _el(_el(parent, tag), f"gmd:{codelist}", text if text is not None else value,
        codeList=CODELISTS + codelist, codeListValue=value)


def _language(parent):
    _el(_el(parent, "gmd:language"), "gmd:LanguageCode", "fre",
        codeList="http://www.loc.gov/standards/iso639-2/", codeListValue="fre")


def _party(parent, tag, organisation, email, role):
    party = _el(_el(parent, tag), "gmd:CI_ResponsibleParty")
    _string(party, "gmd:organisationName", organisation)
    address = _el(_el(_el(_el(party, "gmd:contactInfo"), "gmd:CI_Contact"), "gmd:address"),
                  "gmd:CI_Address")
    _string(address, "gmd:electronicMailAddress", email)
    _code(party, "gmd:role", "CI_RoleCode", role)


def _date(parent, value, kind):
    date = _el(_el(parent, "gmd:date"), "gmd:CI_Date")
    _el(_el(date, "gmd:date"), "gco:Date", value)
    _code(date, "gmd:dateType", "CI_DateTypeCode", kind)


def _keywords(parent, words, thesaurus=None, anchors=None):
    keywords = _el(_el(parent, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
    for index, word in enumerate(words):
        if anchors:
            _anchor(keywords, "gmd:keyword", word, anchors[index])
        else:
            _string(keywords, "gmd:keyword", word)
    _code(keywords, "gmd:type", "MD_KeywordTypeCode", "theme")
    if thesaurus:
        citation = _el(_el(keywords, "gmd:thesaurusName"), "gmd:CI_Citation")
        _string(citation, "gmd:title", thesaurus[0])
        _date(citation, thesaurus[1], "publication")


def _online(parent, url, protocol, name, description, function):
    resource = _el(_el(parent, "gmd:onLine"), "gmd:CI_OnlineResource")
    _el(_el(resource, "gmd:linkage"), "gmd:URL", url)
    _string(resource, "gmd:protocol", protocol)
    _string(resource, "gmd:name", name)
    _string(resource, "gmd:description", description)
    _code(resource, "gmd:function", "CI_OnLineFunctionCode", function)


def inspire_label(code):
    """The theme's label in the GEMET thesaurus, in the records' language (French) whatever the
    language of the request."""
    with translation.override("fr"):
        return str(InspireTheme(code).label)


def organisation(layer):
    if layer.contact_organisation:
        return layer.contact_organisation
    if layer.owner_commune_id:
        return f"Commune de {layer.owner_commune.name}"
    return settings.CAPGEO_INTERCOMMUNALITY_NAME


def contact_email(layer):
    return layer.contact_email or settings.CAPGEO_METADATA_CONTACT_EMAIL


def resource_identifier(base_url, layer):
    """The INSPIRE unique resource identifier of the layer's data (a stable HTTP URI)."""
    return f"{base_url}/metadonnees/{layer.uuid}"


def distributions(base_url, layer, permissions):
    """[(url, protocol, name, description, function)]: services and downloads of the layer."""
    ows = base_url + reverse("ows:ows")
    links = [
        (f"{ows}?SERVICE=WMS&REQUEST=GetCapabilities", "OGC:WMS", layer.name,
         "Service de visualisation WMS 1.3.0", "information"),
        (f"{ows}?SERVICE=WFS&REQUEST=GetCapabilities", "OGC:WFS", f"capgeo:{layer.name}",
         "Service de téléchargement WFS 2.0", "download"),
    ]
    links.append((f"{base_url}/ogc/collections/{layer.name}", "OGC:API-Features", layer.name,
                  "OGC API – Features (GeoJSON)", "download"))
    if Permission.DOWNLOAD in permissions:
        features = base_url + reverse("api:layer-features", args=[layer.name])
        links += [(f"{features}?f={code}", "WWW:DOWNLOAD-1.0-http--download",
                   f"{layer.name}.{code}", f"Téléchargement {label}", "download")
                  for code, label, _version in DOWNLOADS]
    links.append((base_url + reverse("catalogue:detail", args=[layer.name]),
                  "WWW:LINK-1.0-http--link",
                  layer.title, "Fiche de la couche sur la plateforme", "information"))
    return links


def record(layer, base_url, permissions, public):
    """The layer's ISO 19139 record, as an lxml element (gmd:MD_Metadata).

    base_url: the platform's address (scheme and host, no trailing slash); permissions: the
    permissions the record's audience holds on the layer; public: whether the anonymous public
    may view the layer (INSPIRE limitations on public access)."""
    root = etree.Element(f"{{{GMD}}}MD_Metadata", nsmap=NSMAP)
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    _string(root, "gmd:fileIdentifier", str(layer.uuid))
    _language(root)
    _code(root, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    _code(root, "gmd:hierarchyLevel", "MD_ScopeCode", "dataset")
    _party(root, "gmd:contact", organisation(layer), contact_email(layer), "pointOfContact")
    _el(_el(root, "gmd:dateStamp"), "gco:DateTime",
        layer.updated_at.replace(microsecond=0).isoformat())
    _string(root, "gmd:metadataStandardName", "ISO 19115")
    _string(root, "gmd:metadataStandardVersion", "2003/Cor 1:2006")
    for srid in SERVED_CRS:
        identifier = _el(_el(_el(_el(root, "gmd:referenceSystemInfo"), "gmd:MD_ReferenceSystem"),
                             "gmd:referenceSystemIdentifier"), "gmd:RS_Identifier")
        _anchor(identifier, "gmd:code", f"EPSG:{srid}",
                f"http://www.opengis.net/def/crs/EPSG/0/{srid}")

    identification = _el(_el(root, "gmd:identificationInfo"), "gmd:MD_DataIdentification")
    citation = _el(_el(identification, "gmd:citation"), "gmd:CI_Citation")
    _string(citation, "gmd:title", layer.title)
    _date(citation, layer.created_at.date().isoformat(), "creation")
    revised = layer.data_updated_at or layer.updated_at
    _date(citation, revised.date().isoformat(), "revision")
    _anchor(_el(_el(citation, "gmd:identifier"), "gmd:MD_Identifier"), "gmd:code",
            str(layer.uuid), resource_identifier(base_url, layer))
    _string(identification, "gmd:abstract", layer.abstract or layer.title)
    if layer.attribution:
        _string(identification, "gmd:credit", layer.attribution)
    _party(identification, "gmd:pointOfContact", organisation(layer), contact_email(layer),
           "custodian")
    maintenance = _el(_el(identification, "gmd:resourceMaintenance"),
                      "gmd:MD_MaintenanceInformation")
    _code(maintenance, "gmd:maintenanceAndUpdateFrequency", "MD_MaintenanceFrequencyCode",
          layer.update_frequency)
    theme = layer.inspire_theme_code
    if theme:
        _keywords(identification, [inspire_label(theme)], INSPIRE_THESAURUS,
                  [INSPIRE_THEME_URI + theme])
    free = list(layer.keywords or [])
    if layer.theme_id and layer.theme.name not in free:
        free.append(layer.theme.name)
    if free:
        _keywords(identification, free)

    licence, licence_url = LICENCES[Licence(layer.licence)]
    access = NO_LIMITATIONS if public else RESTRICTED_ACCESS
    constraints = _el(_el(identification, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(constraints, "gmd:accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    _anchor(constraints, "gmd:otherConstraints", access[0], access[1])
    constraints = _el(_el(identification, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(constraints, "gmd:useConstraints", "MD_RestrictionCode", "otherRestrictions")
    if licence_url:
        _anchor(constraints, "gmd:otherConstraints", licence, licence_url)
    else:
        _string(constraints, "gmd:otherConstraints", licence)

    _code(identification, "gmd:spatialRepresentationType", "MD_SpatialRepresentationTypeCode",
          "vector")
    if layer.scale_denominator:
        fraction = _el(_el(_el(_el(identification, "gmd:spatialResolution"), "gmd:MD_Resolution"),
                           "gmd:equivalentScale"), "gmd:MD_RepresentativeFraction")
        _el(_el(fraction, "gmd:denominator"), "gco:Integer", layer.scale_denominator)
    _language(identification)
    _code(identification, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    if layer.topic_category_code:
        _el(_el(identification, "gmd:topicCategory"), "gmd:MD_TopicCategoryCode",
            layer.topic_category_code)
    extent = _el(_el(identification, "gmd:extent"), "gmd:EX_Extent")
    if layer.extent_wgs84 is not None:
        # Measured on the data in WGS 84 (layers.extents), not from the Lambert-93 box's corners.
        west, south, east, north = layer.extent_wgs84.extent
        box = _el(_el(extent, "gmd:geographicElement"), "gmd:EX_GeographicBoundingBox")
        for tag, value in (("west", west), ("east", east), ("south", south), ("north", north)):
            bound = "Longitude" if tag in ("west", "east") else "Latitude"
            _el(_el(box, f"gmd:{tag}Bound{bound}"), "gco:Decimal", f"{value:.6f}")
    if layer.temporal_start or layer.temporal_end:
        period = _el(_el(_el(_el(extent, "gmd:temporalElement"), "gmd:EX_TemporalExtent"),
                         "gmd:extent"), "gml:TimePeriod", **{"gml:id": f"periode-{layer.name}"})
        for tag, value in (("gml:beginPosition", layer.temporal_start),
                           ("gml:endPosition", layer.temporal_end)):
            if value:
                _el(period, tag, value.isoformat())
            else:
                _el(period, tag, indeterminatePosition="unknown")

    distribution = _el(_el(root, "gmd:distributionInfo"), "gmd:MD_Distribution")
    formats = [("GeoJSON", "RFC 7946")]
    if Permission.DOWNLOAD in permissions:
        formats = [(label, version) for _code_, label, version in DOWNLOADS]
    for label, version in formats:
        fmt = _el(_el(distribution, "gmd:distributionFormat"), "gmd:MD_Format")
        _string(fmt, "gmd:name", label)
        _string(fmt, "gmd:version", version)
    options = _el(_el(distribution, "gmd:transferOptions"), "gmd:MD_DigitalTransferOptions")
    for link in distributions(base_url, layer, permissions):
        _online(options, *link)

    quality = _el(_el(root, "gmd:dataQualityInfo"), "gmd:DQ_DataQuality")
    _code(_el(_el(quality, "gmd:scope"), "gmd:DQ_Scope"), "gmd:level", "MD_ScopeCode", "dataset")
    report = _el(_el(_el(quality, "gmd:report"), "gmd:DQ_DomainConsistency"), "gmd:result")
    result = _el(report, "gmd:DQ_ConformanceResult")
    specification = _el(_el(result, "gmd:specification"), "gmd:CI_Citation")
    _string(specification, "gmd:title", INSPIRE_REGULATION[0])
    _date(specification, INSPIRE_REGULATION[1], "publication")
    _string(result, "gmd:explanation", {
        "conformant": "Les données sont conformes au règlement.",
        "notConformant": "Les données ne sont pas conformes au règlement.",
    }.get(layer.conformity, "La conformité au règlement n'a pas été évaluée."))
    if layer.conformity == "notEvaluated":
        _el(result, "gmd:pass", **{"gco:nilReason": "unknown"})
    else:
        _el(_el(result, "gmd:pass"), "gco:Boolean",
            "true" if layer.conformity == "conformant" else "false")
    lineage = _el(_el(quality, "gmd:lineage"), "gmd:LI_Lineage")
    _string(lineage, "gmd:statement", layer.lineage or
            "Données publiées sur la plateforme C@p Géo ; généalogie non renseignée.")
    return root


def record_bytes(layer, base_url, permissions, public):
    return etree.tostring(record(layer, base_url, permissions, public), xml_declaration=True,
                          encoding="UTF-8", pretty_print=True)
