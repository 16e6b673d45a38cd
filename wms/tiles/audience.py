"""Audiences: who sees the same tiles.

AccessPolicy decides from four facts about a user only: authenticated, GIS administrator,
commune and role. Users sharing them get the same Grant on every layer, so they form one
audience, which gets its own MapProxy configuration (built once per catalogue version).

Inside it, each cacheable layer is backed by a cache chosen from the audience's Grant:
- unrestricted rows: the shared cache, rendered with every row; every audience whose Grant is
  unrestricted sees exactly those tiles;
- rows restricted to a commune: a cache of that commune and row filter (named after the commune's
  INSEE code and a digest of the filter's SQL and parameters), rendered with this very Grant;
  audiences share it only when their row filters are identical, so per-commune data never lands
  in a cache another commune reads;
- not viewable: the layer is left out of the audience's configuration altogether.
"""
import hashlib
from dataclasses import dataclass

from capgeo.accounts.models import User
from capgeo.territory.models import Commune
from layers.access import AccessPolicy


@dataclass(frozen=True)
class Audience:
    authenticated: bool
    admin: bool
    commune_id: int | None
    role: str | None

    @classmethod
    def of(cls, user):
        policy = AccessPolicy.for_user(user)
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


SHARED = "all"


def cache_variant(grant):
    """SHARED for a FeatureSource that sees everything, else '<INSEE>_<digest of what it sees>'
    (its view_key: the row filter, and the readable columns when some are hidden)."""
    if grant.sees_everything:
        return SHARED
    digest = hashlib.sha256(repr(grant.view_key).encode()).hexdigest()[:10]
    commune_id = getattr(grant.user, "commune_id", None)
    insee = Commune.objects.filter(pk=commune_id).values_list("insee", flat=True).first() or "0"
    return f"{insee}_{digest}"


def cache_name(layer_name, variant):
    return layer_name if variant == SHARED else f"{layer_name}__{variant}"
