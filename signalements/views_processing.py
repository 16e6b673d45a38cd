"""The services' pages: a queue per service (list and map) and the processing page of a report.
Only the members of a report's service (and GIS administrators) reach them: any other report
answers "not found", like a layer one may not see."""
from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import Transform
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import processing
from .models import Report, Service, Status
from .processing import ProcessingError


@login_required
@require_GET
def queue(request):
    services = list(processing.services_of(request.user).order_by("name"))
    if not services:
        return render(request, "signalements/queue.html", {"services": [], "reports": []},
                      status=403)
    chosen = request.GET.get("service", "")
    reports = processing.reports_for(request.user)
    if chosen.isdigit() and any(s.pk == int(chosen) for s in services):
        reports = reports.filter(service_id=int(chosen))
    statuses = [s for s in request.GET.getlist("statut") if s in Status.values] or \
        list(Status.open_values())
    reports = reports.filter(status__in=statuses)
    if request.GET.get("mes") == "1":
        reports = reports.filter(assigned_to=request.user)
    text = (request.GET.get("q") or "").strip()[:100]
    if text:
        reports = reports.filter(Q(description__icontains=text) | Q(address__icontains=text))
    reports = (reports.select_related("category", "category__parent", "commune", "service",
                                      "assigned_to")
               .annotate(wgs84=Transform("location", 4326))
               .order_by("due_on", "created_at")[:500])
    today = timezone.localdate()
    features = [{"type": "Feature", "id": r.pk,
                 "geometry": {"type": "Point", "coordinates": [round(r.wgs84.x, 6),
                                                               round(r.wgs84.y, 6)]},
                 "properties": {"reference": r.reference, "statut": r.status,
                                "categorie": str(r.category)}} for r in reports]
    return render(request, "signalements/queue.html", {
        "services": services, "chosen": chosen, "reports": reports, "today": today,
        "statuses": list(Status), "chosen_statuses": statuses, "q": text,
        "mine": request.GET.get("mes") == "1",
        "features": {"type": "FeatureCollection", "features": features}})


def _report_for(user, pk):
    report = processing.reports_for(user).select_related(
        "category", "category__parent", "commune", "service", "assigned_to", "duplicate_of",
        "reporter").filter(pk=pk).first()
    if report is None:
        raise Http404(_("Signalement inconnu, ou qui n'est pas à votre service."))
    return report


@login_required
@require_GET
def process(request, pk):
    report = _report_for(request.user, pk)
    point = report.location.transform(4326, clone=True)
    return render(request, "signalements/process.html", {
        "report": report, "events": report.events.select_related("actor").order_by("-at", "-id"),
        "photos": report.photos.all(), "agents": report.service.members.order_by("username"),
        "statuses": [s for s in Status if s not in (Status.DUPLICATE, report.status)],
        "services": Service.objects.filter(active=True).exclude(pk=report.service_id),
        "candidates": processing.reports_for(request.user).filter(
            status__in=Status.open_values(), category__in=[report.category_id]
            + list(report.category.related.values_list("pk", flat=True)),
            location__dwithin=(report.location, 500)).exclude(pk=report.pk)
        .order_by("-created_at")[:20],
        "lonlat": (round(point.x, 6), round(point.y, 6)),
        "attributes": [(f.label, report.attributes.get(f.code))
                       for f in report.category.fields.all() if f.code in report.attributes],
        "today": timezone.localdate()})


@login_required
@require_POST
def act(request, pk):
    report = _report_for(request.user, pk)
    action = request.POST.get("action", "")
    user = request.user
    try:
        if action == "status":
            processing.set_status(report, request.POST.get("statut", ""), user,
                                  request.POST.get("motif", ""))
            messages.success(request, _("État enregistré ; le déclarant en est informé."))
        elif action == "assign":
            agent_id = request.POST.get("agent", "")
            agent = get_user_model().objects.filter(pk=agent_id).first() \
                if agent_id.isdigit() else None
            processing.assign(report, agent, user)
            messages.success(request, _("Affectation enregistrée."))
        elif action == "due":
            raw = request.POST.get("echeance", "")
            try:
                due = date.fromisoformat(raw) if raw else None
            except ValueError:
                raise ProcessingError(_("Date invalide (AAAA-MM-JJ).")) from None
            processing.set_due(report, due, user)
            messages.success(request, _("Échéance enregistrée."))
        elif action in ("comment", "reply"):
            processing.add_note(report, request.POST.get("texte", ""), user,
                                public=action == "reply")
            messages.success(request, _("Réponse envoyée au déclarant.") if action == "reply"
                             else _("Commentaire interne enregistré."))
        elif action == "merge":
            original = _report_for(user, int(request.POST.get("original") or 0)
                                   if (request.POST.get("original") or "").isdigit() else 0)
            processing.merge(report, original, user)
            messages.success(request, _("Fusionné avec %(ref)s.") % {"ref": original.reference})
            return redirect("signalements:process", pk=original.pk)
        elif action == "reroute":
            service = Service.objects.filter(pk=request.POST.get("service") or 0).first() \
                if (request.POST.get("service") or "").isdigit() else None
            if service is None:
                raise ProcessingError(_("Choisissez un service."))
            processing.reroute(report, service, user, request.POST.get("motif", ""))
            messages.success(request, _("Transmis à %(service)s.") % {"service": service.name})
            if not processing.can_process(user, report):
                return redirect("signalements:queue")
        elif action == "photo":
            photo_id = request.POST.get("photo", "")
            processing.set_photo_public(report, int(photo_id) if photo_id.isdigit() else 0,
                                        request.POST.get("public") == "1", user)
            messages.success(request, _("Photo mise à jour."))
        else:
            raise ProcessingError(_("Action inconnue."))
    except (ProcessingError, ValueError) as error:
        messages.error(request, str(error))
    return redirect("signalements:process", pk=report.pk)
