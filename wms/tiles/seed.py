"""Seeding a layer's shared cache: every tile of some levels over an extent, rendered in advance.

The shared cache holds every row (see wms.tiles.cache_names), so it is what anonymous visitors and
all unrestricted audiences read; per-commune caches fill on demand. Tiles are grouped by meta
tile, so each group is rendered once.

A seed runs on the background workers (`manage.py import_worker`, any number, any machine): it is
cut into parts of about PART_TILES tiles of one level (seed_part, one queued task each), so that
several workers share a large seed; a part whose worker died is queued again (rendering a tile
twice only writes it again: layers.workers). `manage.py seed_tiles --here` renders in its own
process instead.
"""
import math
from itertools import groupby

from django_tasks import task

from layers.workers import recovery

from .config import ALL_ROWS_AUDIENCE, build_config, cacheable_layers
from .styles import DEFAULT, StyleIndex

META_SIZE = 4
PART_TILES = 1024  # tiles of one queued part (64 meta tiles of 4 × 4)


class SeedError(ValueError):
    pass


def shared_tile_manager(layer_name, grid_name, style_name=DEFAULT):
    from mapproxy.config import local_base_config

    from .app import proxy_configuration

    if not cacheable_layers().filter(name=layer_name).exists():
        raise SeedError(f"{layer_name}")
    index = StyleIndex()
    proxy_conf = proxy_configuration(build_config(ALL_ROWS_AUDIENCE, index))
    # Shared caches are named like the style's tile layer ("<layer>", "<layer>.<style>").
    tile_layer = index.tile_layer(layer_name, style_name)
    if tile_layer is None:
        raise SeedError(f"{layer_name} : style {style_name}")
    cache = proxy_conf.caches[tile_layer]
    with local_base_config(proxy_conf.base_config):  # the sources' SRS objects read it
        for tile_grid, _extent, manager in cache.caches():
            if tile_grid.name == grid_name:
                return proxy_conf.base_config, manager
    raise SeedError(grid_name)


def plan(grid, bbox, levels):
    """[(level, [tile coords])] of the tiles meeting bbox (in the grid's CRS)."""
    result = []
    for level in levels:
        _bbox, _size, tiles = grid.get_affected_level_tiles(bbox, level)
        result.append((level, [coord for coord in tiles if coord is not None]))
    return result


def seed(base_config, manager, bbox_2154, levels, progress=None):
    """Render and store the tiles; progress(done, total) after each meta tile. Returns total."""
    from mapproxy.config import local_base_config

    with local_base_config(base_config):
        return _seed(manager, bbox_2154, levels, progress)


def _meta_groups(coords):
    meta_key = lambda c: (c[0] // META_SIZE, c[1] // META_SIZE)  # noqa: E731
    return [list(group) for _key, group in groupby(sorted(coords, key=meta_key), key=meta_key)]


def _grid_bbox(grid, bbox_2154):
    from mapproxy.srs import SRS

    return SRS(2154).transform_bbox_to(grid.srs, tuple(bbox_2154))


def _seed(manager, bbox_2154, levels, progress, part=None):
    grid = manager.grid
    work = plan(grid, _grid_bbox(grid, bbox_2154), levels)
    if part is not None:  # (index, count): the index-th of count slices of the meta tiles
        index, count = part
        work = [(level, [c for group in _slice(_meta_groups(coords), index, count) for c in group])
                for level, coords in work]
    total = sum(len(coords) for _level, coords in work)
    done = 0
    if progress:
        progress(done, total)
    with manager.session():
        for _level, coords in work:
            for batch in _meta_groups(coords):
                manager.load_tile_coords(batch)
                done += len(batch)
                if progress:
                    progress(done, total)
    return total


def _slice(groups, index, count):
    size = math.ceil(len(groups) / count) if groups else 0
    return groups[index * size:(index + 1) * size]


# --- on the background workers --------------------------------------------------------------
@task()
def seed_part(layer_name, grid_name, style_name, bbox_2154, level, index, count):
    """One queued part of a seed: the index-th of count slices of one level's meta tiles."""
    base_config, manager = shared_tile_manager(layer_name, grid_name, style_name)
    from mapproxy.config import local_base_config

    with local_base_config(base_config):
        return _seed(manager, bbox_2154, [level], None, part=(index, count))


recovery(seed_part, retries=2)


def queue_seed(layer_name, grid_name, style_name, bbox_2154, levels):
    """Queue the parts of a seed; returns (task result ids, number of tiles)."""
    base_config, manager = shared_tile_manager(layer_name, grid_name, style_name)
    from mapproxy.config import local_base_config

    with local_base_config(base_config):
        work = plan(manager.grid, _grid_bbox(manager.grid, bbox_2154), levels)
    ids, total = [], 0
    for level, coords in work:
        total += len(coords)
        count = max(1, math.ceil(len(coords) / PART_TILES))
        for index in range(count):
            result = seed_part.enqueue(layer_name, grid_name, style_name, list(bbox_2154), level,
                                       index, count)
            ids.append(result.id)
    return ids, total

