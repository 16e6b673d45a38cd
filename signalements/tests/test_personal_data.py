"""RGPD: retention period, a reporter's export and erasure (manage.py signalements_donnees)."""
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from signalements.models import Category, Report, ReportPhoto
from signalements.reporting import Submission, create_report

from .support import GUERANDE, photo_with_gps

pytestmark = pytest.mark.django_db


def report(email, photos=2):
    return create_report(Submission(
        category=Category.objects.get(code="nid-de-poule"), longitude=GUERANDE[0],
        latitude=GUERANDE[1], description="Trou", attributes={"taille": "petit"},
        contact_email=email, contact_name="Jeanne Martin", contact_phone="0600000000",
        photos=[photo_with_gps((60, 40)) for _ in range(photos)]))


def run(*args):
    out = io.StringIO()
    call_command("signalements_donnees", *args, stdout=out)
    return out.getvalue()


def test_retention_erases_contacts_and_hidden_photos_of_old_closed_reports(signalements_demo,
                                                                            settings):
    settings.CAPGEO_REPORT_RETENTION_DAYS = 30
    old, recent, still_open = report("a@exemple.test"), report("b@exemple.test"), \
        report("c@exemple.test")
    Report.objects.filter(pk__in=[old.pk, recent.pk]).update(status="resolu")
    Report.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=31))
    Report.objects.filter(pk=recent.pk).update(resolved_at=timezone.now() - timedelta(days=5))
    Report.objects.filter(pk=still_open.pk).update(created_at=timezone.now() - timedelta(days=90))
    ReportPhoto.objects.filter(pk=old.photos.order_by("id").first().pk).update(public=False)
    assert "signalement(s) anonymisé(s)" in run("--anonymiser")
    old.refresh_from_db()
    assert (old.contact_email, old.contact_name, old.contact_phone) == ("", "", "")
    assert old.photos.count() == 1 and old.photos.get().public  # the hidden one is gone
    assert old.events.filter(text__contains="durée de conservation").exists()
    for kept in (recent, still_open):
        kept.refresh_from_db()
        assert kept.contact_email and kept.photos.count() == 2


def test_export_and_erase_on_request(signalements_demo):
    mine = report("jeanne@exemple.test")
    other = report("paul@exemple.test")
    exported = json.loads(run("--exporter", "Jeanne@Exemple.test"))
    assert [r["reference"] for r in exported] == [mine.reference]
    assert exported[0]["courriel"] == "jeanne@exemple.test" and exported[0]["photos"] == 2
    assert "1 signalement(s) effacé(s)" in run("--effacer", "jeanne@exemple.test")
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.contact_email == "" and mine.contact_phone == ""
    assert other.contact_email == "paul@exemple.test"
    assert json.loads(run("--exporter", "jeanne@exemple.test")) == []
