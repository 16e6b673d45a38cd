"""GET /spanc/controles/<uuid>/rapport.pdf: the visit report, for those who may see the owner.

Who: the people fieldsync.scope lets read the control *and* see its owner (the report prints
the owner's name and address): administrators, and SPANC staff covering the installation's
commune. Anybody else, anonymous visitors included, gets a 404: the report's existence is not
theirs to know. Only a validated control, not corrected since, has a report.
"""
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _t

from layers import access_log

from .. import scope
from ..records import installation as installation_type
from ..models import ControlStatus
from . import pdf


def reportable_control(user, uuid):
    control = scope.controls(user).filter(uuid=uuid).select_related(
        "installation__commune__intercommunality", "kind", "inspector", "conclusion",
        "works_deadline").first()
    if control is None or not scope.sees_owner(user, control.installation):
        raise Http404
    return control


def refusal(control):
    """Why this control has no report yet (French), or None when it has one."""
    if control.status != ControlStatus.VALIDATED:
        return _t("Le rapport de visite n'est établi que pour un contrôle validé ; ce contrôle "
                  "est à l'état « %(status)s ».") % {"status": control.get_status_display()}
    correction = getattr(control, "superseded_by", None)
    if correction is not None and correction.status == ControlStatus.VALIDATED:
        return _t("Ce contrôle a été corrigé : téléchargez le rapport du contrôle qui le "
                  "remplace.")
    return None


def control_report(request, uuid):
    control = reportable_control(request.user, uuid)
    reason = refusal(control)
    if reason:
        return render(request, "fieldsync/report_refused.html",
                      {"control": control, "reason": reason,
                       "manager": scope.is_manager(request.user)}, status=409)
    with translation.override("fr"):  # the owner's document is French, whoever prints it
        content = pdf.build(control, request.user)
    with access_log.reading_as("report-pdf"):  # it prints the owner's name and address
        access_log.record_read(request.user, installation_type.LAYER.name,
                               pdf.OWNER_PRINTED, 1)
    response = HttpResponse(content, content_type="application/pdf")
    name = f"rapport-visite-{control.installation.commune.insee}-" \
           f"{control.visit_date or 'sans-date'}-{str(control.uuid)[:8]}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response
