"""Per-worker cache of what the access policy decided for a layer, so that a frequent request
costs one tiny query instead of two or three catalogue queries: for maps (GetMap, GetFeatureInfo,
GetLegendGraphic) the layer, its styles and the user's FeatureSource (resolve); for vector tiles
the FeatureSource alone (source). Both go through one lookup (cached), keyed by the user's
audience (layers.audience); a cached source is handed to the request's user by the policy
(AccessPolicy.rebind), never rebuilt here.

Freshness is never guessed: triggers bump wms_catalogue_version in the same transaction as any
change to layers, access rules (and their communes), styles (migration wms 0001) or remote
services and layers (wms 0002). A change of a layer's rows alone (its count, extents, data date:
refresh_layer_metadata after a sync push, a WFS-T edit, a report) bumps the data version only
(wms 0005): decisions and maps do not depend on it, so they stay warm while data is edited. Every request
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
from layers.audience import Audience
from layers.models import Permission

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


def catalogue_and_data_versions():
    """(version, data version) — what shows the layers' extents or counts keys on both; maps,
    which do not depend on the rows' extent, on the version alone (wms migration 0005)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version, data_version FROM wms_catalogue_version WHERE id = 1")
        row = cursor.fetchone()
    return tuple(row) if row else None


def clear():
    _cache.version, _cache.entries = None, {}


def _fresh():
    """True when decisions may be cached: the counter exists, and entries made under an older
    value are dropped before anything is read."""
    version = catalogue_version()
    if version is None:
        return False
    if version != _cache.version:
        _cache.version, _cache.entries = version, {}
    return True


def cached(fresh, key, load):
    """load(), or what it answered for the same key under the current catalogue version.

    key must hold the audience (layers.audience) of the user the decision is for. Exceptions raised by load
    (refusals, unknown layers) are not cached: their message is in the request's language."""
    if not fresh:
        return load()
    decision = _cache.entries.get(key)
    if decision is None:
        decision = load()
        if len(_cache.entries) >= MAX_ENTRIES:
            _cache.entries = {}
        _cache.entries[key] = decision
    return decision


def source(user, layer_name, permission=Permission.VIEW):
    """AccessPolicy.for_user(user).source(layer_name, permission), answered from this worker's
    cache when the catalogue has not changed. The source returned is the request's own (its
    user, through the policy)."""
    policy = AccessPolicy.for_user(user)
    permission = Permission(permission)
    fresh = _fresh()
    # The catalogue version just read by _fresh() spares the policy reading it again.
    audience = Audience.of_policy(policy, _cache.version if fresh else None).key
    decision = cached(fresh, ("source", audience, layer_name, permission),
                      lambda: policy.source(layer_name, permission))
    return policy.rebind(decision)


grant = source  # the earlier name


def resolve_cached(user, names, style_names, locator="LAYERS", style_locator="STYLES"):
    """(served, version): the decisions this worker holds for these layers under the catalogue
    version it last read, without reading the counter (one round trip less); None unless every
    layer's decision is held.

    Only for drawing through Maps guarded by that version (maps.renderer.catalogue_guard): once
    the catalogue has moved on, the Maps read no row. The caller must then treat a blank image
    as a possibly stale answer: unless catalogue_version() still is `version`, it resolves
    again (wms.wms.getmap.guarded_render). So a revocation still applies to the first request
    that starts after it commits, as with resolve()."""
    version = _cache.version
    if version is None:
        return None
    policy = AccessPolicy.for_user(user)
    audience = Audience.of_policy(policy, version).key
    served = []
    for name, style_name in zip(names, style_names):
        decision = _cache.entries.get(("wms", audience, name, style_name, locator, style_locator))
        if decision is None:
            return None
        served.append(dataclasses.replace(decision, grant=policy.rebind(decision.grant)))
    return served, version


def resolve(user, names, style_names, locator="LAYERS", style_locator="STYLES"):
    """catalogue.resolve, answered from this worker's cache when the catalogue has not changed."""
    fresh = _fresh()
    policy = AccessPolicy.for_user(user)
    audience = Audience.of_policy(policy, _cache.version if fresh else None).key
    served = []
    for name, style_name in zip(names, style_names):
        decision = cached(
            fresh, ("wms", audience, name, style_name, locator, style_locator),
            lambda: catalogue.resolve(user, [name], [style_name], locator, style_locator)[0])
        # The source is this request's: same layer, rows and columns, its own user.
        served.append(dataclasses.replace(decision, grant=policy.rebind(decision.grant)))
    return served
