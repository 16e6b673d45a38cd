"""Zones à enjeu sanitaire / environnemental, computed from polygon layers of the catalogue.

Which layers hold zones is data (ZoneLayer rows, set in the admin). Whether an installation lies
in a zone is a fact about the installation, not about whoever looks at it, so the layers are read
through the access policy with a service principal that has the administrator's unrestricted
grant, not with the grant of the user who happens to save the installation.
"""
from django.utils import timezone

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.models import Permission

from .models import Zone, ZoneLayer


class _ZoneService:
    """The principal the platform uses to read zone layers for the SPANC computation."""
    is_authenticated = True
    is_active = True
    is_gis_admin = True
    commune_id = None
    role = "gis_admin"
    pk = None
    username = "service.spanc-zones"


ZONE_SERVICE = _ZoneService()


def zone_sources(policy=None):
    """(ZoneLayer, FeatureSource) for each zone layer the policy may view (default: the
    service's)."""
    policy = policy or AccessPolicy.for_user(ZONE_SERVICE)
    pairs = []
    for zone_layer in ZoneLayer.objects.select_related("layer"):
        try:
            pairs.append((zone_layer, policy.source(zone_layer.layer, Permission.VIEW)))
        except (LayerNotFound, AccessDenied):
            continue
    return pairs


def _intersects(source, point):
    """Whether a zone of the layer (among the rows the source gives) holds the point."""
    return source.exists(source.query(area=bytes(point.ewkb).hex(), with_geometry=False))


def compute_zones(installation):
    """Set the zone flags of an installation from the zone layers (not saved)."""
    sanitary = environmental = False
    for zone_layer, source in zone_sources():
        if _intersects(source, installation.location):
            if zone_layer.kind == Zone.SANITARY:
                sanitary = True
            else:
                environmental = True
    installation.sanitary_zone = sanitary
    installation.environmental_zone = environmental
    installation.zones_computed_at = timezone.now()
    return installation
