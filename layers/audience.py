"""Audiences: the users the access policy cannot tell apart.

AccessPolicy decides from a few facts about a user only (AccessPolicy.audience_key):
authenticated, GIS administrator, commune, role — and, since rules may name them, whether a
rule names the user himself, which of the groups rules name he belongs to, and which dated rules
are in force today (an administrator's commune and role change nothing: every layer, every row).
Users sharing them get the same decisions on every layer, so whatever is built from those
decisions is shared by audience: the per-worker cache of decisions (maps.decisions), the
embedded MapProxy and its tile caches (wms.tiles), the validators of capabilities documents
(wms.capabilities_revalidation). Users with different rights never share an audience.
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
    user_id: int | None = None     # the user, when a rule names him
    groups: tuple = ()             # his groups that rules name
    epoch: int = 0                 # which dated rules are in force (boundaries passed)

    @classmethod
    def of(cls, user):
        return cls.of_policy(AccessPolicy.for_user(user))

    @classmethod
    def of_policy(cls, policy, version=None):
        """version: the catalogue version the caller has just read (saves reading it again)."""
        if policy.is_admin:
            return cls(True, True, None, None)
        key = policy.audience_key(version)
        if not policy.authenticated:
            return cls(False, False, None, None, epoch=key[-1])
        _commune, _role, named, groups, epoch = key
        return cls(True, False, policy.commune_id, policy.role, named, tuple(groups), epoch)

    @property
    def key(self):
        if not self.authenticated:
            return f"anonymous-e{self.epoch}" if self.epoch else "anonymous"
        if self.admin:
            return "admin"
        key = f"c{self.commune_id or 0}-{self.role}"
        if self.user_id is not None:
            key += f"-u{self.user_id}"
        if self.groups:
            key += "-g" + "_".join(map(str, self.groups))
        if self.epoch:
            key += f"-e{self.epoch}"
        return key

    def representative(self):
        """An unsaved user with exactly these facts: what the policy is asked for this audience."""
        if not self.authenticated:
            from django.contrib.auth.models import AnonymousUser

            return AnonymousUser()
        if self.admin:
            return User(is_active=True, is_superuser=True)
        user = User(pk=self.user_id, is_active=True, commune_id=self.commune_id, role=self.role)
        user.capgeo_group_ids = tuple(self.groups)
        return user

    def policy(self):
        return AccessPolicy.for_user(self.representative())
