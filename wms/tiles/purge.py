"""Removing cached tiles when a layer's data or style changes.

Every cache of a layer (the shared one and the per-commune ones) lives under
<tiles dir>/caches/<layer>/<cache>/<grid>/<level>/xxx/xxx/xxx/yyy/yyy/yyy.png (MapProxy's "tc"
layout, in the grid's own tile coordinates). A change over a known extent removes, on every
level of every grid, the cached tiles whose extent (plus the symbols' margin) meets it; any
other change removes the layer's caches entirely. Walking the files that exist costs what is
cached, not what the extent could hold at deep levels.

With the caches in Redis (CAPGEO_TILE_CACHE_REDIS, wms.tiles.redis_store), the same rules apply
to the layer's keys, found by a SCAN of the keys named after the layer: every app server reads
that one store, so a purge made by any of them is seen by all.
"""
import logging
import shutil
from functools import lru_cache
from pathlib import Path

from . import redis_store
from .config import layer_cache_dir
from .grids import GRID_SRID

log = logging.getLogger(__name__)

SYMBOL_MARGIN_PIXELS = 16  # a point's marker or a stroke reaches this far beyond its geometry


@lru_cache(maxsize=1)
def tile_grids():
    """MapProxy TileGrid objects of our grids, by name."""
    from .app import proxy_configuration
    from .grids import mapproxy_grids

    from mapproxy.config import local_base_config

    conf = proxy_configuration({"grids": mapproxy_grids(), "services": {"tms": {}}})
    with local_base_config(conf.base_config):  # the grids' SRS objects read it
        return conf.base_config, {name: conf.grids[name].tile_grid() for name in GRID_SRID}


def purge_style(layer_name, style_name):
    """Remove the caches of one non-default named style of the layer (wms.tiles.styles names
    them "<layer cache>.<style>"; layer names and cache variants have no dot)."""
    if redis_store.enabled():
        removed = redis_store.delete(key for key, cache, _grid, _coord in
                                     redis_store.tile_keys(layer_name)
                                     if cache.partition(".")[2] == style_name)
        log.info("%d tiles of %s in style %s purged (Redis)", removed, layer_name, style_name)
        return
    root = layer_cache_dir(layer_name)
    if not root.exists():
        return
    for cache in root.iterdir():
        if cache.is_dir() and cache.name.partition(".")[2] == style_name:
            shutil.rmtree(cache, ignore_errors=True)
    log.info("tiles of %s in style %s purged", layer_name, style_name)


def purge_layer(layer_name, bbox=None):
    """Remove the layer's cached tiles meeting bbox (EPSG:2154), or all of them if bbox is None.

    Returns the number of tile files removed (0 when everything is dropped at once)."""
    if redis_store.enabled():
        return _purge_redis(layer_name, bbox)
    root = layer_cache_dir(layer_name)
    if not root.exists():
        return 0
    if bbox is None:
        shutil.rmtree(root, ignore_errors=True)
        log.info("tiles of %s purged", layer_name)
        return 0
    from mapproxy.config import local_base_config
    from mapproxy.srs import SRS

    removed = 0
    base_config, grids = tile_grids()
    with local_base_config(base_config):
        for grid_name, grid in grids.items():
            area = SRS(2154).transform_bbox_to(SRS(GRID_SRID[grid_name]), tuple(bbox))
            for grid_dir in root.glob(f"*/{grid_name}"):
                removed += _purge_grid_dir(grid_dir, grid, area)
    log.info("%d tiles of %s purged over %s", removed, layer_name, bbox)
    return removed


def _meets(grid, coord, area):
    """True when the tile's extent, with the symbols' margin, meets area (the grid's CRS)."""
    margin = grid.resolution(coord[2]) * SYMBOL_MARGIN_PIXELS
    minx, miny, maxx, maxy = area
    tminx, tminy, tmaxx, tmaxy = grid.tile_bbox(coord)
    return (tminx - margin <= maxx and tmaxx + margin >= minx
            and tminy - margin <= maxy and tmaxy + margin >= miny)


def _purge_redis(layer_name, bbox):
    if bbox is None:
        removed = redis_store.delete(key for key, *_rest in redis_store.tile_keys(layer_name))
        log.info("tiles of %s purged (Redis: %d)", layer_name, removed)
        return removed
    from mapproxy.config import local_base_config
    from mapproxy.srs import SRS

    base_config, grids = tile_grids()
    with local_base_config(base_config):
        areas = {name: SRS(2154).transform_bbox_to(SRS(GRID_SRID[name]), tuple(bbox))
                 for name in grids}
        removed = redis_store.delete(
            key for key, _cache, grid_name, coord in redis_store.tile_keys(layer_name)
            if _meets(grids[grid_name], coord, areas[grid_name]))
    log.info("%d tiles of %s purged over %s (Redis)", removed, layer_name, bbox)
    return removed


def _purge_grid_dir(grid_dir, grid, area):
    removed = 0
    for level_dir in grid_dir.iterdir():
        if not level_dir.name.isdigit():
            continue
        level = int(level_dir.name)
        margin = grid.resolution(level) * SYMBOL_MARGIN_PIXELS
        minx, miny, maxx, maxy = area
        for path in level_dir.rglob("*.png"):
            coord = _tile_coord(path, level_dir, level)
            if coord is None:
                continue
            tminx, tminy, tmaxx, tmaxy = grid.tile_bbox(coord)
            if (tminx - margin <= maxx and tmaxx + margin >= minx
                    and tminy - margin <= maxy and tmaxy + margin >= miny):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _tile_coord(path: Path, level_dir: Path, level):
    parts = path.relative_to(level_dir).with_suffix("").parts  # xxx xxx xxx yyy yyy yyy
    if len(parts) != 6 or not all(p.isdigit() for p in parts):
        return None
    return int("".join(parts[:3])), int("".join(parts[3:])), level
