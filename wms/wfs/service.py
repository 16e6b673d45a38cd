"""WFS 2.0 and WFS-T at /ows (wms.ows_endpoint hands WFS requests here).

handle(request, params) answers one KVP or XML request (params: the query with upper-cased keys):
- a POSTed Transaction document (WFS 1.1.0 as QGIS sends it, or 2.0.0) -> wms.wfs.transaction;
- a WFS 1.1.0 read request (VERSION=1.1.0, ACCEPTVERSIONS preferring it, or a POSTed 1.1
  document) -> wms.wfs.v110, rewritten for gisserver and answered in 1.1.0;
- everything else -> django-gisserver's WFSView over the catalogue (wms.wfs.view).
Every POST body is parsed safely first (wms.wfs.xml): DOCTYPE/entities are refused before
gisserver sees the body. Every error is an OGC exception report in French (wms.wfs.exceptions).
"""
import logging
import math

from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from .exceptions import WFSError

logger = logging.getLogger(__name__)


def handle(request, params):
    return cache_headers(_handle(request, params))


def cache_headers(response):
    """Every WFS answer depends on who asks (the layers and rows the access policy grants):
    never kept by a shared cache, like the REST API's. Capabilities get validators on top
    (wms.capabilities_revalidation, no-cache)."""
    if "Cache-Control" not in response:
        patch_cache_control(response, private=True)
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response


def _handle(request, params):
    from . import transaction, v110, view, xml

    version = "2.0.0"
    try:
        if request.method == "POST":
            root = xml.parse(xml.request_body(request), check=False)
            namespace, local = xml.split(root.tag)
            if namespace == xml.WFS11 and local != "Transaction":
                version = v110.VERSION  # (Transaction reports keep their own versions)
            xml.check_tree(root)
            if local == "Transaction":
                return transaction.execute(request, root)
            if namespace == xml.WFS11:
                return v110.handle_post(request)
        elif request.method not in ("GET", "HEAD"):
            raise WFSError("OperationNotSupported", "request",
                           _("Seules les méthodes GET et POST sont acceptées."), status=405)
        if request.method != "POST" and v110.negotiated(params) == v110.VERSION:
            version = v110.VERSION
        if request.method != "POST":
            check_kvp(params)
        if params.get("REQUEST", "").lower() == "transaction":
            raise WFSError("OperationNotSupported", "request",
                           _("Transaction s'envoie en POST, dans un document XML."))
        if version == v110.VERSION:
            return v110.handle_get(request, params)
        return view.CapGeoWFSView.as_view()(request)
    except WFSError as error:
        return error.response(version=version)


def check_kvp(params):
    """BBOX numbers finite, FILTER bounded (wms.wfs.xml), before gisserver reads them."""
    from . import xml

    if params.get("BBOX"):
        for token in params["BBOX"].split(",")[:4]:
            try:
                value = float(token)
            except ValueError:
                continue  # not a number: gisserver's own message
            if not math.isfinite(value):
                raise WFSError("InvalidParameterValue", "bbox", _(
                    "BBOX invalide : « %(value)s » n'est pas un nombre fini (attendu : "
                    "minx,miny,maxx,maxy[,crs]).") % {"value": token[:40]})
    if params.get("FILTER"):
        xml.check_filter_text(params["FILTER"])
