"""Conflicts: changes made on another version than the server's, listed for the managers of the
record's scope and settled by them — keep the server's record, or apply the field version on top
of it — whatever the record's type (fieldsync.records).
"""
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import history, publication, records, scope
from .actions import ActionRefused, retried
from .models import SyncChange
from .records.base import Conflict, Rejected
from .validation import validate_change


def visible_conflicts(manager):
    """Conflicts on records of the manager's scope, whatever their resolution."""
    if not scope.is_manager(manager):
        return SyncChange.objects.none()
    visible = Q()
    for record_type in records.REGISTRY.values():
        visible |= record_type.conflicts_visible(manager)
    return SyncChange.objects.filter(status="conflict").filter(visible)


def current_server_state(manager, change):
    """(version, record) of a conflict's object as it is now (the answer stored with the conflict
    is the state of then), or (None, None) when it is gone from the manager's scope."""
    record_type = records.get(change.entity)
    obj = record_type.conflict_subject(manager, change)
    return (obj.version, record_type.out(obj, manager)) if obj else (None, None)


def open_conflicts(manager):
    return (visible_conflicts(manager).filter(resolution=SyncChange.Resolution.OPEN)
            .select_related("batch__user", "batch__device").order_by("created_at"))


@retried
def resolve_conflict(manager, change, take_client):
    """Settle a conflict: keep the server's record, or apply the field version on top of it."""
    # The lock order: the record's (its installation first, …) before the SyncChange row.
    record_type = records.get(change.entity)
    record_type.lock_conflict(change)
    change = SyncChange.objects.select_for_update().get(pk=change.pk)
    if change.resolution != SyncChange.Resolution.OPEN:
        raise ActionRefused(_t("Ce conflit est déjà réglé."))
    if not open_conflicts(manager).filter(pk=change.pk).exists():
        raise ActionRefused(_t("Ce conflit n'est pas de votre ressort."))
    if take_client:
        validated, _reasons = validate_change(change.data)
        if validated is None:
            raise ActionRefused(_t("La version du terrain n'est plus valide."))
        try:
            with transaction.atomic():
                obj, superseded = record_type.take_client(manager, change, validated["data"])
        except (Rejected, Conflict) as error:
            # Conflict: the record moved again between the lock and the write (cannot happen
            # under the locks; refused rather than answered as a server error).
            reasons = " ".join(getattr(error, "reasons", [])) or _t("l'objet a encore changé.")
            raise ActionRefused(_t("La version du terrain ne peut pas être appliquée : "
                                   "%(reasons)s Gardez la version du serveur pour clore ce "
                                   "conflit.") % {"reasons": reasons}) from None
        history.record(manager, f"{change.entity}.resolve_take_client", change.entity,
                       obj.uuid, obj.version, device=change.batch.device, change=change)
        for old in superseded:
            history.record(manager, f"{change.entity}.superseded", change.entity, old.uuid,
                           old.version, device=change.batch.device, change=change,
                           details={"superseded_by": str(obj.uuid)})
        publication.refresh_metadata()
        change.applied_to = obj.uuid
        change.resolution = SyncChange.Resolution.TOOK_CLIENT
    else:
        change.resolution = SyncChange.Resolution.KEPT_SERVER
    change.resolved_by = manager
    change.resolved_at = timezone.now()
    change.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    return change
