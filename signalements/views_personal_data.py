"""A reporter's requests about his personal data (RGPD), without an account, processed by the
retention and erasure code (signalements.personal_data):

- from the tracking link of a report (whoever holds it made the report): what is kept about him,
  its export as JSON, and the erasure of his contact and of the photos hidden from the public;
- by e-mail verification, for every report made with one address: he types the address, the
  platform sends to it a link valid REQUEST_VALID_HOURS hours (signed, nothing stored); the link
  lists his reports, exports them as JSON and erases his contact from all of them.

The request page answers the same whether or not reports carry the address (it never tells who
reported), and is rate-limited like the reporting form.
"""
import json

from django.conf import settings
from django.contrib import messages
from django.core.mail import send_mail
from django.core.validators import EmailValidator, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import personal_data
from .limits import HONEYPOT, LimitExceeded, check_honeypot, check_nul, check_rate
from .models import Report

REQUEST_VALID_HOURS = 24


def _private(response):
    patch_cache_control(response, private=True, no_cache=True, no_store=True)
    response["Referrer-Policy"] = "no-referrer"  # the links are the reporter's secrets
    return response


def _json_download(rows, name):
    response = HttpResponse(json.dumps(rows, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return _private(response)


@require_http_methods(["GET", "POST"])
def by_tracking(request, token):
    """The data kept about the author of one report, from its tracking link."""
    report = get_object_or_404(personal_data.with_hidden_photos(
        Report.objects.select_related("category", "commune", "service")), tracking_token=token)
    if request.method == "POST":
        if request.POST.get("confirmer") != "oui":
            messages.error(request, _("Cochez la case pour confirmer l'effacement."))
        else:
            personal_data.erase_report(report)
            messages.success(request, _("Vos coordonnées et les photos masquées au public ont "
                                        "été effacées de ce signalement."))
        return redirect("signalements:data-tracking", token=token)
    if request.GET.get("format") == "json":
        return _json_download(personal_data.export_reports([report]), report.reference)
    return _private(render(request, "signalements/personal_data.html", {
        "reports": [report], "token": token, "kept": personal_data.kept(report),
        "days": personal_data.retention_days()}))


@require_http_methods(["GET", "POST"])
def request_access(request):
    """The form: an e-mail address; a link is sent to it if reports carry it."""
    error = ""
    sent = False
    if request.method == "POST":
        email = (request.POST.get("courriel") or "").strip()
        try:
            check_nul(request.POST)
            check_honeypot(request.POST)
            EmailValidator()(email)
            check_rate(request, group="signalements:donnees")
        except ValidationError:
            error = _("Adresse électronique invalide.")
        except LimitExceeded as exceeded:
            return _private(render(request, "signalements/personal_data_request.html",
                                   {"error": exceeded.message, "honeypot": HONEYPOT},
                                   status=exceeded.status))
        if not error:
            if personal_data.reports_of(email).exists():
                link = settings.CAPGEO_PUBLIC_URL + reverse(
                    "signalements:data-email", args=[personal_data.request_token(email)])
                send_mail(
                    _("Vos signalements : accès à vos données"),
                    _("Bonjour,\n\nVous avez demandé à consulter ou effacer les données "
                      "personnelles de vos signalements. Ouvrez ce lien (valable %(hours)d "
                      "heures) :\n\n%(link)s\n\nSi vous n'avez rien demandé, ignorez ce "
                      "message : rien ne sera fait.\n") % {"hours": REQUEST_VALID_HOURS,
                                                           "link": link},
                    settings.DEFAULT_FROM_EMAIL, [email])
            sent = True
    return _private(render(request, "signalements/personal_data_request.html", {
        "error": error, "sent": sent, "honeypot": HONEYPOT, "hours": REQUEST_VALID_HOURS},
        status=400 if error else 200))


@require_http_methods(["GET", "POST"])
def by_email(request, signed):
    """The reports made with the verified address: list, JSON export, erasure of all."""
    email = personal_data.email_from_token(signed, max_age=REQUEST_VALID_HOURS * 3600)
    if email is None:
        return _private(render(request, "signalements/personal_data_request.html", {
            "error": _("Ce lien n'est pas valable ou a expiré : demandez-en un nouveau."),
            "honeypot": HONEYPOT, "hours": REQUEST_VALID_HOURS}, status=400))
    reports = list(personal_data.reports_of(email).select_related("category", "commune",
                                                                  "service"))
    if request.method == "POST":
        if request.POST.get("confirmer") != "oui":
            messages.error(request, _("Cochez la case pour confirmer l'effacement."))
        else:
            erased, _photos = personal_data.erase_for(email)
            messages.success(request, _("Vos coordonnées ont été effacées de %(count)d "
                                        "signalement(s).") % {"count": erased})
        return redirect("signalements:data-email", signed=signed)
    if request.GET.get("format") == "json":
        return _json_download(personal_data.export_for(email), "mes-signalements")
    return _private(render(request, "signalements/personal_data.html", {
        "reports": reports, "email": email, "kept": any(map(personal_data.kept, reports)),
        "days": personal_data.retention_days()}))
