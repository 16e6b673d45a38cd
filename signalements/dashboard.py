"""The services' dashboard: reports per commune, per type and per status, the time to acknowledge
and to resolve (median and 90th percentile, in PostgreSQL), the map of hot spots and a CSV export
— over the reports the user may process (processing.reports_for), never another service's, with
the same filters (service, open or closed, period) for all of them.

Hot spots: the reports counted per square of HOT_SPOT_CELL_M metres (PostGIS ST_SnapToGrid on the
Lambert-93 points), each square drawn at the centre of its reports; the page draws them as a heat
map and as counted circles (OpenLayers, from npm), and lists the busiest ones in a table. Only
counts leave the server: no report, no description, no reporter.
"""
import csv
from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import processing
from .models import Status

HOT_SPOT_CELL_M = 250
HOT_SPOT_LIMIT = 500

CSV_COLUMNS = ["reference", "type", "categorie", "commune", "code_insee", "service", "etat",
               "motif", "signale_le", "pris_en_compte_le", "clos_le", "echeance", "soutiens",
               "origine", "longitude", "latitude"]


def _percentiles(queryset, start, end):
    """(median, p90) in hours of end - start over the rows where end is set, or (None, None)."""
    rows = queryset.filter(**{f"{end}__isnull": False}).annotate(
        delay=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
    sql, params = rows.values("delay").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delay)), "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM delay)) FROM ({sql}) s",
            params)
        median, p90 = cursor.fetchone()
    return tuple(None if v is None else round(v / 3600, 1) for v in (median, p90))


def figures(queryset):
    by_status = dict(queryset.values_list("status").annotate(n=Count("id")))
    return {
        "total": queryset.count(),
        "statuses": [(s.label, by_status.get(s.value, 0)) for s in Status],
        "communes": list(queryset.values("commune__name").annotate(n=Count("id"))
                         .order_by("-n", "commune__name")),
        "categories": list(queryset.values("category__name").annotate(n=Count("id"))
                           .order_by("-n", "category__name")),
        "acknowledge": _percentiles(queryset, "created_at", "acknowledged_at"),
        "resolve": _percentiles(queryset.filter(status=Status.RESOLVED), "created_at",
                                "resolved_at"),
        "overdue": queryset.filter(status__in=Status.open_values(),
                                   due_on__lt=timezone.localdate()).count(),
    }


def hot_spots(queryset, cell=HOT_SPOT_CELL_M, limit=HOT_SPOT_LIMIT):
    """[{count, lon, lat, communes}] of the squares of `cell` metres holding reports of the
    queryset, the busiest first (at most `limit`)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n, ST_X(c), ST_Y(c), communes FROM ("
            " SELECT count(*) AS n, ST_Transform(ST_Centroid(ST_Collect(r.location)), 4326) AS c,"
            "  string_agg(DISTINCT t.name, ', ' ORDER BY t.name) AS communes"
            " FROM signalements_report r JOIN territory_commune t ON t.id = r.commune_id"
            f" WHERE r.id IN ({sql})"
            " GROUP BY ST_SnapToGrid(r.location, %s)) cells"
            " ORDER BY n DESC, communes LIMIT %s",
            [*params, cell, limit])
        rows = cursor.fetchall()
    return [{"count": n, "lon": round(x, 6), "lat": round(y, 6), "communes": communes}
            for n, x, y, communes in rows]


def _date(value):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None
    except ValueError:
        return None


def filtered(request, reports):
    """The reports of the dashboard's filters, and the filters as understood (bad values are
    ignored, never an error page): service (one of the user's), etat (ouverts, clos), du, au."""
    services = processing.services_of(request.user).order_by("name")
    chosen = {"services": services, "service": None, "etat": "", "du": None, "au": None}
    service = request.GET.get("service", "")
    if service.isdigit() and len(service) < 10 and services.filter(pk=int(service)).exists():
        chosen["service"] = int(service)
        reports = reports.filter(service_id=int(service))
    state = request.GET.get("etat", "")
    if state == "ouverts":
        reports, chosen["etat"] = reports.filter(status__in=Status.open_values()), state
    elif state == "clos":
        reports, chosen["etat"] = reports.filter(status__in=Status.closed_values()), state
    start, end = _date(request.GET.get("du")), _date(request.GET.get("au"))
    zone = timezone.get_current_timezone()
    if start:
        chosen["du"] = start
        reports = reports.filter(created_at__gte=datetime.combine(start, time.min, zone))
    if end:
        chosen["au"] = end
        reports = reports.filter(created_at__lte=datetime.combine(end, time.max, zone))
    return reports, chosen


class _Echo:
    def write(self, value):
        return value


def _csv_rows(queryset):
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)
    for r in queryset.iterator(chunk_size=500):
        point = r.location.transform(4326, clone=True)
        yield writer.writerow([
            r.reference, r.category.name, r.category.group, r.commune.name, r.commune.insee,
            r.service.name, r.get_status_display(), r.status_reason,
            r.created_at.isoformat(timespec="minutes"),
            r.acknowledged_at.isoformat(timespec="minutes") if r.acknowledged_at else "",
            r.resolved_at.isoformat(timespec="minutes") if r.resolved_at else "",
            r.due_on.isoformat() if r.due_on else "", r.supports, r.get_source_display(),
            f"{point.x:.6f}", f"{point.y:.6f}"])


@login_required
@require_GET
def dashboard(request):
    reports, chosen = filtered(request, processing.reports_for(request.user))
    if request.GET.get("format") == "csv":
        rows = reports.select_related("category", "category__parent", "commune", "service") \
            .order_by("created_at")
        response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="signalements.csv"'
        return response
    status = 200 if processing.services_of(request.user).exists() else 403
    spots = hot_spots(reports)
    query = request.GET.copy()
    query["format"] = "csv"
    return render(request, "signalements/dashboard.html", {
        "f": figures(reports), "hot_spots": spots, "top_spots": spots[:10], "filters": chosen,
        "cell_m": HOT_SPOT_CELL_M, "csv_query": query.urlencode()}, status=status)
