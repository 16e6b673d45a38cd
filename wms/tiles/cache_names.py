"""Which tile cache an audience (layers.audience) reads for a layer.

Each audience gets its own MapProxy configuration (built once per catalogue version). Inside it,
each cacheable layer is backed by a cache chosen from the audience's Grant:
- unrestricted rows: the shared cache, rendered with every row; every audience whose Grant is
  unrestricted sees exactly those tiles;
- rows restricted to a commune: a cache of that commune and row filter (named after the commune's
  INSEE code and a digest of the filter's SQL and parameters), rendered with this very Grant;
  audiences share it only when their row filters are identical, so per-commune data never lands
  in a cache another commune reads;
- not viewable: the layer is left out of the audience's configuration altogether.
"""
import hashlib

from territory.models import Commune

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
