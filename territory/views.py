"""Commune boundaries as GeoJSON (WGS 84), encoded by PostGIS: the offline basemap of the admin."""
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

ATTRIBUTION = "IGN – ADMIN EXPRESS, Licence Ouverte 2.0"


@require_GET
@cache_control(max_age=3600, public=True)
def communes_geojson(request):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'attribution', %s,
                'features', coalesce(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', c.insee,
                    'properties', json_build_object('insee', c.insee, 'nom', c.name),
                    'geometry', ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6)::json
                ) ORDER BY c.insee), '[]'::json))::text
            FROM territory_commune c
            """,
            [ATTRIBUTION],
        )
        body = cursor.fetchone()[0]
    return HttpResponse(body, content_type="application/geo+json")
