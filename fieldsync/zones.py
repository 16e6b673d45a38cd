"""Zones à enjeu sanitaire / environnemental, computed from polygon layers of the catalogue.

Which layers hold zones is data (ZoneLayer rows, set in the admin). Whether an installation lies
in a zone is a fact about the installation, not about whoever looks at it, so the layers are read
through the access policy with a service principal that has the administrator's unrestricted
grant, not with the grant of the user who happens to save the installation.
"""
from django.db import connection
from django.utils import timezone

from layers.access import AccessDenied, AccessPolicy, LayerNotFound
from layers.models import Permission
from layers.tables import qualified

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


def zone_grants(policy=None):
    """(ZoneLayer, Grant) for each zone layer the policy may view (default: the service's)."""
    policy = policy or AccessPolicy.for_user(ZONE_SERVICE)
    pairs = []
    for zone_layer in ZoneLayer.objects.select_related("layer"):
        try:
            pairs.append((zone_layer, policy.grant(zone_layer.layer, Permission.VIEW)))
        except (LayerNotFound, AccessDenied):
            continue
    return pairs


def _intersects(grant, point):
    where, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {qualified('layers_data', grant.layer.name)} t "
            f"WHERE ST_Intersects(t.geom, ST_GeomFromEWKB(%s)) AND {where})",
            [bytes(point.ewkb), *params],
        )
        return cursor.fetchone()[0]


def compute_zones(installation):
    """Set the zone flags of an installation from the zone layers (not saved)."""
    sanitary = environmental = False
    for zone_layer, grant in zone_grants():
        if _intersects(grant, installation.location):
            if zone_layer.kind == Zone.SANITARY:
                sanitary = True
            else:
                environmental = True
    installation.sanitary_zone = sanitary
    installation.environmental_zone = environmental
    installation.zones_computed_at = timezone.now()
    return installation
