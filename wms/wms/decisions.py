"""Per-worker cache of what the access policy decided for a WMS layer: the layer, its styles and
the Grant's row filter, so that a GetMap, GetFeatureInfo or GetLegendGraphic costs one tiny query
instead of two catalogue queries.

Freshness is never guessed: triggers bump wms_catalogue_version in the same transaction as any
change to layers, access rules (and their communes), styles (migration wms 0001) or remote
services and layers (wms 0002). Every request
reads that counter first; a cached decision is used only under the counter value it was made
with. So a revoked rule applies to the first request that starts after the revocation commits, in
every worker. A decision loaded while a change commits is at worst stored under the older value,
which no later request reads.

The user's own facts (authenticated, administrator, commune, role) are read from the request's
user, not cached; they are part of the key.
"""
import dataclasses
import threading

from django.db import connection

from layers.access import AccessPolicy

from . import catalogue

MAX_ENTRIES = 4096


class Decisions(threading.local):
    def __init__(self):
        self.version = None
        self.entries = {}


_cache = Decisions()


def catalogue_version():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM wms_catalogue_version WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None  # no counter row (emptied by hand): nothing is cached


def clear():
    _cache.version, _cache.entries = None, {}


def audience_key(policy):
    return (policy.authenticated, policy.is_admin, policy.commune_id, policy.role)


def resolve(user, names, style_names, locator="LAYERS", style_locator="STYLES"):
    """catalogue.resolve, answered from this worker's cache when the catalogue has not changed."""
    version = catalogue_version()
    if version is None:
        return catalogue.resolve(user, names, style_names, locator, style_locator)
    if version != _cache.version:
        _cache.version, _cache.entries = version, {}
    policy = AccessPolicy.for_user(user)
    audience = audience_key(policy)
    served = []
    for name, style_name in zip(names, style_names):
        key = (audience, name, style_name, locator, style_locator)
        decision = _cache.entries.get(key)
        if decision is None:
            # Refusals (WmsError) are not cached: their message is in the request's language.
            decision = catalogue.resolve(user, [name], [style_name], locator, style_locator)[0]
            if len(_cache.entries) >= MAX_ENTRIES:
                _cache.entries = {}
            _cache.entries[key] = decision
        # The Grant is this request's: same layer and rows, its own user.
        served.append(dataclasses.replace(decision, grant=dataclasses.replace(decision.grant,
                                                                              user=user)))
    return served
