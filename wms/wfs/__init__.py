"""WFS 2.0 and WFS-T at /ows.

handle(request, params) answers one KVP or XML request (params: the query with upper-cased keys):
- a POSTed Transaction document (WFS 1.1.0 as QGIS sends it, or 2.0.0) -> wms.wfs.transaction;
- everything else -> django-gisserver's WFSView over the catalogue (wms.wfs.view).
Every POST body is parsed safely first (wms.wfs.xml): DOCTYPE/entities are refused before
gisserver sees the body. Every error is an OGC exception report in French (wms.wfs.exceptions).
"""
import logging

from .exceptions import WFSError

logger = logging.getLogger(__name__)


def handle(request, params):
    from . import transaction, view, xml

    try:
        if request.method == "POST":
            root = xml.parse(request.body)
            if xml.split(root.tag)[1] == "Transaction":
                return transaction.execute(request, root)
        elif request.method not in ("GET", "HEAD"):
            raise WFSError("OperationNotSupported", "request",
                           "Seules les méthodes GET et POST sont acceptées.", status=405)
        if params.get("REQUEST", "").lower() == "transaction":
            raise WFSError("OperationNotSupported", "request",
                           "Transaction s'envoie en POST, dans un document XML.")
        return view.CapGeoWFSView.as_view()(request)
    except WFSError as error:
        return error.response()
