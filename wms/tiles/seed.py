"""Seeding a layer's shared cache: every tile of some levels over an extent, rendered in advance.

The shared cache holds every row (see wms.tiles.cache_names), so it is what anonymous visitors and
all unrestricted audiences read; per-commune caches fill on demand. Tiles are grouped by meta
tile, so each group is rendered once, in this thread (on Django's connection).
"""
from itertools import groupby

from .config import ALL_ROWS_AUDIENCE, build_config, cacheable_layers
from .styles import DEFAULT, StyleIndex

META_SIZE = 4


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


def _seed(manager, bbox_2154, levels, progress):
    from mapproxy.srs import SRS

    grid = manager.grid
    bbox = SRS(2154).transform_bbox_to(grid.srs, tuple(bbox_2154))
    work = plan(grid, bbox, levels)
    total = sum(len(coords) for _level, coords in work)
    done = 0
    if progress:
        progress(done, total)
    with manager.session():
        for _level, coords in work:
            meta_key = lambda c: (c[0] // META_SIZE, c[1] // META_SIZE)  # noqa: E731
            for _key, group in groupby(sorted(coords, key=meta_key), key=meta_key):
                batch = list(group)
                manager.load_tile_coords(batch)
                done += len(batch)
                if progress:
                    progress(done, total)
    return total

