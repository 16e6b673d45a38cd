"""RGPD on the web, without an account: a reporter sees, exports and erases his personal data from
a report's tracking link, or for all his reports through a link sent to his e-mail address (read
from the local SMTP server); the same retention and erasure code as manage.py
signalements_donnees, each erasure in the report's journal."""
import json
import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from signalements import personal_data
from signalements.models import Category, Report, ReportPhoto
from signalements.reporting import Submission, create_report

from .support import GUERANDE, photo_with_gps

pytestmark = pytest.mark.usefixtures("signalements_demo")


def report(email, photos=2):
    return create_report(Submission(
        category=Category.objects.get(code="nid-de-poule"), longitude=GUERANDE[0],
        latitude=GUERANDE[1], description="Trou devant l'école", attributes={"taille": "petit"},
        contact_email=email, contact_name="Jeanne Martin", contact_phone="0600000000",
        photos=[photo_with_gps((60, 40)) for _ in range(photos)]))


def hide_one_photo(item):
    ReportPhoto.objects.filter(pk=item.photos.order_by("id").first().pk).update(public=False)


def test_from_the_tracking_link_see_export_and_erase():
    mine = report("jeanne@exemple.test")
    hide_one_photo(mine)
    client = Client()
    track = client.get(reverse("signalements:track", args=[mine.tracking_token]))
    url = reverse("signalements:data-tracking", args=[mine.tracking_token])
    assert url in track.content.decode()
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "jeanne@exemple.test" in html and "0600000000" in html and "Jeanne Martin" in html
    export = client.get(url, {"format": "json"})
    assert export["Content-Disposition"] == f'attachment; filename="{mine.reference}.json"'
    [row] = json.loads(export.content)
    assert row["courriel"] == "jeanne@exemple.test" and row["photos"] == 2
    # Not confirmed: nothing erased.
    client.post(url, {})
    mine.refresh_from_db()
    assert mine.contact_email == "jeanne@exemple.test"
    after = client.post(url, {"confirmer": "oui"}, follow=True).content.decode()
    assert "ont été effacées" in after and 'id="nothing-kept"' in after
    mine.refresh_from_db()
    assert (mine.contact_name, mine.contact_email, mine.contact_phone) == ("", "", "")
    assert mine.photos.count() == 1 and mine.photos.get().public
    assert mine.events.filter(text__contains="lien de suivi").count() == 1
    assert "jeanne@exemple.test" not in client.get(url).content.decode()
    # An unknown tracking link: nothing.
    assert client.get(reverse("signalements:data-tracking", args=["inconnu"])).status_code == 404


def test_by_e_mail_verification_for_every_report_of_an_address(mailbox, settings):
    settings.CAPGEO_PUBLIC_URL = "https://carte.exemple.test"
    first, second = report("Jeanne@Exemple.test"), report("jeanne@exemple.test", photos=0)
    other = report("paul@exemple.test", photos=0)
    client = Client()
    form = reverse("signalements:data-request")
    assert client.get(form).status_code == 200
    sent = client.post(form, {"courriel": "jeanne@exemple.test"})
    assert sent.status_code == 200 and 'id="request-sent"' in sent.content.decode()
    [message] = mailbox.to("jeanne@exemple.test")
    link = re.search(r"https://carte\.exemple\.test(\S+)", message["body"]).group(1)
    # An address without any report: the same answer, and no e-mail.
    unknown = client.post(form, {"courriel": "personne@exemple.test"})
    assert 'id="request-sent"' in unknown.content.decode()
    assert mailbox.to("personne@exemple.test") == []

    page = Client().get(link).content.decode()  # the link alone: no session needed
    assert first.reference in page and second.reference in page
    assert other.reference not in page and "paul@" not in page
    export = json.loads(Client().get(link, {"format": "json"}).content)
    assert [r["reference"] for r in export] == [first.reference, second.reference]
    done = Client().post(link, {"confirmer": "oui"}, follow=True).content.decode()
    assert "2 signalement(s)" in done
    assert not Report.objects.filter(pk__in=[first.pk, second.pk]).exclude(contact_email="") \
        .exists()
    other.refresh_from_db()
    assert other.contact_email == "paul@exemple.test"


def test_bad_or_expired_links_and_bad_addresses_get_a_clear_message(settings):
    client = Client()
    tampered = personal_data.request_token("jeanne@exemple.test")[:-2] + "xx"
    for token in (tampered, "n-importe-quoi"):
        page = client.get(reverse("signalements:data-email", args=[token]))
        assert page.status_code == 400
        assert "pas valable ou a expiré" in page.content.decode()
    expired = signing.dumps("jeanne@exemple.test", salt=personal_data.SIGNING_SALT)
    assert personal_data.email_from_token(expired, max_age=-1) is None
    refused = client.post(reverse("signalements:data-request"), {"courriel": "pas-une-adresse"})
    assert refused.status_code == 400 and "Adresse électronique invalide." in \
        refused.content.decode()
    robot = client.post(reverse("signalements:data-request"),
                        {"courriel": "a@exemple.test", "site_web": "http://spam"})
    assert robot.status_code == 400
    english = client.post(reverse("signalements:data-request"), {"courriel": "x"},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400
