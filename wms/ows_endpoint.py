"""/ows: the single OGC endpoint, shared by WMS and WFS; routes each request to its service.

KVP parameter names are case-insensitive (OGC); the SERVICE parameter picks the service. Without
it, an operation only one service has names it (GetMap… → WMS, GetFeature… → WFS); GetCapabilities
without SERVICE is ambiguous and answers MissingParameterValue (400). A POST without SERVICE in the
query string carries an XML request document: those are WFS requests (WMS here is KVP only), and
the WFS module parses them (safely) itself. Capabilities documents carry validators (ETag,
Last-Modified) and answer 304 to a matching conditional request (wms.capabilities_revalidation).
"""
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import capabilities_revalidation
from .wfs import service as wfs
from .wms import service as wms


def kvp(request):
    """The query parameters with upper-cased names (the last value wins, as most servers do)."""
    return {key.upper(): value for key, value in request.GET.items()}


# Without SERVICE, the operation names the service when only one of them has it.
WMS_ONLY = {"getmap", "getfeatureinfo", "getlegendgraphic", "getstyles", "map", "feature_info",
            "capabilities"}
WFS_ONLY = {"getfeature", "getpropertyvalue", "describefeaturetype", "transaction",
            "liststoredqueries", "describestoredqueries", "getfeaturewithlock", "lockfeature",
            "getgmlobject"}


def service_of(request, params):
    """"WMS", "WFS", None (SERVICE missing and the request does not name one) or the unknown
    SERVICE value. A POST without SERVICE carries a WFS XML document (WMS here is KVP only)."""
    service = params.get("SERVICE", "").strip().upper()
    if service:
        return service
    if request.method == "POST":
        return "WFS"
    operation = params.get("REQUEST", "").strip().lower()
    if operation in WMS_ONLY:
        return "WMS"
    if operation in WFS_ONLY:
        return "WFS"
    return None  # GetCapabilities (both services have it), or no REQUEST at all


@csrf_exempt  # QGIS, GDAL post XML with Basic or a token; sessions: accounts.csrf
def ows(request):
    params = kvp(request)
    service = service_of(request, params)
    if service not in ("WFS", "WMS"):
        return missing_service(params)
    handler = wfs.handle if service == "WFS" else wms.handle
    if request.method in ("GET", "HEAD") and \
            params.get("REQUEST", "").strip().lower() in ("getcapabilities", "capabilities"):
        # Validators and 304 (wms.capabilities_revalidation): QGIS sees a layer published after it connected.
        return capabilities_revalidation.capabilities(request, service, lambda: handler(request, params))
    return handler(request, params)


def missing_service(params):
    if params.get("SERVICE"):
        code, text = "InvalidParameterValue", _("Service inconnu : seuls WMS et WFS sont proposés ici.")
    else:
        code, text = "MissingParameterValue", _(
            "Le paramètre SERVICE (WMS ou WFS) est obligatoire : cette requête existe dans les "
            "deux services.")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
        f'<ows:Exception exceptionCode="{code}" locator="service">'
        f"<ows:ExceptionText>{escape(text)}</ows:ExceptionText>"
        "</ows:Exception></ows:ExceptionReport>"
    )
    return HttpResponse(body, status=400, content_type="application/xml; charset=utf-8")
