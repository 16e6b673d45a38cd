"""Public pages of the reports: the reporting form, possible duplicates, "support", the tracking
page (by its secret link, no account needed), photos and the public map of reports."""
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from platform_web.error_responses import error_response

from . import processing
from .limits import (
    HONEYPOT, LimitExceeded, check_honeypot, check_nul, check_rate, check_size,
)
from .models import Category, Report, ReportPhoto, Status
from .photos import MAX_PHOTOS
from .reporting import (
    MAX_DESCRIPTION, ReportError, Submission, create_report, find_duplicates, parse_coordinate,
    storage_point, support,
)
from .routing import categories_for


def _categories(data=None, errors=None, selected=None):
    """Leaf categories grouped by parent (the form's <optgroup>), each with its fields ready to
    render: input name, value sent back, error of the selected category."""
    data, errors = data or {}, errors or {}
    groups = {}
    for category in categories_for().prefetch_related("fields"):
        category.form_fields = []
        for spec in category.fields.all():
            name = f"champ_{category.pk}_{spec.code}"
            category.form_fields.append({
                "spec": spec, "name": name, "id": f"id_{name}",
                "value": data.getlist(name) if hasattr(data, "getlist") else [],
                "error": errors.get(spec.code) if selected == category.pk else None})
        groups.setdefault(category.group if category.parent_id else "", []).append(category)
    return list(groups.items())


# Where each refused item is on the form: (anchor, label) for the error summary.
FORM_ANCHORS = {
    "category": ("id_categorie", gettext_lazy("Type de problème")),
    "location": ("id_longitude", gettext_lazy("Emplacement")),
    "long": ("id_longitude", gettext_lazy("Longitude")), "lat": ("id_latitude", gettext_lazy("Latitude")),
    "description": ("id_description", gettext_lazy("Description")),
    "address": ("id_adresse", gettext_lazy("Adresse")), "photos": ("id_photos", gettext_lazy("Photos")),
    "contact_name": ("id_nom", gettext_lazy("Nom")), "contact_email": ("id_courriel", gettext_lazy("Courriel")),
    "contact_phone": ("id_telephone", gettext_lazy("Téléphone")),
}


def _error_list(errors, category):
    labels = {spec.code: spec.label for spec in category.fields.all()} if category else {}
    items = []
    for key, message in errors.items():
        anchor, label = FORM_ANCHORS.get(key, (f"id_champ_{category.pk if category else 0}_{key}",
                                               labels.get(key, key)))
        items.append({"anchor": anchor, "label": label, "message": message})
    return items


def _field_values(request, category):
    values = {}
    if category is None:
        return values
    for spec in category.fields.all():
        key = f"champ_{category.pk}_{spec.code}"
        values[spec.code] = request.POST.getlist(key) if spec.datatype == "multivaluelist" \
            else request.POST.get(key, "")
    return values


def _form_script_messages():
    """The texts report-form.js shows (status line, place search, possible duplicates), in the
    page's language; %(name)s placeholders are filled by the script."""
    return {
        "placed": _("Point placé : %(lat)s, %(lon)s"),
        "noGeolocation": _("Position indisponible sur cet appareil."),
        "locating": _("Recherche de votre position…"),
        "locationRefused": _("Position refusée ou introuvable : touchez la carte ou cherchez "
                             "une adresse."),
        "placeChosen": _("« %(label)s » : touchez la carte à l'endroit exact, ou appuyez sur "
                         "Entrée sur la carte pour placer le point au centre."),
        "noResult": _("Aucun résultat."),
        "duplicate": _("%(status)s · à %(distance)s m · signalé le %(date)s"),
        "supports": {"one": _("%(count)s soutien"), "other": _("%(count)s soutiens")},
        "photoAlt": _("Photo du signalement %(reference)s"),
        "sameProblem": _("C'est le même problème : soutenir %(reference)s"),
    }


@require_http_methods(["GET", "POST"])
def new_report(request):
    context = {"max_photos": MAX_PHOTOS, "honeypot": HONEYPOT,
               "max_description": MAX_DESCRIPTION, "errors": {}, "data": {},
               "script_messages": _form_script_messages()}
    if request.method == "GET":
        context["data"] = {"categorie": request.GET.get("categorie", "")}
        context["groups"] = _categories()
        return render(request, "signalements/new.html", context)
    try:
        check_size(request)
    except LimitExceeded as error:  # the body is not read at all
        context.update(limit_error=error.message, groups=_categories())
        return render(request, "signalements/new.html", context, status=error.status)
    try:
        check_nul(request.POST)
        check_honeypot(request.POST)
        check_rate(request)
    except LimitExceeded as error:
        context["limit_error"] = error.message
        context["groups"] = _categories()
        return render(request, "signalements/new.html", context, status=error.status)
    category = Category.objects.filter(pk=request.POST.get("categorie") or 0).first() \
        if (request.POST.get("categorie") or "").isdigit() else None
    files = request.FILES.getlist("photos")
    submission = Submission(
        category=category, longitude=request.POST.get("longitude", ""),
        latitude=request.POST.get("latitude", ""),
        description=request.POST.get("description", ""),
        attributes=_field_values(request, category), address=request.POST.get("adresse", ""),
        photos=[f.read() for f in files[:MAX_PHOTOS + 1]],
        contact_name=request.POST.get("nom", ""), contact_email=request.POST.get("courriel", ""),
        contact_phone=request.POST.get("telephone", ""),
        reporter=request.user if request.user.is_authenticated else None,
        client_key=(request.POST.get("cle_envoi") or "")[:100])
    try:
        report = create_report(submission)
    except ReportError as error:
        context.update(errors=error.errors, data=request.POST,
                       error_list=_error_list(error.errors, category),
                       groups=_categories(request.POST, error.errors,
                                          category.pk if category else None))
        return render(request, "signalements/new.html", context, status=400)
    messages.success(request, _("Merci ! Votre signalement %(ref)s est transmis à : %(service)s. "
                                "Gardez cette page : son adresse permet d'en suivre le "
                                "traitement.") % {"ref": report.reference,
                                                  "service": report.service.name})
    return redirect("signalements:track", token=report.tracking_token)


@require_GET
def duplicates(request):
    """Open reports near the point that may be the same problem (JSON, for the form's script)."""
    try:
        category = Category.objects.get(pk=int(request.GET.get("categorie", "")), active=True)
    except (ValueError, Category.DoesNotExist):
        return error_response(request, 400, _("Type de signalement inconnu."))
    try:
        longitude = parse_coordinate(request.GET.get("longitude"), "longitude", -180, 180)
        latitude = parse_coordinate(request.GET.get("latitude"), "latitude", -89, 90)
    except ReportError as error:
        return error_response(request, 400, next(iter(error.errors.values())))
    text = (request.GET.get("texte") or "")[:MAX_DESCRIPTION]
    found = find_duplicates(category, storage_point(longitude, latitude), text)
    results = [{
        "uuid": str(r.uuid), "reference": r.reference, "categorie": str(r.category),
        "statut": r.get_status_display(), "signale_le": r.created_at.date().isoformat(),
        "distance_m": r.distance_m, "similarite": r.similarity,
        "description": r.description[:200], "soutiens": r.supports,
        "photos": [reverse("signalements:photo", args=[p.token])
                   for p in r.photos.filter(public=True)[:2]],
        "soutenir": reverse("signalements:support", args=[r.uuid]),
    } for r in found]
    response = JsonResponse({"doublons": results})
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_POST
def support_report(request, uuid):
    report = get_object_or_404(Report.objects.filter(~Q(status__in=[Status.REJECTED,
                                                                  Status.DUPLICATE])), uuid=uuid)
    try:
        check_rate(request, group="signalements:support")
    except LimitExceeded as error:
        return error_response(request, error.status, error.message)
    who = f"user:{request.user.pk}" if request.user.is_authenticated \
        else f"ip:{request.META.get('REMOTE_ADDR', '')}"
    try:
        counted = support(report, who, request.user if request.user.is_authenticated else None)
    except ReportError as error:
        return error_response(request, 400, next(iter(error.errors.values())))
    report.refresh_from_db()
    message = (_("Merci : votre soutien est compté. Ce signalement en a maintenant %(n)d.")
               if counted else _("Vous soutenez déjà ce signalement (%(n)d soutiens).")) % {
        "n": report.supports}
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"message": message, "soutiens": report.supports,
                             "compte": counted})
    messages.success(request, message)
    return redirect("signalements:map")


@require_GET
def track(request, token):
    report = get_object_or_404(Report.objects.select_related("category", "commune", "service"),
                               tracking_token=token)
    events = report.events.filter(public=True).order_by("at", "id")
    photos = report.photos.all()
    response = render(request, "signalements/track.html", {
        "report": report, "events": events, "photos": photos, "token": token,
        "steps": [Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED]})
    patch_cache_control(response, private=True, no_cache=True)
    response["Referrer-Policy"] = "no-referrer"  # the link is the reporter's secret
    return response


@require_GET
def photo(request, token):
    """A photo, already without metadata: to anyone if public on a public report, to the
    reporter (tracking link) and to the report's service."""
    item = get_object_or_404(ReportPhoto.objects.select_related("report"), token=token)
    report = item.report
    allowed = (item.public and report.status not in (Status.REJECTED, Status.DUPLICATE)) \
        or request.GET.get("suivi") == report.tracking_token \
        or processing.can_process(request.user, report)
    if not allowed:
        raise Http404(_("Photo inconnue."))
    response = HttpResponse(bytes(item.data), content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=3600)
    response["Content-Disposition"] = f'inline; filename="{report.reference}-{item.pk}.jpg"'
    return response


@require_GET
def public_map(request):
    statuses = [s for s in Status if s not in (Status.REJECTED, Status.DUPLICATE)]
    chosen = [s for s in request.GET.getlist("statut") if s in statuses] or \
        [s.value for s in statuses]
    reports = (Report.objects.filter(status__in=chosen)
               .select_related("category", "category__parent", "commune")
               .order_by("-created_at")[:50])
    return render(request, "signalements/map.html", {
        "reports": reports, "statuses": statuses, "chosen": chosen})


@require_GET
def privacy(request):
    from .personal_data import retention_days

    return render(request, "signalements/privacy.html", {"days": retention_days()})
