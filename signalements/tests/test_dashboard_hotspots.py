"""The dashboard's filters (service, open or closed, period) and its map of hot spots: reports
counted per square by PostGIS over the same filtered reports as the figures and the CSV, only
counts on the page, never another service's reports."""
import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from signalements import dashboard
from signalements.models import Report, Service, Status

pytestmark = pytest.mark.usefixtures("signalements_demo")


def agent(username="agent.guerande"):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def spots_of(response):
    html = response.content.decode()
    return json.loads(html.split('id="hotspots-data" type="application/json">')[1]
                      .split("</script>")[0])


def test_hot_spots_count_the_services_reports_and_nothing_else():
    mine = Report.objects.filter(service__code="guerande-st")
    page = agent().get(reverse("signalements:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="hotspots-map"' in html and "vendor/ol/ol.js" in html
    spots = spots_of(page)
    assert sum(s["count"] for s in spots) == mine.count() > 0
    assert all(set(s) == {"count", "lon", "lat", "communes"} for s in spots)
    assert {s["communes"] for s in spots} <= {"Guérande"}
    assert spots == sorted(spots, key=lambda s: -s["count"])
    # No description, no contact: only counts and places.
    for report in mine:
        assert report.description[:30] not in json.dumps(spots)
    # One large square: all of them in one spot, at their centre.
    [whole] = dashboard.hot_spots(mine, cell=100_000)
    assert whole["count"] == mine.count()
    assert -2.6 < whole["lon"] < -2.3 and 47.2 < whole["lat"] < 47.4
    # Another commune's agent sees his own reports only.
    labaule = spots_of(agent("agent.labaule").get(reverse("signalements:dashboard")))
    assert sum(s["count"] for s in labaule) == \
        Report.objects.filter(service__code="labaule-st").count()


def test_filters_apply_to_figures_hot_spots_and_csv():
    client = agent()
    mine = Report.objects.filter(service__code="guerande-st")
    closed = mine.filter(status__in=Status.closed_values()).count()
    page = client.get(reverse("signalements:dashboard"), {"etat": "clos"})
    assert sum(s["count"] for s in spots_of(page)) == closed
    export = client.get(reverse("signalements:dashboard"), {"etat": "clos", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig")),
                           delimiter=";"))
    assert len(rows) - 1 == closed
    # A period: nothing reported tomorrow.
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    empty = client.get(reverse("signalements:dashboard"), {"du": tomorrow})
    assert spots_of(empty) == [] and "Aucun signalement." in empty.content.decode()
    # Another service's id, or values that mean nothing: ignored, never an error page.
    other = Service.objects.get(code="labaule-st").pk
    for params in ({"service": other}, {"service": "x"}, {"du": "hier"}, {"etat": "tout"}):
        answer = client.get(reverse("signalements:dashboard"), params)
        assert answer.status_code == 200
        assert sum(s["count"] for s in spots_of(answer)) == mine.count()
    # The CSV link keeps the filters.
    assert "etat=clos" in page.content.decode().split("Exporter en CSV")[0].rsplit("href=", 1)[1]
