"""/healthz: is the database reachable and does it have PostGIS? For load balancers and humans.

With a streaming replica (DATABASE_REPLICA_URL), its state and lag are reported too ("replica":
ok, lagging, down or not-a-replica; platform_web.db_routing): a replica down or lagging leaves the
app server healthy (200), its reads going to the primary.
"""
from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from platform_web.db_routing import replica_configured, replica_status


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database_version = cursor.fetchone()[0]
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            row = cursor.fetchone()
            if row is None:
                return JsonResponse(
                    {"status": "error", "database": database_version,
                     "reason": "The database has no PostGIS extension."},
                    status=503,
                )
            cursor.execute("SELECT postgis_lib_version(), postgis_full_version()")
            postgis_version, postgis_full = cursor.fetchone()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return JsonResponse(
            {"status": "error", "reason": f"The database is unreachable: {reason}"}, status=503
        )
    answer = {
        "status": "ok",
        "database": database_version,
        "postgis": postgis_version,
        "postgis_extension": row[0],
        "postgis_full": postgis_full,
    }
    if replica_configured():
        answer["replica"] = replica_status()
    return JsonResponse(answer)
