"""Planning a campaign on a map: which installations a drawn zone (or communes) selects.

The drawn zone arrives as GeoJSON, in WGS 84 (what the browser's map gives) or in Lambert-93
when the GeoJSON says so (a ``crs`` member naming EPSG:2154, as QGIS writes it). PostGIS does
the selection (ST_Within of each installation's point in the zone) over the installations the
SPANC scope rules give the manager; the same function serves the map's preview and the
campaign's creation, so the count shown is the count planned.
"""
import json

from django.contrib.auth.decorators import login_required
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_GET, require_POST

from territory.models import Commune

from . import scope
from .models import Control, ControlStatus, Installation

MAX_AREA_CHARS = 500_000
MAX_VERTICES = 10_000
LAMBERT93_NAMES = {"EPSG:2154", "urn:ogc:def:crs:EPSG::2154", "urn:ogc:def:crs:EPSG:2154",
                   "http://www.opengis.net/def/crs/EPSG/0/2154"}
# Where the territory may be: a zone outside is a mistake of projection (lon/lat given as L93).
LAMBERT93_BOUNDS = (-400_000, 5_500_000, 2_000_000, 7_600_000)


def _geometry_json(document):
    """The geometry of a GeoJSON geometry, Feature or FeatureCollection (polygons only)."""
    kind = document.get("type")
    if kind == "Feature":
        return document.get("geometry") or {}
    if kind == "FeatureCollection":
        polygons = []
        for feature in document.get("features") or []:
            geometry = (feature or {}).get("geometry") or {}
            if geometry.get("type") == "Polygon":
                polygons.append(geometry.get("coordinates"))
            elif geometry.get("type") == "MultiPolygon":
                polygons.extend(geometry.get("coordinates") or [])
            else:
                raise ValidationError(_t("La zone ne doit contenir que des polygones."))
        return {"type": "MultiPolygon", "coordinates": polygons}
    return document


def parse_area(text):
    """A MultiPolygon in Lambert-93 from GeoJSON text; raises ValidationError (French)."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_AREA_CHARS:
        raise ValidationError(_t("Zone trop détaillée : simplifiez le dessin."))
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays nested a thousand deep
        raise ValidationError(_t("La zone n'est pas un polygone GeoJSON lisible.")) from None
    if not isinstance(document, dict):
        raise ValidationError(_t("La zone n'est pas un polygone GeoJSON lisible."))
    crs = ((document.get("crs") or {}).get("properties") or {}).get("name", "EPSG:4326")
    srid = 2154 if crs in LAMBERT93_NAMES else 4326
    if srid == 4326 and crs not in ("EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
                                    "urn:ogc:def:crs:EPSG::4326"):
        raise ValidationError(_t("Système de coordonnées non pris en charge : « %(crs)s » "
                                 "(WGS 84 ou Lambert-93 attendu).") % {"crs": str(crs)[:60]})
    geometry_json = _geometry_json(document)
    if geometry_json.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValidationError(_t("Un polygone est attendu (type « Polygon » ou « MultiPolygon »)."))
    try:
        area = GEOSGeometry(json.dumps(geometry_json), srid=srid)
    except (GDALException, GEOSException, ValueError, TypeError):
        raise ValidationError(_t("Le polygone de la zone est mal formé.")) from None
    if area.empty:
        raise ValidationError(_t("La zone est vide."))
    if area.num_coords > MAX_VERTICES:
        raise ValidationError(_t("Zone trop détaillée : %(max)d sommets au plus.")
                              % {"max": MAX_VERTICES})
    if not area.valid:
        raise ValidationError(_t("Le polygone se recoupe lui-même : redessinez la zone."))
    if area.geom_type == "Polygon":
        area = MultiPolygon(area, srid=srid)
    if srid == 4326:
        minx, miny, maxx, maxy = area.extent
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ValidationError(_t("Coordonnées hors des bornes du WGS 84 : une zone en "
                                     "Lambert-93 doit le déclarer (membre « crs »)."))
        area.transform(2154)
    minx, miny, maxx, maxy = area.extent
    if minx < LAMBERT93_BOUNDS[0] or miny < LAMBERT93_BOUNDS[1] or \
            maxx > LAMBERT93_BOUNDS[2] or maxy > LAMBERT93_BOUNDS[3]:
        raise ValidationError(_t("La zone est hors de la France métropolitaine."))
    return area


def select_installations(manager, communes=(), area=None, due_before=None):
    """Installations a campaign would plan: in the manager's scope, in the communes and/or
    within the zone, without a control already open; optionally only those due before a date
    (or never controlled)."""
    installations = scope.installations(manager)
    if communes:
        installations = installations.filter(commune__in=communes)
    if area is not None:
        installations = installations.filter(location__within=area)
    open_controls = Control.objects.exclude(status__in=[ControlStatus.VALIDATED,
                                                        ControlStatus.REJECTED])
    installations = installations.exclude(pk__in=open_controls.values("installation"))
    if due_before:
        overdue = Control.objects.filter(status=ControlStatus.VALIDATED,
                                         next_control_on__lt=due_before)
        never = Installation.objects.exclude(controls__status=ControlStatus.VALIDATED)
        installations = installations.filter(pk__in=overdue.values("installation")) | \
            installations.filter(pk__in=never.values("pk"))
    return installations.distinct()


def _manager(request):
    if not scope.is_manager(request.user):
        raise PermissionDenied
    return request.user


# Every installation of the manager's scope for the map, encoded by PostgreSQL (WGS 84).
INSTALLATIONS_GEOJSON = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object('type', 'Feature', 'id', i.uuid,
        'geometry', ST_AsGeoJSON(ST_Transform(i.location, 4326), 6)::json,
        'properties', json_build_object('adresse', i.address, 'commune', c.name,
            'en_cours', EXISTS (SELECT 1 FROM fieldsync_control o WHERE o.installation_id = i.id
                                AND o.status NOT IN ('validated', 'rejected'))))
    ORDER BY i.id), '[]'::json))::text
FROM fieldsync_installation i JOIN territory_commune c ON c.id = i.commune_id
WHERE i.id IN ({scope})
"""


@login_required
@require_GET
def installations_geojson(request):
    manager = _manager(request)
    ids_sql, params = scope.installations(manager).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(INSTALLATIONS_GEOJSON.format(scope=ids_sql), params)
        body = cursor.fetchone()[0]
    response = HttpResponse(body, content_type="application/geo+json")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def selection(request):
    """The preview of a selection: {"count", "ids"} or {"error"} (French) with status 400.

    Body: JSON {"area": GeoJSON text or object, "communes": [INSEE], "due_before": "AAAA-MM-JJ"}.
    """
    manager = _manager(request)
    try:
        payload = json.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return JsonResponse({"error": _t("Requête illisible : un objet JSON est attendu.")},
                            status=400)
    area = payload.get("area")
    try:
        area = parse_area(json.dumps(area) if isinstance(area, dict) else area)
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    insee = payload.get("communes") or []
    if not isinstance(insee, list) or not all(isinstance(code, str) for code in insee):
        return JsonResponse({"error": _t("Liste de communes invalide.")}, status=400)
    communes = list(Commune.objects.filter(insee__in=insee))
    refused = [c.name for c in communes if not scope.manages_commune(manager, c.pk)]
    if refused or len(communes) != len(set(insee)):
        return JsonResponse({"error": _t("Commune inconnue ou hors de votre ressort.")},
                            status=400)
    due_before = payload.get("due_before") or None
    if due_before is not None:
        try:
            due_before = parse_date(due_before) if isinstance(due_before, str) else None
        except ValueError:
            due_before = None
        if due_before is None:
            return JsonResponse({"error": _t("Date invalide : AAAA-MM-JJ attendue.")}, status=400)
    if area is None and not communes:
        return JsonResponse({"count": 0, "ids": []})
    ids = [str(u) for u in select_installations(manager, communes, area, due_before)
           .values_list("uuid", flat=True)]
    return JsonResponse({"count": len(ids), "ids": ids})
