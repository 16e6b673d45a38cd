"""Personal data of the reports (RGPD): the retention period, and a reporter's export and erasure.

- Retention: CAPGEO_REPORT_RETENTION_DAYS (365 by default) after a report is closed, its
  reporter's contact (name, e-mail, phone, account link) is erased and its photos hidden from
  the public (those a service judged to show a face, a number plate or a private place) are
  deleted; public photos stay, as the services judged them free of personal data. Run daily:
  ``manage.py signalements_donnees --anonymiser``.
- A reporter's request, by the e-mail address he gave: ``--exporter ADRESSE`` prints his
  reports as JSON, ``--effacer ADRESSE`` erases his contact and deletes the hidden photos of his
  reports at once, closed or not (a service can no longer reach him). The same, without an
  account, on the web (signalements.views_personal_data): from a report's tracking link, or for
  every report of an address through a signed link sent to it (request_token).

Each erasure is written to the report's audit trail (without the erased values).
"""
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import EventKind, Report, ReportEvent, ReportPhoto, Status


SIGNING_SALT = "signalements.donnees"


def retention_days():
    return int(getattr(settings, "CAPGEO_REPORT_RETENTION_DAYS", 365))


def _with_contact(queryset):
    return queryset.exclude(contact_name="", contact_email="", contact_phone="",
                            reporter__isnull=True)


@transaction.atomic
def _erase(queryset, why):
    reports = list(queryset.select_for_update().values_list("pk", flat=True))
    photos = ReportPhoto.objects.filter(report_id__in=reports, public=False)
    deleted = photos.count()
    photos.delete()
    Report.objects.filter(pk__in=reports).update(contact_name="", contact_email="",
                                                 contact_phone="", reporter=None)
    ReportEvent.objects.bulk_create([
        ReportEvent(report_id=pk, kind=EventKind.COMMENT, text=why) for pk in reports])
    return len(reports), deleted


def anonymise_expired(now=None):
    """(reports erased, photos deleted) for the reports closed before the retention period."""
    limit = (now or timezone.now()) - timedelta(days=retention_days())
    expired = Report.objects.filter(status__in=Status.closed_values(), resolved_at__lt=limit)
    ids = set(_with_contact(expired).values_list("pk", flat=True)) | set(
        expired.filter(photos__public=False).values_list("pk", flat=True))
    return _erase(Report.objects.filter(pk__in=ids), _("Données personnelles effacées : durée de "
                                          "conservation de %(days)d jours écoulée.")
                  % {"days": retention_days()})


def with_hidden_photos(queryset):
    """The reports, each with ``hidden_photos``: how many of its photos are hidden from the
    public (those a service judged to show a person; erased on request)."""
    return queryset.annotate(hidden_photos=Count("photos", filter=Q(photos__public=False)))


def reports_of(email):
    """The reports made with this e-mail address (any case), oldest first."""
    return with_hidden_photos(Report.objects.filter(contact_email__iexact=email.strip())) \
        .order_by("created_at")


def kept(report):
    """Is any personal data still kept about the report's author?"""
    return bool(report.contact_name or report.contact_email or report.contact_phone
                or report.reporter_id or getattr(report, "hidden_photos", 0))


def export_reports(reports):
    """Reports as JSON-ready dicts: what the platform keeps, the author's contact included."""
    return [{
        "reference": r.reference, "type": str(r.category), "commune": r.commune.name,
        "service": r.service.name, "etat": r.get_status_display(), "motif": r.status_reason,
        "signale_le": r.created_at.isoformat(), "description": r.description,
        "adresse": r.address, "nom": r.contact_name, "courriel": r.contact_email,
        "telephone": r.contact_phone, "photos": r.photos.count(),
        "suivi": [{"le": e.at.isoformat(), "quoi": e.get_kind_display(), "texte": e.text}
                  for e in r.events.filter(public=True).order_by("at", "id")],
    } for r in reports]


def export_for(email):
    """A reporter's reports (by the e-mail address he gave), as JSON-ready dicts."""
    return export_reports(Report.objects.filter(contact_email__iexact=email.strip())
                          .select_related("category", "commune", "service")
                          .order_by("created_at"))


def erase_report(report):
    """(1, photos deleted): the author of one report asked, from its tracking link."""
    return _erase(Report.objects.filter(pk=report.pk),
                  _("Données personnelles effacées à la demande du déclarant (lien de suivi)."))


def request_token(email):
    """The signed token of a request by e-mail (the link sent to that address)."""
    return signing.dumps(email.strip().lower(), salt=SIGNING_SALT, compress=True)


def email_from_token(token, max_age):
    """The address of a valid token not older than max_age seconds, else None."""
    try:
        return signing.loads(token, salt=SIGNING_SALT, max_age=max_age)
    except signing.BadSignature:  # tampered, or expired (SignatureExpired)
        return None


def erase_for(email):
    """(reports erased, photos deleted) for a reporter's request."""
    return _erase(Report.objects.filter(contact_email__iexact=email.strip()),
                  _("Données personnelles effacées à la demande du déclarant."))
