"""The SPANC demo of `manage.py load_demo`: installations from the demo ANC points, a campaign for
the demo inspector, published in the catalogue layer; idempotent."""
import pytest
from django.core.management import call_command
from django.db import connection

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
    # Deterministic owners and addresses, and nothing added by a second run.
    assert load_spanc_demo() == 0
    assert Installation.objects.count() == created


def test_load_demo_command_reports_what_it_created(capsys):
    call_command("load_demo")
    output = capsys.readouterr().out
    assert f"{15 * PER_COMMUNE} installations ANC" in output
    call_command("load_demo")
    assert "rien à faire" in capsys.readouterr().out
