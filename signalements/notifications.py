"""E-mails of the reports, through Django's e-mail backend (SMTP in production and in tests).

- to the reporter (if he left an address): acknowledgement with the tracking link, each status
  change, each public reply;
- to the service: each new report (or, for a service that chose it, one daily digest:
  ``manage.py signalements_recapitulatif``, run once a day by cron).

Texts are MessageTemplate rows when the administration wrote one, else the built-in French texts
below; both use Django's template language. Sending happens after the commit of the change:
a mail server down never loses nor blocks a report (the failure is logged).
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from .models import MessageKind, MessageTemplate, Report, Service, Status

logger = logging.getLogger(__name__)

DEFAULTS = {
    MessageKind.ACKNOWLEDGEMENT: (
        "Votre signalement {{ report.reference }} est bien reçu",
        "Bonjour,\n\nVotre signalement « {{ report.category }} » à {{ report.commune.name }} est "
        "bien reçu ; il est transmis à : {{ report.service.name }}.\n\nSuivez son traitement "
        "(sans compte) : {{ tracking_url }}\n\nMerci de votre aide.\n{{ platform }}\n"),
    MessageKind.STATUS: (
        "Signalement {{ report.reference }} : {{ status }}",
        "Bonjour,\n\nVotre signalement « {{ report.category }} » à {{ report.commune.name }} est "
        "maintenant : {{ status }}.{% if reason %}\n\nMotif : {{ reason }}{% endif %}\n\n"
        "Suivi : {{ tracking_url }}\n\n{{ platform }}\n"),
    MessageKind.REPLY: (
        "Signalement {{ report.reference }} : réponse du service",
        "Bonjour,\n\n{{ report.service.name }} vous répond au sujet de votre signalement "
        "« {{ report.category }} » :\n\n{{ text }}\n\nSuivi : {{ tracking_url }}\n\n"
        "{{ platform }}\n"),
    MessageKind.NEW_REPORT: (
        "Nouveau signalement {{ report.reference }} : {{ report.category }} "
        "({{ report.commune.name }})",
        "Nouveau signalement pour {{ report.service.name }}.\n\nType : {{ report.category }}\n"
        "Commune : {{ report.commune.name }}{% if report.address %}\nAdresse : "
        "{{ report.address }}{% endif %}\n\n{{ report.description }}\n\n"
        "À traiter : {{ processing_url }}\n"),
    MessageKind.DIGEST: (
        "Signalements du jour : {{ reports|length }} nouveau(x) pour {{ service.name }}",
        "Nouveaux signalements pour {{ service.name }} depuis hier :\n\n{% for r in reports %}"
        "- {{ r.reference }} {{ r.category }} ({{ r.commune.name }}) : {{ r.url }}\n"
        "{% endfor %}\n"),
}


def _render(kind, context):
    custom = MessageTemplate.objects.filter(kind=kind).first()
    subject, body = (custom.subject, custom.body) if custom else DEFAULTS[kind]
    context = Context({"platform": "C@p Géo — " + settings.CAPGEO_INTERCOMMUNALITY_NAME,
                       **context}, autoescape=False)
    subject = " ".join(Template(subject).render(context).split())
    return subject, Template(body).render(context)


def tracking_url(report):
    return settings.CAPGEO_PUBLIC_URL + reverse("signalements:track",
                                                args=[report.tracking_token])


def processing_url(report):
    return settings.CAPGEO_PUBLIC_URL + reverse("signalements:process", args=[report.pk])


def _send(kind, recipients, **context):
    recipients = [r for r in recipients if r]
    if not recipients:
        return False
    subject, body = _render(kind, context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # noqa: BLE001 — a mail server down must not undo a committed change
        logger.exception("signalements: e-mail %s to %d recipient(s) not sent", kind,
                         len(recipients))
        return False
    return True


def _load(report_id):
    return Report.objects.select_related("category", "category__parent", "service",
                                         "commune").get(pk=report_id)


def report_created(report_id):
    report = _load(report_id)
    _send(MessageKind.ACKNOWLEDGEMENT, [report.contact_email], report=report,
          tracking_url=tracking_url(report))
    if report.service.email and not report.service.daily_digest:
        _send(MessageKind.NEW_REPORT, [report.service.email], report=report,
              processing_url=processing_url(report))


def status_changed(report_id, status, reason=""):
    """The reporter told of one change (its status and reason as they were set: a later change
    sends its own e-mail)."""
    report = _load(report_id)
    _send(MessageKind.STATUS, [report.contact_email], report=report,
          status=Status(status).label, reason=reason, tracking_url=tracking_url(report))


def replied(report_id, text):
    report = _load(report_id)
    _send(MessageKind.REPLY, [report.contact_email], report=report, text=text,
          tracking_url=tracking_url(report))


def rerouted(report_id):
    """A report moved to another service: that service is told as for a new report."""
    report = _load(report_id)
    if report.service.email:
        _send(MessageKind.NEW_REPORT, [report.service.email], report=report,
              processing_url=processing_url(report))


def send_digests(since=None):
    """One e-mail per digest service with its reports since `since` (default: 24 hours)."""
    since = since or timezone.now() - timedelta(days=1)
    sent = 0
    for service in Service.objects.filter(daily_digest=True, active=True).exclude(email=""):
        reports = list(service.reports.filter(created_at__gte=since)
                       .select_related("category", "commune").order_by("created_at"))
        for report in reports:
            report.url = processing_url(report)
        if reports and _send(MessageKind.DIGEST, [service.email], service=service,
                             reports=reports):
            sent += 1
    return sent
