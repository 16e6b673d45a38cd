"""The tile caches in Redis, shared by every app server (CAPGEO_TILE_CACHE_REDIS=redis://…/DB).

Without the setting, MapProxy keeps its tiles in files under the tiles directory (one machine,
wms.tiles.config). With it, every cache is MapProxy's ``type: redis`` cache: a tile is one key,
``<cache name>_<grid name>-<z>-<x>-<y>`` (MapProxy's own naming), in the database of the URL — one
database per platform when several share a Redis. Tiles never expire by themselves; Redis is run
with a memory bound and drops the least recently used tiles (scripts/cluster.sh).

Purges (wms.tiles.purge) delete the keys of the layer's caches: every app server sees the same
store, so a purge made by one is seen by all at once.
"""
from functools import lru_cache
from urllib.parse import unquote, urlparse

from django.conf import settings

from .grids import GRID_SRID


def redis_url():
    return getattr(settings, "CAPGEO_TILE_CACHE_REDIS", "") or ""


def enabled():
    return bool(redis_url())


def connection_options():
    """host, port, db, password of the Redis URL (MapProxy's cache options use the same names)."""
    url = urlparse(redis_url())
    if url.scheme != "redis" or not url.hostname:
        from django.core.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured(
            "CAPGEO_TILE_CACHE_REDIS must be a redis://HOST:PORT/DB URL.")
    options = {"host": url.hostname, "port": url.port or 6379,
               "db": int(url.path.strip("/") or 0)}
    if url.password:
        options["password"] = unquote(url.password)
    if url.username:
        options["username"] = unquote(url.username)
    return options


def cache_options():
    """The ``cache`` entry of a MapProxy cache stored in Redis."""
    # default_ttl 0: no expiry (MapProxy's default is an hour); purges and Redis' LRU bound it.
    return {"type": "redis", "default_ttl": 0, **connection_options()}


@lru_cache(maxsize=4)
def _client(url):
    import redis

    options = connection_options()
    return redis.Redis(socket_timeout=10, socket_connect_timeout=5, **options)


def client():
    return _client(redis_url())


def parse_key(key):
    """(cache name, grid name, (x, y, z)) of a tile key, or None for any other key."""
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    prefix, _, coords = key.partition("-")
    parts = coords.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    for grid in GRID_SRID:
        if prefix.endswith("_" + grid):
            z, x, y = (int(p) for p in parts)
            return prefix[: -len(grid) - 1], grid, (x, y, z)
    return None


def layer_of(cache):
    """The layer a cache belongs to: '<layer>', '<layer>__<variant>', either with '.<style>'."""
    return cache.partition(".")[0].partition("__")[0]


def tile_keys(layer_name):
    """(key, cache, grid, coord) of every tile of the layer's caches."""
    escaped = "".join("\\" + c if c in "*?[]\\" else c for c in layer_name)
    for key in client().scan_iter(match=f"{escaped}*", count=1000):
        parsed = parse_key(key)
        if parsed is not None and layer_of(parsed[0]) == layer_name:
            yield (key, *parsed)


def delete(keys):
    """Delete keys in batches; returns how many were removed."""
    removed, batch = 0, []
    for key in keys:
        batch.append(key)
        if len(batch) >= 1000:
            removed += client().delete(*batch)
            batch = []
    if batch:
        removed += client().delete(*batch)
    return removed
