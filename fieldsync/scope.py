"""Who sees which installations and controls of the SPANC domain, and who sees owners.

The layer side (WMS, WFS, GeoJSON of the published layers) goes through layers.access; this module
decides for the domain API and the manager screens:
- administrators: everything;
- SPANC managers: the installations of their commune, or of the whole intercommunality when they
  belong to it; they see owners;
- SPANC inspectors: the controls assigned to them, the installations of those controls (and the
  ones they created in the field) and their earlier controls; they see owners of those
  installations only;
- municipal agents: the installations and controls of their own commune, never owners;
- anybody else (viewers, anonymous): nothing.
"""
from django.db.models import Q

from accounts.models import Role

from .models import Control, Installation

SPANC_ROLES = {Role.SPANC_MANAGER, Role.SPANC_INSPECTOR}


def _active(user):
    return bool(user and user.is_authenticated and user.is_active)


def is_spanc_staff(user):
    """May use the sync API: an active GIS administrator or SPANC manager/inspector."""
    return bool(user and user.is_authenticated and user.is_active and (
        user.is_gis_admin or user.role in SPANC_ROLES))


def is_manager(user):
    return _active(user) and (user.is_gis_admin or user.role == Role.SPANC_MANAGER)


def installations(user):
    queryset = Installation.objects.select_related("commune")
    if not _active(user):
        return queryset.none()
    if user.is_gis_admin:
        return queryset
    if user.role == Role.SPANC_MANAGER:
        return queryset.filter(commune=user.commune_id) if user.commune_id else queryset
    if user.role == Role.SPANC_INSPECTOR:
        mine = Installation.objects.filter(Q(controls__inspector=user) | Q(created_by=user))
        return queryset.filter(pk__in=mine.values("pk"))
    if user.role == Role.MUNICIPAL_AGENT and user.commune_id:
        return queryset.filter(commune=user.commune_id)
    return queryset.none()


def controls(user):
    """Controls the user may read (an inspector: also the history of their installations)."""
    queryset = Control.objects.select_related("installation__commune", "kind", "conclusion")
    if not _active(user):
        return queryset.none()
    return queryset.filter(installation__in=installations(user).values("pk"))


def field_installations(user):
    """Installations a field user may edit or attach a new control to: their read scope, for
    SPANC staff and administrators only (a municipal agent reads, never writes). Everything
    outside answers like an unknown installation."""
    if not (_active(user) and (user.is_gis_admin or user.role in SPANC_ROLES)):
        return Installation.objects.none()
    return installations(user)


def sees_owner(user, installation):
    """Owner personal data: SPANC staff covering the installation's commune, and administrators."""
    if not _active(user):
        return False
    if user.is_gis_admin:
        return True
    if user.role not in SPANC_ROLES:
        return False
    return user.commune_id is None or user.commune_id == installation.commune_id


def may_edit_control(user, control):
    """Field edits: the inspector the control is assigned to."""
    return _active(user) and control.inspector_id == user.pk


def manages_commune(user, commune_id):
    if not is_manager(user):
        return False
    return user.is_gis_admin or user.commune_id is None or user.commune_id == commune_id
