"""The services' dashboard: reports per commune, per type and per status, the time to acknowledge
and to resolve (median and 90th percentile, in PostgreSQL), and a CSV export — over the reports
the user may process (processing.reports_for), never another service's."""
import csv

from django.contrib.auth.decorators import login_required
from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import processing
from .models import Status

CSV_COLUMNS = ["reference", "type", "categorie", "commune", "code_insee", "service", "etat",
               "motif", "signale_le", "pris_en_compte_le", "clos_le", "echeance", "soutiens",
               "origine", "longitude", "latitude"]


def _percentiles(queryset, start, end):
    """(median, p90) in hours of end - start over the rows where end is set, or (None, None)."""
    rows = queryset.filter(**{f"{end}__isnull": False}).annotate(
        delay=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
    sql, params = rows.values("delay").query.sql_with_params()
    from django.db import connection

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
    reports = processing.reports_for(request.user)
    if request.GET.get("format") == "csv":
        rows = reports.select_related("category", "category__parent", "commune", "service") \
            .order_by("created_at")
        response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="signalements.csv"'
        return response
    status = 200 if processing.services_of(request.user).exists() else 403
    return render(request, "signalements/dashboard.html", {"f": figures(reports)}, status=status)
