"""What a SPANC manager does: plan campaigns, assign controls, validate, settle conflicts.

Used by the manager screens (/spanc/) and the API alike; every accepted action is audited and
logged for pull cursors, like a tablet's change. Rows are locked in the order of
fieldsync.editing: installations, then controls, then SyncChange rows.

Each action runs in one transaction; one that loses a deadlock or a serialization failure
(SQLSTATE 40P01, 40001) against a push or another manager is rolled back and run again, as a
push's chunk is (fieldsync.batching), and past the last try raises Busy: nothing of it was
written (the API answers a JSON 503 `busy`, the screens say to try again).
"""
import functools
import time

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _t

from accounts.models import Role, User

from . import batching, editing, planning, publication, scope, wire
from .changes import ChangeSerializer
from .journal import record
from .models import Campaign, Control, ControlStatus, Installation, SyncChange


class ActionRefused(Exception):
    pass


class Busy(ActionRefused):
    """The action kept losing deadlocks or serialization failures: nothing of it was written."""

    def __init__(self):
        super().__init__(_t("Serveur trop sollicité : rien n'a été enregistré ; réessayez dans "
                            "un instant."))


def retried(action):
    """Run the action in a transaction, again after a deadlock or a serialization failure."""
    @functools.wraps(action)
    def run(*args, **kwargs):
        for attempt in range(batching.RETRIES + 1):
            try:
                with transaction.atomic():
                    return action(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - re-raised unless retryable
                if batching.retryable_sqlstate(error) is None:
                    raise
                if attempt == batching.RETRIES:
                    raise Busy() from error
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")
    return run


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
    editing.lock_installations(i.pk for i in installations)
    campaign = Campaign.objects.create(name=name, kind=kind, area=area, starts_on=starts_on,
                                       ends_on=ends_on, created_by=manager)
    campaign.communes.set(communes)
    controls = Control.objects.bulk_create([
        Control(installation=installation, kind=kind, campaign=campaign)
        for installation in installations
    ])
    for control in controls:
        record(manager, "control.plan", "control", control.uuid, control.version,
               details={"campaign": campaign.pk})
    publication.publish(control_ids=[c.pk for c in controls])
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
    editing.lock_installations({c.installation_id for c in controls})
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
        record(manager, "control.assign", "control", control.uuid, control.version,
               details={"inspector": inspector.username})
        changed.append(control.pk)
    publication.publish(control_ids=changed)
    publication.refresh_metadata()
    return len(changed)


@retried
def decide(manager, control, validate, reason=""):
    """Validate or reject a transmitted control; validation needs every photo verified."""
    editing.lock_installation(control.installation_id)
    control = Control.objects.select_for_update().get(pk=control.pk)
    if not scope.manages_commune(manager, control.installation.commune_id):
        raise ActionRefused(_t("Ce contrôle n'est pas de votre ressort."))
    if control.status != ControlStatus.SUBMITTED:
        raise ActionRefused(_t("Seul un contrôle transmis peut être validé ou refusé."))
    if validate:
        missing = editing.missing_photos(control)
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
    record(manager, "control.validate" if validate else "control.reject", "control",
           control.uuid, control.version, details={"reason": control.rejection_reason})
    publication.publish(installation_ids=[control.installation_id], control_ids=[control.pk])
    publication.refresh_metadata()
    return control


def visible_conflicts(manager):
    """Conflicts on records of the manager's scope, whatever their resolution."""
    if not scope.is_manager(manager):
        return SyncChange.objects.none()
    visible = scope.controls(manager).values("uuid")
    installations = scope.installations(manager).values("uuid")
    return SyncChange.objects.filter(status="conflict").filter(
        Q(entity_uuid__in=visible) | Q(entity_uuid__in=installations))


def current_server_state(manager, change):
    """(version, record) of a conflict's object as it is now (the answer stored with the conflict
    is the state of then), or (None, None) when it is gone from the manager's scope."""
    if change.entity == "installation":
        obj = (scope.installations(manager).filter(uuid=change.entity_uuid)
               .prefetch_related("components__type").first())
        return (obj.version, wire.installation_out(obj, manager)) if obj else (None, None)
    obj = (scope.controls(manager).filter(uuid=change.entity_uuid)
           .select_related(*wire.CONTROL_RELATED).prefetch_related(*wire.CONTROL_PREFETCH)
           .first())
    return (obj.version, wire.control_out(obj, manager)) if obj else (None, None)


def open_conflicts(manager):
    return (visible_conflicts(manager).filter(resolution=SyncChange.Resolution.OPEN)
            .select_related("batch__user", "batch__device").order_by("created_at"))


@retried
def resolve_conflict(manager, change, take_client):
    """Settle a conflict: keep the server's record, or apply the field version on top of it."""
    # The lock order: the record (installation, then control) before the SyncChange row.
    if change.entity == "installation":
        target = Installation.objects.filter(uuid=change.entity_uuid).values_list("pk").first()
        if target:
            editing.lock_installation(target[0])
    else:
        target = Control.objects.filter(uuid=change.entity_uuid).values_list(
            "pk", "installation_id").first()
        if target:
            editing.lock_installation(target[1])
            Control.objects.select_for_update().filter(pk=target[0]).first()
    change = SyncChange.objects.select_for_update().get(pk=change.pk)
    if change.resolution != SyncChange.Resolution.OPEN:
        raise ActionRefused(_t("Ce conflit est déjà réglé."))
    if not open_conflicts(manager).filter(pk=change.pk).exists():
        raise ActionRefused(_t("Ce conflit n'est pas de votre ressort."))
    if take_client:
        serializer = ChangeSerializer(data=change.data)
        if not serializer.is_valid():
            raise ActionRefused(_t("La version du terrain n'est plus valide."))
        data = serializer.validated_data["data"]
        try:
            with transaction.atomic():
                if change.entity == "installation":
                    current = Installation.objects.get(uuid=change.entity_uuid)
                    obj = editing.update_installation(manager, change.entity_uuid,
                                                      current.version, data)
                else:
                    current = Control.objects.get(uuid=change.entity_uuid)
                    obj = editing.update_control(manager, change.entity_uuid, current.version,
                                                 data, as_manager=True)
        except editing.Rejected as error:
            raise ActionRefused(" ".join(error.reasons)) from None
        record(manager, f"{change.entity}.resolve_take_client", change.entity, obj.uuid,
               obj.version, device=change.batch.device, change=change)
        publication.refresh_metadata()
        change.resolution = SyncChange.Resolution.TOOK_CLIENT
    else:
        change.resolution = SyncChange.Resolution.KEPT_SERVER
    change.resolved_by = manager
    change.resolved_at = timezone.now()
    change.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    return change
