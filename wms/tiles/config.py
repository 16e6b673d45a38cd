"""The MapProxy configuration (a dict, as mapproxy.yaml would hold) of one audience.

One source + one cache + one layer per cacheable vector layer the audience may view and per
style of it (wms.tiles.styles), with the cache chosen as wms.tiles.cache_names explains; grids from
wms.tiles.grids.
"""
import time
from dataclasses import asdict
from pathlib import Path

from django.conf import settings

from layers.access import LayerNotFound
from layers.audience import Audience
from layers.models import Layer, Permission

from . import redis_store
from .cache_names import SHARED, cache_name, cache_variant
from .grids import GRID_SRID, mapproxy_grids
from .styles import DEFAULT, offered_styles

# Rendered with every row: only ever served to audiences whose Grant is unrestricted.
ALL_ROWS_AUDIENCE = Audience(authenticated=True, admin=True, commune_id=None, role=None)
EXTENT_MARGIN = 500.0  # metres around a layer's extent still rendered (symbols overflow it)
MERCATOR_STRETCH = 2.0  # Web Mercator metres per ground metre, up to 60° of latitude
# The WMTS REST tile template; wms.tiles.styles routes {Style} (clients fill it in).
REST_TEMPLATE = "/{Layer}/{Style}/{TileMatrixSet}/{TileMatrix}/{TileCol}/{TileRow}.{Format}"


def tiles_dir():
    return Path(getattr(settings, "CAPGEO_TILES_DIR", settings.VAR_DIR / "tiles"))


def layer_cache_dir(layer_name):
    return tiles_dir() / "caches" / layer_name


def cacheable_layers():
    return Layer.objects.filter(cacheable=True, kind=Layer.Kind.VECTOR).order_by("name")


def catalogue_version():
    """A stamp that changes whenever a layer, its data, its style or its rules do: the counter
    and the data counter bumped by triggers on those tables (migrations wms 0001 and 0005: the
    coverages follow the layers' extents), read in one tiny query."""
    from maps.decisions import catalogue_and_data_versions

    value = catalogue_and_data_versions()
    # Without the counter row (emptied by hand), never reuse a configuration.
    return "%s.%s" % value if value is not None else f"uncounted-{time.monotonic_ns()}"


def _padded_extent(layer):
    """The layer's Web Mercator box (measured on its data in Web Mercator: layers.extents) with
    the symbols' margin: the source's coverage, and what the WMTS capabilities advertise (its
    WGS 84 box follows exactly, Web Mercator's axes being separable; a Lambert-93 box would be
    transformed by its sides, wrong for overseas rows)."""
    if layer.extent_webmercator is None:
        return None
    minx, miny, maxx, maxy = layer.extent_webmercator.extent
    margin = EXTENT_MARGIN * MERCATOR_STRETCH
    return [minx - margin, miny - margin, maxx + margin, maxy + margin]


def layer_caches(layer, audience):
    """(variant, cache name) of the layer for an audience, or None if it may not view it."""
    try:
        grant = audience.policy().source(layer, Permission.VIEW)
    except LayerNotFound:
        return None
    variant = cache_variant(grant)
    return variant, cache_name(layer.name, variant)


def cache_conf(layer, name, source_name):
    """Files under the tiles directory (one machine), or Redis shared by every app server when
    CAPGEO_TILE_CACHE_REDIS is set (wms.tiles.redis_store)."""
    cache = redis_store.cache_options() if redis_store.enabled() else \
        {"type": "file", "directory_layout": "tc", "use_grid_names": True}
    return {
        "grids": list(GRID_SRID),
        "sources": [source_name],
        "format": "image/png",
        "cache_dir": str(layer_cache_dir(layer.name)),
        "cache": cache,
    }


def style_cache_name(name, style_name):
    """The cache of one style: the layer's cache name for the default style."""
    return name if style_name == DEFAULT else f"{name}.{style_name}"


def source_conf(layer, audience, variant, style_name=""):
    rendering_audience = ALL_ROWS_AUDIENCE if variant == SHARED else audience
    conf = {"type": "capgeo", "layer": layer.name, "style": style_name, "variant": variant,
            "audience": asdict(rendering_audience), "transparent": True}
    extent = _padded_extent(layer)
    if extent:
        conf["extent"] = extent
    return conf


def build_config(audience, index=None):
    """The configuration dict; `index` (a StyleIndex), if given, learns the layers' styles."""
    sources, caches, layers = {}, {}, []
    for layer in cacheable_layers().prefetch_related("styles"):
        found = layer_caches(layer, audience)
        if found is None:
            continue
        variant, layer_cache = found
        styles, default_name = offered_styles(layer)
        if index is not None:
            index.add(layer, styles, default_name)
        for style in styles:
            name = style_cache_name(layer_cache, style.name)
            source_name = f"source_{name}"
            sources[source_name] = source_conf(
                layer, audience, variant, default_name if style.name == DEFAULT else style.name)
            caches[name] = cache_conf(layer, name, source_name)
            title = layer.title if style.name == DEFAULT else f"{layer.title} — {style.title}"
            layers.append({"name": style.tile_layer, "title": title, "sources": [name],
                           "md": {"abstract": layer.abstract}})
    base = tiles_dir()
    conf = {
        "globals": {
            "cache": {
                "base_dir": str(base / "caches"),
                "lock_dir": str(base / "locks"),
                "tile_lock_dir": str(base / "locks" / "tiles"),
                # Tiles are rendered in the requesting thread by the WMS renderer (its per-thread
                # Mapnik Maps and pooled PostGIS connections: committed rows).
                "concurrent_tile_creators": 1,
                "meta_size": [4, 4],
                "meta_buffer": 40,
            },
            "image": {"paletted": False},
        },
        "services": {
            "wmts": {
                "restful": True, "kvp": True, "restful_template": REST_TEMPLATE,
                "md": _service_metadata(),
            },
            "tms": {"use_grid_names": True, "origin": "sw"},
        },
        "grids": mapproxy_grids(),
        "sources": sources,
        "caches": caches,
    }
    if layers:  # MapProxy fails on an empty list; without the key it serves no layer
        conf["layers"] = layers
    return conf


def _service_metadata():
    name = settings.CAPGEO_INTERCOMMUNALITY_NAME
    return {
        "title": f"C@p Géo — tuiles de {name}",
        "abstract": "Tuiles en cache des couches du catalogue C@p Géo (WMTS 1.0.0 et TMS).",
        "access_constraints": "Selon les droits de chaque couche.",
        "fees": "Aucun",
    }
