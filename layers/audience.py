"""Audiences: the users the access policy cannot tell apart.

AccessPolicy decides from four facts about a user only: authenticated, GIS administrator,
commune and role (an administrator's commune and role change nothing: every layer, every row).
Users sharing them get the same decisions on every layer, so whatever is built from those
decisions is shared by audience: the per-worker cache of decisions (maps.decisions), the
embedded MapProxy and its tile caches (wms.tiles), the validators of capabilities documents
(wms.capabilities_revalidation).
"""
from dataclasses import dataclass

from accounts.models import User

from .access import AccessPolicy


@dataclass(frozen=True)
class Audience:
    authenticated: bool
    admin: bool
    commune_id: int | None
    role: str | None

    @classmethod
    def of(cls, user):
        return cls.of_policy(AccessPolicy.for_user(user))

    @classmethod
    def of_policy(cls, policy):
        if policy.is_admin:
            return cls(True, True, None, None)
        return cls(policy.authenticated, False, policy.commune_id, policy.role)

    @property
    def key(self):
        if not self.authenticated:
            return "anonymous"
        if self.admin:
            return "admin"
        return f"c{self.commune_id or 0}-{self.role}"

    def representative(self):
        """An unsaved user with exactly these facts: what the policy is asked for this audience."""
        if not self.authenticated:
            from django.contrib.auth.models import AnonymousUser

            return AnonymousUser()
        if self.admin:
            return User(is_active=True, is_superuser=True)
        return User(is_active=True, commune_id=self.commune_id, role=self.role)

    def policy(self):
        return AccessPolicy.for_user(self.representative())
