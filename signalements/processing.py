"""What services do with a report: status, assignment, due date, internal comments and public
replies, merging duplicates, rerouting. Every change is one transaction that locks the report,
writes its ReportEvent (the audit trail), refreshes the published layers and, once committed,
tells the reporter by e-mail when the change is public.

Who may process a report: the members of its service, and GIS administrators. A service never
sees the reports (nor the reporters' contacts) of another service.
"""
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from . import notifications, publication
from .models import EventKind, Report, ReportEvent, Service, Status

REASON_REQUIRED = {Status.REJECTED, Status.DUPLICATE}


class ProcessingError(ValueError):
    pass


def services_of(user):
    if not (user and user.is_authenticated and user.is_active):
        return Service.objects.none()
    if user.is_gis_admin:
        return Service.objects.all()
    return Service.objects.filter(members=user)


def reports_for(user):
    """The reports this user may process (and see with the reporter's contact)."""
    if not (user and user.is_authenticated and user.is_active):
        return Report.objects.none()
    if user.is_gis_admin:
        return Report.objects.all()
    return Report.objects.filter(service__members=user)


def can_process(user, report):
    return reports_for(user).filter(pk=report.pk).exists()


def _locked(report):
    return Report.objects.select_for_update().get(pk=report.pk)


def _event(report, actor, kind, public=False, before="", after="", text=""):
    return ReportEvent.objects.create(report=report, actor=actor, kind=kind, public=public,
                                      before=str(before)[:200], after=str(after)[:200], text=text)


def _done(report):
    publication.publish(report.pk)


@transaction.atomic
def set_status(report, status, actor, reason=""):
    report = _locked(report)
    status = Status(status)
    reason = (reason or "").strip()
    if status == report.status:
        raise ProcessingError(_("Le signalement est déjà dans cet état."))
    if status == Status.DUPLICATE:
        raise ProcessingError(_("Pour un doublon, fusionnez-le avec le signalement d'origine."))
    if status in REASON_REQUIRED and not reason:
        raise ProcessingError(_("Donnez le motif du rejet : le déclarant le lira."))
    before = report.status
    report.status, report.status_reason = status, reason
    now = timezone.now()
    if report.acknowledged_at is None and status != Status.NEW:
        report.acknowledged_at = now
    report.resolved_at = now if status in Status.closed_values() else None
    report.save()
    _event(report, actor, EventKind.STATUS, public=True, before=before, after=status, text=reason)
    _done(report)
    transaction.on_commit(lambda: notifications.status_changed(report.pk, status, reason))
    return report


@transaction.atomic
def assign(report, agent, actor):
    report = _locked(report)
    if agent is not None and not report.service.members.filter(pk=agent.pk).exists():
        raise ProcessingError(_("Cet agent ne fait pas partie du service du signalement."))
    before = report.assigned_to.get_username() if report.assigned_to else ""
    report.assigned_to = agent
    report.save()
    _event(report, actor, EventKind.ASSIGNED, before=before,
           after=agent.get_username() if agent else "")
    _done(report)
    return report


@transaction.atomic
def set_due(report, due_on, actor):
    report = _locked(report)
    before = report.due_on.isoformat() if report.due_on else ""
    report.due_on = due_on
    report.save()
    _event(report, actor, EventKind.DUE, before=before,
           after=due_on.isoformat() if due_on else "")
    _done(report)
    return report


@transaction.atomic
def add_note(report, text, actor, public):
    """An internal comment (services only), or a public reply (tracking page and e-mail)."""
    text = (text or "").strip()
    if not text:
        raise ProcessingError(_("Le texte est vide."))
    if len(text) > 4000:
        raise ProcessingError(_("4 000 caractères au plus."))
    report = _locked(report)
    _event(report, actor, EventKind.REPLY if public else EventKind.COMMENT, public=public,
           text=text)
    Report.objects.filter(pk=report.pk).update(updated_at=timezone.now())
    if public:
        transaction.on_commit(lambda: notifications.replied(report.pk, text))
    return report


@transaction.atomic
def merge(duplicate, original, actor):
    """The duplicate is closed as « doublon » of the original, which inherits its supports."""
    if duplicate.pk == original.pk:
        raise ProcessingError(_("Un signalement ne peut pas être son propre doublon."))
    first, second = sorted([duplicate, original], key=lambda r: r.pk)  # one lock order
    _locked(first), _locked(second)
    duplicate, original = _locked(duplicate), _locked(original)
    if not original.is_open:
        raise ProcessingError(_("Le signalement d'origine est clos : rouvrez-le d'abord."))
    if original.duplicate_of_id:
        raise ProcessingError(_("Le signalement d'origine est lui-même un doublon."))
    before = duplicate.status
    duplicate.status = Status.DUPLICATE
    duplicate.duplicate_of = original
    duplicate.status_reason = _("Même problème que le signalement %(ref)s.") % {
        "ref": original.reference}
    duplicate.resolved_at = timezone.now()
    if duplicate.acknowledged_at is None:
        duplicate.acknowledged_at = duplicate.resolved_at
    duplicate.save()
    Report.objects.filter(duplicate_of=duplicate).update(duplicate_of=original)
    Report.objects.filter(pk=original.pk).update(supports=F("supports") + duplicate.supports + 1)
    _event(duplicate, actor, EventKind.STATUS, public=True, before=before,
           after=Status.DUPLICATE, text=duplicate.status_reason)
    _event(original, actor, EventKind.MERGED, after=duplicate.reference,
           text=_("Doublon fusionné : %(ref)s.") % {"ref": duplicate.reference})
    publication.publish(duplicate.pk, original.pk)
    reason = duplicate.status_reason
    transaction.on_commit(lambda: notifications.status_changed(duplicate.pk, Status.DUPLICATE,
                                                               reason))
    return duplicate


@transaction.atomic
def reroute(report, service, actor, reason=""):
    report = _locked(report)
    if service.pk == report.service_id:
        raise ProcessingError(_("Le signalement est déjà à ce service."))
    if not service.active:
        raise ProcessingError(_("Ce service n'est plus actif."))
    before = report.service.name
    report.service = service
    report.assigned_to = None
    report.save()
    _event(report, actor, EventKind.REROUTED, public=True, before=before, after=service.name,
           text=(reason or "").strip())
    _done(report)
    transaction.on_commit(lambda: notifications.rerouted(report.pk))
    return report


@transaction.atomic
def set_photo_public(report, photo_id, public, actor):
    """Hide a photo from the public (a face, a number plate) or show it again; the reporter and
    the service still see it."""
    report = _locked(report)
    photo = report.photos.filter(pk=photo_id).first()
    if photo is None:
        raise ProcessingError(_("Photo inconnue."))
    photo.public = bool(public)
    photo.save(update_fields=["public"])
    _event(report, actor, EventKind.PHOTO, after=_("visible du public") if public
           else _("masquée au public"), text=f"#{photo.pk}")
    return report
