"""Remote layers in the catalogue: publish a RemoteLayer as a Layer (kind=remote), and carry
later capabilities readings over to it.

Metadata copied from the capabilities (title, abstract, keywords, attribution, queryable) is
remembered in ``RemoteLayer.metadata["copied"]``: a later reading updates a catalogue field only
if it still holds the copied value, so what an administrator changed in the catalogue stays.
Catalogue settings (name, usage, theme, licence, access rules…) are never touched.
"""
import re
import unicodedata

from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection, transaction
from django.utils import timezone

from layers import extents
from layers.models import AccessRule, Audience, Layer, Permission, RemoteService

from .capabilities import read_capabilities, sync_service

# Where EPSG:2154 is defined (its area of use, lon/lat): remote boxes are clipped to it before
# being transformed, a world-wide basemap gets this extent.
LAMBERT93_AREA = (-9.86, 41.15, 10.38, 51.56)
COPIED_FIELDS = ("title", "abstract", "keywords", "attribution", "queryable")


def extent_2154(wgs84_bbox):
    """The box (lon/lat) clipped to Lambert-93's area of use, as a Lambert-93 polygon."""
    area = LAMBERT93_AREA
    box = wgs84_bbox or area
    clipped = (max(box[0], area[0]), max(box[1], area[1]), min(box[2], area[2]),
               min(box[3], area[3]))
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        clipped = area  # entirely elsewhere: still needs an extent to be listed
    with connection.cursor() as cursor:
        # Segmentized so that the transformed envelope holds the curved edges.
        cursor.execute("SELECT ST_AsEWKT(ST_Envelope(ST_Transform(ST_Segmentize("
                       "ST_MakeEnvelope(%s, %s, %s, %s, 4326), 0.05), 2154)))", list(clipped))
        return GEOSGeometry(cursor.fetchone()[0])


def extent_fields(wgs84_bbox):
    """The Layer's extent fields for a remote layer's lon/lat box: WGS 84 and Web Mercator from
    the box itself (layers.extents), Lambert-93 from the part of it where Lambert-93 is used."""
    box = wgs84_bbox or LAMBERT93_AREA
    box = (max(box[0], -180.0), max(box[1], -90.0), min(box[2], 180.0), min(box[3], 90.0))
    if box[0] >= box[2] or box[1] >= box[3]:
        box = LAMBERT93_AREA
    boxes = extents.from_wgs84(box)
    fields = {"extent": extent_2154(wgs84_bbox)}
    for field, srid in (("extent_wgs84", extents.WGS84),
                        ("extent_webmercator", extents.WEB_MERCATOR)):
        polygon = Polygon.from_bbox(boxes[srid])
        polygon.srid = srid
        fields[field] = polygon
    return fields


def copied_values(remote_layer):
    metadata = remote_layer.metadata or {}
    attribution = metadata.get("attribution") or {}
    service = remote_layer.service
    return {
        "title": remote_layer.title[:200],
        "abstract": remote_layer.abstract,
        "keywords": list(metadata.get("keywords") or [])[:30],
        "attribution": (attribution.get("title") or service.provider or service.title)[:300],
        "queryable": bool(metadata.get("queryable")),
    }


def suggested_name(identifier):
    """A free layer name (LAYER_NAME_RE) derived from the remote identifier."""
    ascii_name = unicodedata.normalize("NFKD", identifier).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    base = re.sub(r"^[^a-z]+", "", base) or "distante"
    base = base[:44].rstrip("_")
    name, n = base, 1
    while Layer.objects.filter(name=name).exists():
        n += 1
        name = f"{base[:44 - len(str(n))]}_{n}"
    return name


AUDIENCES = {"admins": None, "public": Audience.PUBLIC, "authenticated": Audience.AUTHENTICATED}


@transaction.atomic
def publish(remote_layer, usage=Layer.Usage.OVERLAY, theme=None, name=None, audience="admins",
            user=None):
    """The catalogue Layer of a remote layer (created once; later calls return it unchanged).

    audience: who may view it at first — "admins" (no rule: administrators only, until rules are
    added in the catalogue), "public" or "authenticated".
    """
    existing = Layer.objects.filter(remote_layer=remote_layer).first()
    if existing is not None:
        return existing
    values = copied_values(remote_layer)
    layer = Layer(name=name or suggested_name(remote_layer.identifier), kind=Layer.Kind.REMOTE,
                  usage=usage, theme=theme, remote_layer=remote_layer, created_by=user,
                  **extent_fields(remote_layer.wgs84_bbox),
                  data_updated_at=remote_layer.service.capabilities_checked_at or timezone.now(),
                  lineage=f"{remote_layer.service.get_protocol_display()} "
                          f"{remote_layer.service.url} — {remote_layer.identifier}",
                  **values)
    layer.full_clean(exclude=["thumbnail"])
    layer.save()
    remote_layer.metadata = {**remote_layer.metadata, "copied": values}
    remote_layer.save(update_fields=["metadata"])
    if AUDIENCES.get(audience):
        AccessRule.objects.create(layer=layer, audience=AUDIENCES[audience],
                                  permission=Permission.VIEW)
    return layer


def refresh_catalogue_layer(remote_layer):
    """Carry a new capabilities reading over to the published layer (if any)."""
    layer = Layer.objects.filter(remote_layer=remote_layer).first()
    if layer is None:
        return None
    before = (remote_layer.metadata or {}).get("copied", {})
    now = copied_values(remote_layer)
    for field_name in COPIED_FIELDS:
        if field_name in before and getattr(layer, field_name) == before[field_name]:
            setattr(layer, field_name, now[field_name])
    for field_name, value in extent_fields(remote_layer.wgs84_bbox).items():
        setattr(layer, field_name, value)
    layer.data_updated_at = remote_layer.service.capabilities_checked_at
    layer.save()
    remote_layer.metadata = {**remote_layer.metadata, "copied": now}
    remote_layer.save(update_fields=["metadata"])
    return layer


def register_service(url, protocol, title="", user=None):
    """Read the capabilities and create (or refresh) the service and its remote layers.

    Returns (service, created identifiers); RemoteError (French) if the service is unusable,
    and then nothing is saved.
    """
    description = read_capabilities(url, protocol)
    service = RemoteService.objects.filter(url=description.url, protocol=protocol).first()
    if service is None:
        service = RemoteService(url=description.url, protocol=protocol, created_by=user)
    service.title = title or service.title or description.title
    with transaction.atomic():
        created, _updated, _absent = sync_service(service, description)
        for remote_layer in service.layers.all():
            refresh_catalogue_layer(remote_layer)
    return service, created


def refresh_service(service):
    """Read the capabilities again: metadata updated, catalogue settings kept.
    Returns (created, updated, absent) identifiers; RemoteError if unusable (nothing changed)."""
    description = read_capabilities(service.url, service.protocol)
    with transaction.atomic():
        result = sync_service(service, description)
        for remote_layer in service.layers.select_related("service"):
            refresh_catalogue_layer(remote_layer)
    return result
