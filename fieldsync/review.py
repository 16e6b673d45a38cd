"""Review of transmitted controls: a manager validates one (every photo received for it) or
rejects it with a reason.
"""
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import history, publication, scope
from .actions import ActionRefused, retried
from .models import Control, ControlStatus
from .records import control as control_type
from .records import installation as installation_type


@retried
def decide(manager, control, validate, reason=""):
    """Validate or reject a transmitted control; validation needs every photo verified."""
    installation_type.lock_installation(control.installation_id)
    control = Control.objects.select_for_update().get(pk=control.pk)
    if not scope.manages_commune(manager, control.installation.commune_id):
        raise ActionRefused(_t("Ce contrôle n'est pas de votre ressort."))
    if control.status != ControlStatus.SUBMITTED:
        raise ActionRefused(_t("Seul un contrôle transmis peut être validé ou refusé."))
    if Control.objects.filter(supersedes=control).exists():
        # Corrected meanwhile (the correction holds the inspector's last word): deciding on the
        # replaced control would validate what the field already withdrew.
        raise ActionRefused(_t("Ce contrôle a été remplacé par une correction : décidez sur la "
                               "correction une fois transmise."))
    if validate:
        missing = control_type.missing_photos(control)
        if missing:
            raise ActionRefused(_t("Validation impossible : %(count)d photo(s) pas encore reçue(s) "
                                   "ou vérifiée(s).") % {"count": len(missing)})
        control.status = ControlStatus.VALIDATED
    else:
        if not reason.strip():
            raise ActionRefused(_t("Indiquez le motif du refus."))
        control.status = ControlStatus.REJECTED
        control.rejection_reason = reason.strip()
    control.decided_at = timezone.now()
    control.decided_by = manager
    control.version += 1
    control.save()
    history.record(manager, "control.validate" if validate else "control.reject", "control",
           control.uuid, control.version, details={"reason": control.rejection_reason})
    publication.publish({control_type.LAYER.name: [control.pk]})  # and its installation's
    publication.refresh_metadata()
    return control
