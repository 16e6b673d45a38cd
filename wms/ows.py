"""/ows: the single OGC endpoint, shared by WMS and WFS; routes each request to its service.

KVP parameter names are case-insensitive (OGC); the SERVICE parameter picks the service. A POST
without SERVICE in the query string carries an XML request document: those are WFS requests
(WMS here is KVP only), and the WFS module parses them (safely) itself.
"""
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import wfs, wms


def kvp(request):
    """The query parameters with upper-cased names (the last value wins, as most servers do)."""
    return {key.upper(): value for key, value in request.GET.items()}


@csrf_exempt  # QGIS, GDAL post XML with Basic or a token; sessions: capgeo.accounts.csrf
def ows(request):
    params = kvp(request)
    service = params.get("SERVICE", "").upper()
    if service == "WFS" or (not service and request.method == "POST"):
        return wfs.handle(request, params)
    if service == "WMS" or (not service and params.get("REQUEST", "").lower() in wms.REQUESTS):
        return wms.handle(request, params)
    return missing_service(params)


def missing_service(params):
    if params.get("SERVICE"):
        code, text = "InvalidParameterValue", _("Service inconnu : seuls WMS et WFS sont proposés ici.")
    else:
        code, text = "MissingParameterValue", _("Le paramètre SERVICE (WMS ou WFS) est obligatoire.")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
        f'<ows:Exception exceptionCode="{code}" locator="service">'
        f"<ows:ExceptionText>{escape(text)}</ows:ExceptionText>"
        "</ows:Exception></ows:ExceptionReport>"
    )
    return HttpResponse(body, status=400, content_type="application/xml; charset=utf-8")
