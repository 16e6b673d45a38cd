"""Open311 GeoReport v2 at /open311/v2/ (JSON and XML), so that existing Open311 clients and apps
can list the report types, submit reports and follow them.

- ``discovery``, ``services``, ``services/{code}`` (attributes from the type's fields),
  ``requests`` GET (public reports: no contact, and the description only to an application
  holding an api_key) and POST (``api_key`` required, one of our Open311Client rows),
  ``requests/{id}``, ``tokens/{token}`` (our ids are given at once: the token is the id).
- Reports go through reporting.create_report: the same checks, routing, photos without metadata,
  e-mails and publication as the web page. ``media`` files may be uploaded with the POST
  (multipart); ``media_url`` is not fetched (no outgoing request on behalf of a client).
- Errors are the spec's list of ``{code, description}`` (``<errors><error>`` in XML), in French
  or English after Accept-Language; platform_web/error_responses.py answers the router's and the input guard's
  errors under /open311/ the same way.
- A submission repeated by the same application (same type, place, text and reporter) is refused
  with 400 and the id of the first one: an app retrying a request it believes lost cannot create
  the report twice.
"""
import hashlib
import math
from datetime import timedelta
from xml.etree import ElementTree

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from .limits import LimitExceeded, check_nul, check_size
from .models import Category, FieldType, Open311Client, Report, Source, Status
from .photos import MAX_PHOTOS
from .reporting import MAX_DESCRIPTION, ReportError, Submission, create_report
from .routing import categories_for

DEFAULT_DAYS = 90
MAX_RESULTS = 1000


class Open311Error(Exception):
    def __init__(self, status, description):
        super().__init__(description)
        self.status = status
        self.description = str(description)


def jurisdiction():
    return getattr(settings, "CAPGEO_OPEN311_JURISDICTION", "cap-atlantique")


# --- encoding --------------------------------------------------------------------------------------
def _xml(root_name, item_name, items):
    root = ElementTree.Element(root_name)
    for item in items:
        root.append(_xml_item(item_name, item))
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=False)


def _xml_item(name, value):
    element = ElementTree.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, list):
                holder = ElementTree.SubElement(element, key)
                singular = {"attributes": "attribute", "values": "value",
                            "keywords": "keyword"}.get(key, "item")
                for entry in child:
                    holder.append(_xml_item(singular, entry))
            else:
                element.append(_xml_item(key, child))
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)
    return element


def respond(fmt, data, root=None, item=None, status=200):
    if fmt == "xml":
        if isinstance(data, dict):
            body = ElementTree.tostring(_xml_item(root, data), encoding="unicode")
        else:
            body = _xml(root, item, data)
        return HttpResponse('<?xml version="1.0" encoding="UTF-8"?>\n' + body, status=status,
                            content_type="text/xml; charset=utf-8")
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error_document(request, status, description):
    """The spec's error answer (registered for every error under /open311/: apps.py)."""
    fmt = "xml" if request.path_info.rstrip("/").endswith(".xml") else "json"
    response = respond(fmt, [{"code": status, "description": str(description)}], "errors",
                       "error", status=status)
    response["Cache-Control"] = "no-store"
    return response


def open311_view(view):
    """Errors of a view as the spec's error list; the format from the URL's extension."""
    def wrapped(request, *args, fmt="json", **kwargs):
        try:
            if request.method == "POST":  # before anything reads the body
                check_size(request)
                check_nul(request.POST)
            if request.GET.get("jurisdiction_id", jurisdiction()) != jurisdiction() \
                    or request.POST.get("jurisdiction_id", jurisdiction()) != jurisdiction():
                raise Open311Error(404, _("jurisdiction_id inconnu : ce serveur ne sert que "
                                          "« %(j)s ».") % {"j": jurisdiction()})
            return view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as error:
            return error_document(request, error.status, error.description)
        except LimitExceeded as error:
            return error_document(request, error.status, error.message)
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- services ----------------------------------------------------------------------------------------
def _service(category):
    return {"service_code": category.code, "service_name": category.name,
            "description": category.description or str(category),
            "metadata": category.fields.exists(), "type": "realtime",
            "keywords": ", ".join(filter(None, [category.group, category.name])),
            "group": category.group}


@require_GET
@open311_view
def discovery(request, fmt):
    base = settings.CAPGEO_PUBLIC_URL + "/open311/v2/"
    data = {"changeset": timezone.now().replace(microsecond=0).isoformat(),
            "contact": settings.DEFAULT_FROM_EMAIL, "key_service": _(
                "Demandez une clé api_key à l'administrateur SIG de l'intercommunalité."),
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                           "url": base, "changeset": "2026-12-02T00:00:00Z", "type": "production",
                           "formats": ["application/json", "text/xml"]}]}
    if fmt == "xml":
        return respond(fmt, {**data, "endpoints": [
            {"endpoint": {**e, "formats": None}} for e in data["endpoints"]]}, root="discovery")
    return respond(fmt, data)


@require_GET
@open311_view
def services(request, fmt):
    items = [_service(c) for c in categories_for().prefetch_related("fields")]
    return respond(fmt, items, "services", "service")


@require_GET
@open311_view
def service_definition(request, code, fmt):
    category = categories_for().filter(code=code).first()
    if category is None:
        raise Open311Error(404, _("service_code inconnu : %(code)s.") % {"code": code[:60]})
    attributes = []
    for order, spec in enumerate(category.fields.all(), start=1):
        attributes.append({
            "variable": True, "code": spec.code, "datatype": spec.datatype,
            "required": spec.required, "datatype_description": spec.help_text or "",
            "order": order, "description": spec.label,
            "values": [{"key": key, "name": name} for key, name in spec.choices or []]})
    return respond(fmt, {"service_code": category.code, "attributes": attributes},
                   root="service_definition")


# --- requests ----------------------------------------------------------------------------------------
def _client(request):
    key = request.POST.get("api_key") or request.GET.get("api_key") or ""
    if not key:
        return None
    client = Open311Client.objects.filter(key_hash=Open311Client.hash(key), active=True).first()
    if client is None:
        raise Open311Error(403, _("api_key invalide ou révoquée."))
    return client


def _request_item(report, with_description):
    point = report.location.transform(4326, clone=True)
    photo = report.photos.filter(public=True).first()
    closed = report.status in Status.closed_values()
    notes = report.status_reason or report.get_status_display()
    return {
        "service_request_id": str(report.pk),
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": report.category.name,
        "service_code": report.category.code,
        "description": report.description if with_description else None,
        "agency_responsible": report.service.name,
        "service_notice": "",
        "requested_datetime": report.created_at.isoformat(timespec="seconds"),
        "updated_datetime": report.updated_at.isoformat(timespec="seconds"),
        "expected_datetime": report.due_on.isoformat() + "T23:59:59" if report.due_on
        and not closed else None,
        "address": report.address or report.commune.name,
        "address_id": "",
        "zipcode": "",
        "lat": round(point.y, 6),
        "long": round(point.x, 6),
        "media_url": settings.CAPGEO_PUBLIC_URL + reverse("signalements:photo",
                                                         args=[photo.token]) if photo else None,
    }


def _public_reports():
    # The same reports as the public layer: neither rejected nor merged ones.
    return (Report.objects.exclude(status__in=[Status.REJECTED])
            .select_related("category", "service", "commune"))


def _parse_date(value, name):
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, _("%(name)s : date W3C attendue (AAAA-MM-JJTHH:MM:SSZ).")
                           % {"name": name})
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@open311_view
def requests(request, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    client = _client(request)
    queryset = _public_reports()
    ids = request.GET.get("service_request_id")
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if not all(i.isdigit() and len(i) < 12 for i in wanted) or len(wanted) > MAX_RESULTS:
            raise Open311Error(400, _("service_request_id : identifiants numériques séparés "
                                      "par des virgules."))
        queryset = queryset.filter(pk__in=[int(i) for i in wanted])
    else:
        start = _parse_date(request.GET.get("start_date"), "start_date")
        end = _parse_date(request.GET.get("end_date"), "end_date")
        if start and end and start > end:
            raise Open311Error(400, _("start_date est après end_date."))
        if not start:
            start = (end or timezone.now()) - timedelta(days=DEFAULT_DAYS)
        queryset = queryset.filter(created_at__gte=start)
        if end:
            queryset = queryset.filter(created_at__lte=end)
        codes = [c for c in (request.GET.get("service_code") or "").split(",") if c]
        if codes:
            queryset = queryset.filter(category__code__in=codes)
        status = (request.GET.get("status") or "").lower()
        if status:
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, _("status : « open » ou « closed »."))
            if wanted == {"open"}:
                queryset = queryset.filter(status__in=Status.open_values())
            elif wanted == {"closed"}:
                queryset = queryset.filter(status__in=Status.closed_values())
    items = [_request_item(r, client is not None)
             for r in queryset.order_by("-created_at")[:MAX_RESULTS]]
    return respond(fmt, items, "service_requests", "request")


@require_GET
@open311_view
def request_detail(request, request_id, fmt):
    client = _client(request)
    report = _public_reports().filter(pk=int(request_id)).first() \
        if request_id.isdigit() and len(request_id) < 12 else None
    if report is None:
        raise Open311Error(404, _("service_request_id inconnu : %(id)s.")
                           % {"id": request_id[:20]})
    return respond(fmt, [_request_item(report, client is not None)], "service_requests",
                   "request")


@require_GET
@open311_view
def token(request, token_id, fmt):
    """Our requests get their id at once: the token is the id."""
    report = _public_reports().filter(pk=int(token_id)).first() \
        if token_id.isdigit() and len(token_id) < 12 else None
    if report is None:
        raise Open311Error(404, _("Jeton inconnu : %(t)s.") % {"t": token_id[:20]})
    return respond(fmt, [{"service_request_id": str(report.pk), "token": str(report.pk)}],
                   "service_requests", "request")


def _number(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Open311Error(400, _("%(name)s : un nombre est attendu.") % {"name": name}) from None
    if not math.isfinite(number):
        raise Open311Error(400, _("%(name)s : un nombre fini est attendu.") % {"name": name})
    return number


def _create(request, fmt):
    client = _client(request)
    if client is None:
        raise Open311Error(403, _("api_key obligatoire pour créer un signalement."))
    if is_ratelimited(request, group="signalements:open311", key=lambda g, r: client.prefix,
                      rate=getattr(settings, "CAPGEO_OPEN311_RATE", "600/h"), increment=True):
        raise Open311Error(429, _("Trop de signalements envoyés par cette application en peu "
                                  "de temps ; réessayez plus tard."))
    data = request.POST
    code = data.get("service_code") or ""
    category = categories_for().filter(code=code).first() if code else None
    if category is None:
        raise Open311Error(400, _("service_code inconnu ou manquant : %(code)s.")
                           % {"code": code[:60] or "∅"})
    if not (data.get("lat") and data.get("long")):
        raise Open311Error(400, _("lat et long sont obligatoires (l'adresse seule ne suffit pas "
                                  "à placer le signalement)."))
    lat, lon = _number(data.get("lat"), "lat"), _number(data.get("long"), "long")
    description = data.get("description") or ""
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, _("description : %(n)d caractères au plus.")
                           % {"n": MAX_DESCRIPTION})
    attributes = {}
    for key in data:
        if key.startswith("attribute[") and key.endswith("]"):
            values = data.getlist(key)
            attributes[key[10:-1]] = values if len(values) > 1 else values[0]
    multi = {f.code for f in category.fields.all() if f.datatype == FieldType.MULTI}
    attributes = {k: (v if isinstance(v, list) or k not in multi else [v])
                  for k, v in attributes.items()}
    name = " ".join(filter(None, [data.get("first_name", ""), data.get("last_name", "")]))
    files = request.FILES.getlist("media")
    if len(files) > MAX_PHOTOS:
        raise Open311Error(400, _("%(n)d fichiers media au plus.") % {"n": MAX_PHOTOS})
    fingerprint = "|".join([str(client.pk), category.code, f"{lat:.6f}", f"{lon:.6f}",
                            description.strip(), data.get("email", ""),
                            data.get("device_id", ""), data.get("account_id", "")])
    key = "o311:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:60]
    earlier = Report.objects.filter(client_key=key).first()
    if earlier is not None:
        raise Open311Error(400, _("Demande déjà reçue : c'est le signalement %(id)s.")
                           % {"id": earlier.pk})
    try:
        report = create_report(Submission(
            category=category, longitude=lon, latitude=lat, description=description,
            attributes=attributes, address=data.get("address_string", "")[:300],
            photos=[f.read() for f in files], contact_name=name[:200],
            contact_email=data.get("email", ""), contact_phone=data.get("phone", "")[:40],
            source=Source.OPEN311, device_id=data.get("device_id", "")[:100], client_key=key))
    except ReportError as error:
        raise Open311Error(400, " ".join(f"{k}: {v}" for k, v in error.errors.items())) from None
    notice = _("Transmis à : %(service)s.") % {"service": report.service.name}
    return respond(fmt, [{"service_request_id": str(report.pk), "service_notice": notice,
                          "account_id": data.get("account_id") or None}],
                   "service_requests", "request")

