"""Reading a remote service's capabilities (WMS 1.3.0/1.1.1, WMTS 1.0.0, WFS 2.0/1.1) with OWSLib.

The document is fetched by layers.remote.fetch (SSRF guard, timeout, size limit), checked here
(an OGC exception, an HTML page or another protocol's document are reported in French), then
parsed by OWSLib from the bytes. read_capabilities() returns a ServiceDescription whose layers
are the field values of RemoteLayer rows; sync_service() writes them.
"""
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from layers.models import RemoteLayer, RemoteService

from .fetch import RemoteError, fetch, http_error

Protocol = RemoteService.Protocol
PROTOCOL_NAMES = {"wms": "WMS", "wmts": "WMTS", "wfs": "WFS"}
# Parameters we set ourselves: removed from the URL the administrator pasted.
OWN_PARAMETERS = {"service", "request", "version", "acceptversions", "wmtver"}
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              huge_tree=False, remove_comments=True)


@dataclass
class ServiceDescription:
    protocol: str
    version: str
    url: str            # the service URL as stored (without our own parameters)
    title: str
    abstract: str
    provider: str
    layers: list = field(default_factory=list)   # dicts of RemoteLayer field values


def service_url(url):
    """The URL without SERVICE/REQUEST/VERSION (kept: the server's own parameters)."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in OWN_PARAMETERS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def with_parameters(url, params):
    """url with params added to its query (the server's own parameters first)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in {p.lower() for p in params}]
    return urlunsplit((parts.scheme, parts.netloc, parts.path,
                       urlencode(query + list(params.items())), ""))


def is_rest_document(url):
    return urlsplit(url).path.lower().endswith(".xml")


def capabilities_request(url, protocol):
    if protocol == Protocol.WMTS and is_rest_document(url):
        return url  # a RESTful WMTS gives its capabilities as a static document
    params = {"SERVICE": PROTOCOL_NAMES[protocol], "REQUEST": "GetCapabilities"}
    if protocol == Protocol.WMS:
        params["VERSION"] = "1.3.0"
    elif protocol == Protocol.WFS:
        params["ACCEPTVERSIONS"] = "2.0.0,1.1.0"
    else:
        params["ACCEPTVERSIONS"] = "1.0.0"
    return with_parameters(url, params)


def local_name(element):
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def exception_text(root):
    texts = [" ".join(t.split()) for t in root.itertext() if t.strip()]
    return " ".join(texts)[:500] or _("(sans message)")


def found_protocol(root):
    name, namespace = local_name(root), etree.QName(root).namespace or ""
    if name in ("WMS_Capabilities", "WMT_MS_Capabilities"):
        return Protocol.WMS
    if name == "Capabilities" and "wmts" in namespace:
        return Protocol.WMTS
    if name == "WFS_Capabilities":
        return Protocol.WFS
    return None


def checked_document(answer, protocol):
    """The parsed root of a capabilities document of that protocol, or RemoteError."""
    try:
        root = etree.fromstring(answer.content, SAFE_PARSER)
    except etree.XMLSyntaxError:
        root = None
    if root is not None and local_name(root) in ("ServiceExceptionReport", "ExceptionReport"):
        raise RemoteError(_("Le service distant a répondu par une exception OGC : %(text)s")
                          % {"text": exception_text(root)})
    if answer.status >= 400:
        raise http_error(answer)
    if root is None or local_name(root).lower() == "html":
        looks_html = b"<html" in answer.content[:2000].lower()
        raise RemoteError(
            _("Cette adresse ne renvoie pas un document de capacités %(protocol)s : %(what)s.")
            % {"protocol": PROTOCOL_NAMES[protocol],
               "what": _("une page HTML") if looks_html else _("un contenu qui n'est pas du XML")})
    found = found_protocol(root)
    if found is None:
        raise RemoteError(_("Cette adresse ne renvoie pas un document de capacités %(protocol)s "
                            "(élément racine « %(root)s »).")
                          % {"protocol": PROTOCOL_NAMES[protocol], "root": local_name(root)[:60]})
    if found != protocol:
        raise RemoteError(_("Cette adresse décrit un service %(found)s, pas %(protocol)s : "
                            "choisissez le protocole %(found)s.")
                          % {"found": PROTOCOL_NAMES[found], "protocol": PROTOCOL_NAMES[protocol]})
    return root


# --- CRS codes -------------------------------------------------------------------------------
EPSG_URN = re.compile(r"(?:urn:ogc:def:crs:EPSG:[\d.]*:|https?://www\.opengis\.net/def/crs/EPSG/"
                      r"[\d.]+/|EPSG:)(\d+)$", re.IGNORECASE)


def normalise_crs(code):
    """EPSG:xxxx or CRS:84 for the many spellings of a CRS; None if unknown."""
    code = (code or "").strip()
    if re.search(r"CRS:?84$", code, re.IGNORECASE):
        return "CRS:84"
    match = EPSG_URN.search(code)
    return f"EPSG:{match.group(1)}" if match else None


def crs_list(codes):
    out = []
    for code in codes:
        normalised = normalise_crs(code if isinstance(code, str) else getattr(code, "id", ""))
        if normalised and normalised not in out:
            out.append(normalised)
    return out


def clean_bbox(box):
    if not box or len(box) < 4:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in box[:4])
    except (TypeError, ValueError):
        return None
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        return None
    return [minx, miny, maxx, maxy]


def text(value, limit=None):
    value = (value or "").strip()
    return value[:limit] if limit else value


def operation(service, name, kind="Get"):
    """(url, formats) of an operation, or (None, [])."""
    try:
        op = service.getOperationByName(name)
    except (KeyError, AttributeError):
        return None, []
    urls = [m.get("url") for m in op.methods if m.get("type", "Get").lower() == kind.lower()
            and m.get("url")]
    formats = list(getattr(op, "formatOptions", []) or [])
    # OWS services (WFS 2.0/1.1, WMTS) list them as an operation parameter (OWSLib then gives a
    # "text/xml" placeholder as formatOptions).
    parameters = {k.lower(): v for k, v in (getattr(op, "parameters", None) or {}).items()}
    for name in ("outputformat", "format", "infoformat"):
        values = [v for v in (parameters.get(name) or {}).get("values") or [] if v]
        if values:
            return (urls[0] if urls else None), values
    return (urls[0] if urls else None), formats


def identification(service):
    ident = getattr(service, "identification", None)
    provider = getattr(service, "provider", None)
    return (text(getattr(ident, "title", ""), 200), text(getattr(ident, "abstract", "")),
            text(getattr(provider, "name", "") or "", 200))


def keywords(values):
    return [k.strip()[:80] for k in values or [] if k and k.strip()]


# --- WMS -------------------------------------------------------------------------------------
def wms_layers(service, version):
    getmap_url, formats = operation(service, "GetMap")
    info_url, info_formats = operation(service, "GetFeatureInfo")
    legend_op, _legend_formats = operation(service, "GetLegendGraphic")
    layers = []
    for layer in service.contents.values():
        styles = {}
        for name, style in (layer.styles or {}).items():
            styles[name] = {key: style.get(source) for key, source in (
                ("title", "title"), ("legend", "legend"), ("legend_width", "legend_width"),
                ("legend_height", "legend_height"), ("legend_format", "legend_format"))
                if style.get(source)}
        attribution = layer.attribution or {}
        layers.append({
            "identifier": layer.id, "title": text(layer.title, 300) or layer.id,
            "abstract": text(layer.abstract), "crs": crs_list(layer.crsOptions or []),
            "formats": formats, "styles": list(styles),
            "wgs84_bbox": clean_bbox(layer.boundingBoxWGS84),
            "metadata": {
                "protocol": "wms", "version": version, "keywords": keywords(layer.keywords),
                "attribution": {k: attribution.get(k) for k in ("title", "url")
                                if attribution.get(k)},
                "metadata_urls": [{"url": m.get("url"), "type": m.get("type"),
                                   "format": m.get("format")}
                                  for m in layer.metadataUrls or [] if m.get("url")],
                "queryable": bool(int(layer.queryable or 0)),
                "opaque": bool(int(layer.opaque or 0)),
                "style_details": styles,
                "getmap_url": getmap_url, "featureinfo_url": info_url,
                "featureinfo_formats": info_formats, "getlegendgraphic_url": legend_op,
            },
        })
    return layers


def read_wms(url, root, content):
    from owslib.wms import WebMapService

    version = root.get("version") or "1.3.0"
    version = "1.3.0" if version.startswith("1.3") else "1.1.1"
    service = WebMapService(url, version=version, xml=content)
    return version, service, wms_layers(service, version)


# --- WMTS ------------------------------------------------------------------------------------
def matrix_sets(service, names):
    out = {}
    for name in names:
        tms = service.tilematrixsets.get(name)
        if tms is None:
            continue
        crs = normalise_crs(tms.crs)
        swap = crs == "EPSG:4326"  # TopLeftCorner follows the CRS's axis order
        out[name] = {"crs": crs, "matrices": [
            {"id": m.identifier, "scale_denominator": m.scaledenominator,
             "top_left": list(reversed(m.topleftcorner)) if swap else list(m.topleftcorner),
             "tile_width": m.tilewidth, "tile_height": m.tileheight,
             "matrix_width": m.matrixwidth, "matrix_height": m.matrixheight}
            for m in tms.tilematrix.values()]}
    return out


def wmts_layers(service, url):
    gettile_url, _formats = operation(service, "GetTile")
    layers = []
    for layer in service.contents.values():
        sets = matrix_sets(service, list(layer.tilematrixsetlinks))
        styles = {name: {k: v for k, v in style.items() if k in ("title", "legend", "isDefault")}
                  for name, style in (layer.styles or {}).items()}
        default_style = next((n for n, s in styles.items() if s.get("isDefault")),
                             next(iter(styles), ""))
        layers.append({
            "identifier": layer.id, "title": text(layer.title, 300) or layer.id,
            "abstract": text(layer.abstract),
            "crs": [s["crs"] for s in sets.values() if s["crs"]],
            "formats": list(layer.formats or []), "styles": list(styles),
            "wgs84_bbox": clean_bbox(layer.boundingBoxWGS84),
            "metadata": {
                "protocol": "wmts", "version": "1.0.0", "keywords": keywords(layer.keywords),
                "style_details": styles, "default_style": default_style,
                "tile_matrix_sets": sets,
                "tile_templates": [r for r in layer.resourceURLs if r.get("resourceType") == "tile"],
                "gettile_url": gettile_url, "queryable": False,
                "service_url": url,
            },
        })
    return layers


def read_wmts(url, root, content):
    from owslib.wmts import WebMapTileService

    service = WebMapTileService(url, version="1.0.0", xml=content)
    return "1.0.0", service, wmts_layers(service, url)


# --- WFS -------------------------------------------------------------------------------------
def wfs_layers(service, version):
    getfeature_url, formats = operation(service, "GetFeature")
    layers = []
    for layer in service.contents.values():
        crs = crs_list([getattr(c, "id", None) or c.getcode() for c in layer.crsOptions or []])
        layers.append({
            "identifier": layer.id, "title": text(layer.title, 300) or layer.id,
            "abstract": text(layer.abstract), "crs": crs,
            "formats": list(getattr(layer, "outputFormats", None) or formats)[:30],
            "styles": [], "wgs84_bbox": clean_bbox(layer.boundingBoxWGS84),
            "metadata": {
                "protocol": "wfs", "version": version, "keywords": keywords(layer.keywords),
                "metadata_urls": [{"url": m.get("url"), "type": m.get("type"),
                                   "format": m.get("format")}
                                  for m in getattr(layer, "metadataUrls", None) or []
                                  if m.get("url")],
                "getfeature_url": getfeature_url, "queryable": False,
            },
        })
    return layers


def read_wfs(url, root, content):
    from owslib.wfs import WebFeatureService

    version = root.get("version") or "2.0.0"
    version = "2.0.0" if version.startswith("2.") else "1.1.0" if version == "1.1.0" else "1.0.0"
    service = WebFeatureService(url, version=version, xml=content)
    return version, service, wfs_layers(service, version)


READERS = {Protocol.WMS: read_wms, Protocol.WMTS: read_wmts, Protocol.WFS: read_wfs}


def read_capabilities(url, protocol):
    """The service's description, or RemoteError (French message)."""
    protocol = Protocol(protocol)
    url = url.strip() if protocol == Protocol.WMTS and is_rest_document(url) else service_url(url)
    answer = fetch(capabilities_request(url, protocol))
    root = checked_document(answer, protocol)
    try:
        version, service, layers = READERS[protocol](url, root, answer.content)
    except RemoteError:
        raise
    except Exception as error:  # noqa: BLE001 — OWSLib raises anything on a broken document
        raise RemoteError(_("Document de capacités %(protocol)s illisible : %(error)s")
                          % {"protocol": PROTOCOL_NAMES[protocol], "error": str(error)[:200]}) \
            from None
    title, abstract, provider = identification(service)
    return ServiceDescription(protocol, version, url, title or urlsplit(url).netloc, abstract,
                              provider, [layer for layer in layers if layer["identifier"]])


@transaction.atomic
def sync_service(service, description):
    """Write the description into the service and its RemoteLayer rows.

    Layers that disappeared from the capabilities are kept (their catalogue settings and access
    rules with them) and marked ``metadata["absent"]``; the WMS skips them.
    Returns (created, updated, absent) identifiers.
    """
    service.version = description.version
    service.title = service.title or description.title
    service.abstract = description.abstract
    service.provider = description.provider
    service.capabilities_checked_at = timezone.now()
    service.save()
    existing = {layer.identifier: layer for layer in service.layers.all()}
    created, updated = [], []
    for values in description.layers:
        values = dict(values)
        identifier = values.pop("identifier")[:300]
        layer = existing.pop(identifier, None)
        if layer is None:
            layer = RemoteLayer(service=service, identifier=identifier)
            created.append(identifier)
        else:
            updated.append(identifier)
        values["crs"] = [code[:60] for code in values["crs"]]
        values["formats"] = [name[:60] for name in values["formats"]]
        values["styles"] = [name[:200] for name in values["styles"]]
        # What publish copied into the catalogue is kept (it decides what a refresh may change).
        copied = (layer.metadata or {}).get("copied")
        if copied is not None:
            values["metadata"] = {**values["metadata"], "copied": copied}
        for name, value in values.items():
            setattr(layer, name, value)
        layer.save()
    for layer in existing.values():
        layer.metadata = {**layer.metadata, "absent": True}
        layer.save(update_fields=["metadata"])
    return created, updated, list(existing)
