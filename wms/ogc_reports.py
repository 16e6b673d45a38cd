"""The exception reports of the OGC services, registered with the platform's error answers
(platform_web/error_responses.py) by WmsConfig.ready(): every error on /ows and /mapproxy/ —
whoever raises it (a view, the URL resolver, the input guard, a CSRF refusal, an uncaught
exception) — is answered as the addressed service's exception report.

- /ows: a WMS ServiceExceptionReport (in the negotiated version) for WMS requests, a WFS OWS
  ExceptionReport (1.1.0 or 2.0.0, as asked) otherwise;
- /mapproxy/ (WMTS, TMS): a WMTS OWS 1.1 ExceptionReport.
"""
from .tiles.checks import exception_report as tiles_exception_report
from .wfs.exceptions import exception_response as wfs_exception_response
from .wms.errors import WmsError, xml_report
from .wms.params import negotiate_version

WMS_GET_REQUESTS = ("getmap", "getfeatureinfo", "getlegendgraphic", "getstyles")


def _upper_params(request):
    try:
        return {key.upper(): value for key, value in request.GET.items()}
    except Exception:  # noqa: BLE001 — an unreadable query string still gets a report
        return {}


def ows_report(request, status, message, code, locator):
    """/ows: WMS or WFS, told apart by SERVICE (or, without it, by a WMS-only GET request)."""
    params = _upper_params(request)
    service = params.get("SERVICE", "").upper()
    if service == "WMS" or (not service and request.method != "POST"
                            and params.get("REQUEST", "").lower() in WMS_GET_REQUESTS):
        try:
            version = negotiate_version(params)
        except Exception:  # noqa: BLE001
            version = "1.3.0"
        response = xml_report(WmsError(code, message, locator), version)
        response.status_code = status
        return response
    version = "1.1.0" if params.get("VERSION", "").strip() in ("1.1", "1.1.0") else "2.0.0"
    return wfs_exception_response(code, locator, message, status=status, version=version)


def mapproxy_report(request, status, message, code, locator):
    return tiles_exception_report(code, locator, message, status=status)


def register():
    from platform_web.error_responses import register_ogc_report

    register_ogc_report("/ows", ows_report)
    register_ogc_report("/mapproxy", mapproxy_report)
