"""Campaigns: a manager plans controls over installations (by commune or drawn area) and assigns
them to inspectors, whose devices get them at their next pull.
"""
from django.utils.translation import gettext as _t

from accounts.models import Role, User

from . import history, planning, publication, scope
from .actions import ActionRefused, retried
from .models import Campaign, Control, ControlStatus
from .records import control as control_type
from .records import installation as installation_type


@retried
def plan_campaign(manager, name, kind, communes=(), area=None, due_before=None,
                  starts_on=None, ends_on=None):
    """A campaign and one planned control per selected installation without an open control.

    Selection (fieldsync.planning.select_installations): installations of the manager's scope in
    the given communes and/or within the drawn area (a polygon in Lambert-93), optionally only
    those whose next control falls before `due_before`.
    """
    if not scope.is_manager(manager):
        raise ActionRefused(_t("Seul un responsable SPANC peut planifier une campagne."))
    if not communes and area is None:
        raise ActionRefused(_t("Choisissez des communes ou dessinez une zone."))
    for commune in communes:
        if not scope.manages_commune(manager, commune.pk):
            raise ActionRefused(_t("La commune %(name)s n'est pas de votre ressort.")
                                % {"name": commune.name})
    installations = list(planning.select_installations(manager, communes, area, due_before))
    # New controls take a KEY SHARE lock on their installation at COMMIT (deferred foreign key)
    # after the published installation rows were rewritten: lock the installations first.
    installation_type.lock_installations(i.pk for i in installations)
    campaign = Campaign.objects.create(name=name, kind=kind, area=area, starts_on=starts_on,
                                       ends_on=ends_on, created_by=manager)
    campaign.communes.set(communes)
    controls = Control.objects.bulk_create([
        Control(installation=installation, kind=kind, campaign=campaign)
        for installation in installations
    ])
    for control in controls:
        history.record(manager, "control.plan", "control", control.uuid, control.version,
               details={"campaign": campaign.pk})
    publication.publish({control_type.LAYER.name: [c.pk for c in controls]})
    publication.refresh_metadata()
    return campaign, len(controls)


def inspectors():
    return User.objects.filter(role=Role.SPANC_INSPECTOR, is_active=True).order_by("last_name")


@retried
def assign(manager, controls, inspector):
    """Assign planned or assigned controls to an inspector (their devices get them at next pull)."""
    if inspector.role != Role.SPANC_INSPECTOR or not inspector.is_active:
        raise ActionRefused(_t("%(name)s n'est pas contrôleur SPANC.") % {"name": inspector})
    changed = []
    installation_type.lock_installations({c.installation_id for c in controls})
    for control in Control.objects.select_for_update(of=("self",)).filter(
            pk__in=[c.pk for c in controls]).select_related("installation").order_by("pk"):
        if not scope.manages_commune(manager, control.installation.commune_id):
            raise ActionRefused(_t("Un contrôle n'est pas de votre ressort."))
        if control.status not in (ControlStatus.PLANNED, ControlStatus.ASSIGNED):
            raise ActionRefused(_t("Le contrôle de %(installation)s est déjà commencé : il ne "
                                   "peut plus être réattribué.")
                                % {"installation": control.installation})
        control.inspector = inspector
        control.status = ControlStatus.ASSIGNED
        control.version += 1
        control.save(update_fields=["inspector", "status", "version", "updated_at"])
        history.record(manager, "control.assign", "control", control.uuid, control.version,
               details={"inspector": inspector.username})
        changed.append(control.pk)
    publication.publish({control_type.LAYER.name: changed})
    publication.refresh_metadata()
    return len(changed)
