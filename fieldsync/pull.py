"""What a device downloads: the offline package of its user's assignments, then changes since a
cursor (an id of fieldsync.ChangeLog).

The package is bounded by one inspector's assignments (hundreds of installations), so its domain
part is built from the models; the zone layers may be large polygons, so their GeoJSON is encoded
by PostgreSQL, clipped to the assignment area, and spliced into the answer as text.
"""
import json

from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from layers import access_log
from layers.access import AccessPolicy

from . import records, vocabularies, zones
from .models import ChangeLog, Control, ControlStatus, Installation, SyncChange

PROTOCOL = "capgeo-spanc-sync/1"
AREA_MARGIN_M = 1000        # around the assignments, for map tiles and zones
CHANGES_PAGE = 2000
TILE_ZOOMS = [10, 18]
OPEN_STATUSES = [ControlStatus.ASSIGNED, ControlStatus.IN_PROGRESS, ControlStatus.SUBMITTED,
                 ControlStatus.REJECTED]


def assignments(user):
    """The user's current assignments: their controls still in the field workflow."""
    return (Control.objects.filter(inspector=user, status__in=OPEN_STATUSES)
            .filter(superseded_by__isnull=True))


def current_cursor():
    return ChangeLog.objects.aggregate(last=Max("id"))["last"] or 0


def _area(installations):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Expand(ST_Extent(location)::geometry, %s) AS e "
            " FROM fieldsync_installation WHERE id = ANY(%s)) x",
            [AREA_MARGIN_M, list(installations.values_list("id", flat=True))])
        extent = cursor.fetchone()
    if extent is None or extent[0] is None:
        return None
    box = Polygon.from_bbox(extent)
    box.srid = 2154
    wgs84 = box.transform(4326, clone=True)
    return {"bbox_l93": [round(v, 1) for v in extent],
            "bbox_wgs84": [round(v, 6) for v in wgs84.extent],
            "tile_zooms": TILE_ZOOMS, "polygon": box}


def _zones_json(user, area):
    """GeoJSON FeatureCollections of the zone layers the user may view, cut to the area, encoded
    by PostgreSQL through the feature source (the user's rows of each layer, no property)."""
    if area is None:
        return "[]"
    box = bytes(area["polygon"].ewkb).hex()
    parts = []
    for zone_layer, source in zones.zone_sources(AccessPolicy.for_user(user)):
        query = source.query(area=box, clip=box, crs=4326, digits=7, properties=())
        parts.append("".join(source.geojson_collection(query, {
            "layer": zone_layer.layer.name, "kind": zone_layer.kind,
            "title": zone_layer.layer.title})))
    return "[" + ",".join(parts) + "]"


def package(user):
    """The offline package as JSON text (its owners journaled as read by "sync-package")."""
    with access_log.reading_as("sync-package"):
        return _package(user)


def _package(user):
    cursor = current_cursor()  # read first: whatever commits later comes again with the changes
    mine = assignments(user)
    area = _area(Installation.objects.filter(pk__in=mine.values("installation")))
    campaigns = {c.campaign_id: c.campaign for c in mine.select_related("campaign")
                 if c.campaign_id}
    # A type that does not admit the user sends nothing (its member empty): a reports agent's
    # tablet never receives the installations of his commune.
    members = {record_type.members: [] for record_type in records.REGISTRY.values()}
    for record_type in records.admitted(user):
        members.update(record_type.package(user, mine))
    body = {
        "format": PROTOCOL,
        "generated_at": timezone.now().isoformat(),
        "cursor": cursor,
        "user": {"username": user.username, "name": user.get_full_name(),
                 "role": user.role},
        "campaigns": [{"id": c.pk, "name": c.name, "kind": c.kind.code,
                       "ends_on": c.ends_on.isoformat() if c.ends_on else None}
                      for c in campaigns.values()],
        "assignments": [str(u) for u in mine.values_list("uuid", flat=True)],
        **members,
        "vocabularies": vocabularies.vocabularies(),
        "map": ({k: v for k, v in area.items() if k != "polygon"} if area else None),
    }
    text = json.dumps(body, ensure_ascii=False)
    return text[:-1] + ',"zones":' + _zones_json(user, area) + "}"


def changes(user, since):
    """Records changed after `since` that the user may see, and the new cursor (the owners
    shown journaled as read by "sync-changes")."""
    with access_log.reading_as("sync-changes"):
        return _changes(user, since)


def _changes(user, since):
    entries = list(ChangeLog.objects.filter(id__gt=since).order_by("id")
                   .values_list("id", "entity", "entity_uuid")[:CHANGES_PAGE])
    new_cursor = entries[-1][0] if entries else max(since, 0)
    uuids = {}
    for _id, entity, uuid in entries:
        uuids.setdefault(entity, set()).add(uuid)
    # In reverse order: a record type may bring along the records that refer to it (a control's
    # installation travels with it, so a new assignment is usable offline at once).
    changed = {}
    admitted = records.admitted(user)
    for record_type in reversed(list(records.REGISTRY.values())):
        changed[record_type.entity] = record_type.changed(
            user, uuids.get(record_type.entity, set()), changed) \
            if record_type in admitted else record_type.model.objects.none()
    conflicts = SyncChange.objects.filter(batch__user=user, status="conflict") \
        .order_by("-created_at")[:100]
    return {
        "format": PROTOCOL,
        "since": since,
        "cursor": new_cursor,
        "more": len(entries) == CHANGES_PAGE,
        "assignments": [str(u) for u in assignments(user).values_list("uuid", flat=True)],
        **{record_type.members: record_type.serialise(changed[record_type.entity], user)
           for record_type in records.REGISTRY.values()},
        "conflicts": [
            {"change_id": str(c.id), "entity": c.entity, "id": str(c.entity_uuid),
             "resolution": c.resolution or "open",
             "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None}
            for c in conflicts
        ],
    }
