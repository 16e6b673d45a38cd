"""The SPANC demo of `manage.py load_demo`: installations from the demo ANC points, a campaign for
the demo inspector, published in the catalogue layer; idempotent."""
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from territory.models import Commune
from fieldsync import dashboard

from fieldsync.demo import PER_COMMUNE, load_spanc_demo
from fieldsync.models import Campaign, Control, Installation

pytestmark = pytest.mark.django_db


def published_installations():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_data.spanc_installations")
        return cursor.fetchone()[0]


def test_demo_installations_and_campaign():
    assert not Installation.objects.exists()
    created = load_spanc_demo()
    assert created == 15 * PER_COMMUNE
    assert Installation.objects.count() == created
    assert set(Installation.objects.values_list("commune__insee", flat=True).distinct()) >= {
        "44069", "44055"}
    campaign = Campaign.objects.get(name="Campagne de démonstration")
    controls = Control.objects.filter(campaign=campaign)
    assert controls.count() == 2 * PER_COMMUNE
    assert set(controls.values_list("inspector__username", flat=True)) == {"controleur.spanc"}
    assert published_installations() == created
    # A history of validated controls: the dashboard of a fresh demo shows controls done this
    # year, a compliance rate and dues; a few controls wait for the manager's validation.
    data = dashboard.figures(timezone.localdate().year, Commune.objects.values_list("pk", flat=True))
    assert data["total"]["done"] > 0
    assert data["total"]["checked"] >= created // 2
    assert 0 < data["total"]["compliant"] < data["total"]["checked"]
    assert data["total"]["rate"] is not None
    assert data["total"]["overdue"] > 0  # the campaign's installations are due
    validated = Control.objects.filter(status="validated")
    assert not validated.filter(conclusion__isnull=True).exists()
    assert all(c.findings.exists() for c in validated[:10])
    assert Control.objects.filter(status="submitted").count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_data.spanc_controles")
        assert cursor.fetchone()[0] == Control.objects.count()
    # Deterministic owners and addresses, and nothing added by a second run.
    assert load_spanc_demo() == 0
    assert Installation.objects.count() == created


def test_load_demo_command_reports_what_it_created(capsys):
    call_command("load_demo")
    output = capsys.readouterr().out
    assert f"{15 * PER_COMMUNE} installations ANC" in output
    call_command("load_demo")
    assert "rien à faire" in capsys.readouterr().out
