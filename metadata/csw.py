"""The CSW 2.0.2 / 3.0.0 catalogue service at /csw: pycsw embedded as a Django view.

pycsw parses the request (KVP or XML), queries the records table through
metadata.repository.PublicRecordsRepository and writes the answer (capabilities, records in
Dublin Core or ISO 19139 through its ISO application profile, INSPIRE discovery-service extended
capabilities, OWS exception reports). This module only refreshes the table (metadata.records),
gives pycsw its configuration and a WSGI environment, and returns its answer.

The service is the same for every visitor: it lists the layers the anonymous public may view,
whoever asks (credentials are not read here), so a restricted layer is never listed.
"""
import io

import defusedxml.ElementTree
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import records

MAX_RECORDS = 100
OWS = "http://www.opengis.net/ows"


def configuration(url):
    name = settings.CAPGEO_INTERCOMMUNALITY_NAME
    email = settings.CAPGEO_METADATA_CONTACT_EMAIL
    return {
        "server": {
            "home": ".", "url": url, "mimetype": "application/xml; charset=UTF-8",
            "encoding": "UTF-8", "language": "fr-FR", "maxrecords": str(MAX_RECORDS),
            "pretty_print": "true", "profiles": "apiso", "domainquerytype": "list",
            "domaincounts": "false",
        },
        "manager": {"transactions": "false", "allowed_ips": ""},
        "metadata:main": {
            "identification_title": f"Catalogue des données géographiques de {name} (C@p Géo)",
            "identification_abstract": "Service de recherche (CSW) des couches que la plateforme "
                                       f"SIG communautaire de {name} publie pour le public.",
            "identification_keywords": "catalogue,métadonnées,INSPIRE,infoCatalogueService",
            "identification_keywords_type": "theme",
            "identification_fees": "Aucuns",
            "identification_accessconstraints": "Aucune",
            "provider_name": name, "provider_url": url.rsplit("/", 1)[0] + "/",
            "contact_name": name, "contact_position": "Service SIG",
            "contact_address": "", "contact_city": "", "contact_stateorprovince": "",
            "contact_postalcode": "", "contact_country": "France", "contact_phone": "",
            "contact_fax": "", "contact_email": email, "contact_url": url.rsplit("/", 1)[0] + "/",
            "contact_hours": "", "contact_instructions": "", "contact_role": "pointOfContact",
        },
        "metadata:inspire": {
            "enabled": "true", "languages_supported": "fre", "default_language": "fre",
            "date": "2026-12-02", "gemet_keywords": "Service de recherche",
            "conformity_service": "notEvaluated", "contact_name": name, "contact_email": email,
            "temp_extent": "2026-01-01/2026-12-31",
        },
        "repository": {
            "source": "metadata.repository.PublicRecordsRepository",
            "database": "", "table": "metadata_cataloguerecord",
        },
    }


def exception_report(code, locator, text, status=400):
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ows:ExceptionReport xmlns:ows="{OWS}" version="1.2.0" '
            f'language="{get_language() or "fr"}">'
            f'<ows:Exception exceptionCode="{code}" locator="{locator}">'
            f"<ows:ExceptionText>{_escape(text)}</ows:ExceptionText></ows:Exception>"
            f"</ows:ExceptionReport>")
    return HttpResponse(body, status=status, content_type="application/xml; charset=UTF-8")


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _environ(request, body):
    environ = {key: value for key, value in request.META.items() if isinstance(value, str)}
    environ["QUERY_STRING"] = request.GET.urlencode()  # without a token the middleware removed
    environ["wsgi.url_scheme"] = request.scheme
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["local.app_root"] = "."
    return environ


def requested_version(request, body):
    """3.0.0 when the client asks for it (VERSION, ACCEPTVERSIONS or a CSW 3 document), 2.0.2
    otherwise: GDAL's CSW driver and most harvesters speak 2.0.2 and take the version of the
    capabilities they get without asking (GeoNode and GeoNetwork answer 2.0.2 too)."""
    if body:
        return "3.0.0" if b"http://www.opengis.net/cat/csw/3.0" in body else "2.0.2"
    params = {key.lower(): value for key, value in request.GET.items()}
    if params.get("version", "").startswith("3."):
        return "3.0.0"
    accepted = [v.strip() for v in params.get("acceptversions", "").split(",") if v.strip()]
    if accepted and "2.0.2" not in accepted and not params.get("version"):
        return "3.0.0"  # as pycsw decides: 2.0.2 whenever the client accepts it
    return "2.0.2"


@csrf_exempt  # read-only and the same for everyone: no credential is read
def csw(request):
    if request.method not in ("GET", "POST", "HEAD"):
        response = exception_report("OperationNotSupported", "request",
                                    _("Méthode HTTP non acceptée : GET ou POST."), status=405)
        response["Allow"] = "GET, POST"
        return response
    body = request.body if request.method == "POST" else b""
    if body:
        try:  # refuse DOCTYPEs and entities before pycsw reads the document
            defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
        except Exception:  # noqa: BLE001 — any unreadable or hostile document
            return exception_report("NoApplicableCode", "request",
                                    _("Document XML illisible ou refusé (DOCTYPE et entités "
                                      "interdits)."))
    base_url = request.build_absolute_uri("/").rstrip("/")
    records.refresh(base_url)
    records.load_pycsw()
    from pycsw.server import Csw

    url = base_url + reverse("metadata:csw")
    server = Csw(configuration(url), _environ(request, body),
                 version=requested_version(request, body))
    status, content = server.dispatch_wsgi()
    status = int(str(status).split()[0])
    if status == 200 and b"ExceptionReport" in content[:600]:
        status = 400  # CSW 2.0.2 in pycsw answers its exception reports with 200 (OWS 1.1: 400)
    response = HttpResponse(content, status=status, content_type=server.contenttype)
    response["Cache-Control"] = "no-cache"
    return response
