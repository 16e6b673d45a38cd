"""The reporting page, with Django's test client: photos without metadata, errors in French, spam
limits, duplicates and support, the tracking page, e-mails through a real SMTP server."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from signalements.models import Category, Report, ReportPhoto, Status, Support

from .support import GUERANDE, OFFSHORE, metadata_of, photo_with_gps

pytestmark = pytest.mark.django_db


def form(category_code="nid-de-poule", point=GUERANDE, **extra):
    category = Category.objects.get(code=category_code)
    data = {"categorie": str(category.pk), "longitude": str(point[0]),
            "latitude": str(point[1]), "description": "Trou profond au milieu de la voie.",
            f"champ_{category.pk}_taille": "grand"}
    data.update(extra)
    return data


def test_form_page_lists_types_in_french(client, signalements_demo):
    page = client.get(reverse("signalements:new")).content.decode()
    assert "Signaler un problème" in page
    assert "Nid-de-poule" in page and '<optgroup label="Voirie">' in page
    assert 'name="site_web"' in page and 'tabindex="-1"' in page  # honeypot, out of tab order
    assert '<label for="id_description">' in page


def test_report_with_a_gps_photo_stores_and_serves_no_metadata(client, signalements_demo,
                                                               mailbox,
                                                               django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("IMG_0001.jpg", photo_with_gps(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signalements:new"), form(
            photos=[upload], courriel="habitant@exemple.test", nom="Jeanne Habitante"))
    assert response.status_code == 302, response.content.decode()[:2000]
    report = Report.objects.latest("id")
    assert response["Location"] == reverse("signalements:track", args=[report.tracking_token])
    assert report.service.code == "guerande-st" and report.commune.insee == "44069"
    stored = ReportPhoto.objects.get(report=report)
    meta = metadata_of(bytes(stored.data))
    assert meta["exif"] == {} and meta["gps"] == {} and meta["info"] == {}
    assert max(meta["size"]) == 1600
    served = client.get(reverse("signalements:photo", args=[stored.token]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert metadata_of(served.content)["gps"] == {}
    assert b"Fabricant" not in served.content and b"secret comment" not in served.content
    # Acknowledgement to the reporter with the tracking link, new report to the service.
    ack = mailbox.to("habitant@exemple.test")
    assert len(ack) == 1 and report.reference in ack[0]["subject"]
    assert report.tracking_token in ack[0]["body"]
    service_mail = mailbox.to("services-techniques@guerande.demo")
    assert len(service_mail) == 1 and "Nid-de-poule" in service_mail[0]["subject"]
    assert "Trou profond" in service_mail[0]["body"]
    # The tracking page, without an account.
    page = client.get(response["Location"]).content.decode()
    assert report.reference in page and "nouveau" in page
    assert "habitant@exemple.test" not in page


def test_errors_are_listed_in_french_and_nothing_is_written(client, signalements_demo):
    before = Report.objects.count()
    response = client.post(reverse("signalements:new"),
                           form(description="", point=OFFSHORE, courriel="pas-une-adresse"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Le signalement n&#x27;est pas envoyé" in page or "Le signalement n'est pas envoyé" in page
    assert "en dehors du territoire" in page
    assert "Décrivez le problème" in page and "Adresse électronique invalide" in page
    assert 'aria-invalid="true"' in page
    assert Report.objects.count() == before


def test_not_a_photo_refuses_the_whole_report(client, signalements_demo):
    before = Report.objects.count()
    fake = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(reverse("signalements:new"), form(photos=[fake]))
    assert response.status_code == 400
    assert "pas une photo lisible" in response.content.decode()
    assert Report.objects.count() == before and not ReportPhoto.objects.filter(
        report__description__startswith="Trou profond").exists()


def test_too_many_photos(client, signalements_demo):
    photos = [SimpleUploadedFile(f"p{i}.jpg", photo_with_gps((40, 30)), "image/jpeg")
              for i in range(6)]
    response = client.post(reverse("signalements:new"), form(photos=photos))
    assert response.status_code == 400 and "5 photos au plus" in response.content.decode()


def test_honeypot_is_refused_with_a_clear_message(client, signalements_demo):
    before = Report.objects.count()
    response = client.post(reverse("signalements:new"), form(site_web="http://spam.example"))
    assert response.status_code == 400
    assert "doit rester vide" in response.content.decode()
    assert Report.objects.count() == before


def test_rate_limit_per_address_then_per_account(client, signalements_demo, settings):
    settings.CAPGEO_REPORT_RATE_IP = "2/h"
    settings.CAPGEO_REPORT_RATE_USER = "3/h"
    url = reverse("signalements:new")
    assert client.post(url, form()).status_code == 302
    assert client.post(url, form()).status_code == 302
    refused = client.post(url, form())
    assert refused.status_code == 429
    assert "Trop de signalements" in refused.content.decode()
    # A signed-in agent behind the same address is counted on his own account.
    client.force_login(User.objects.get(username="agent.guerande"))
    assert [client.post(url, form()).status_code for _ in range(4)] == [302, 302, 302, 429]


def test_same_submission_key_stores_one_report(client, signalements_demo):
    before = Report.objects.count()
    first = client.post(reverse("signalements:new"), form(cle_envoi="c0ffee-1"))
    second = client.post(reverse("signalements:new"), form(cle_envoi="c0ffee-1"))
    assert first["Location"] == second["Location"]
    assert Report.objects.count() == before + 1


def test_anonymous_not_allowed_for_some_types(client, signalements_demo):
    tag = Category.objects.get(code="tag")
    response = client.post(reverse("signalements:new"), {
        "categorie": tag.pk, "longitude": GUERANDE[0], "latitude": GUERANDE[1],
        "description": "Tag injurieux"})
    assert response.status_code == 400
    assert "demande une adresse électronique" in response.content.decode()


def test_duplicates_nearby_and_support_once(client, signalements_demo):
    first = client.post(reverse("signalements:new"), form(description="Nid de poule énorme"))
    original = Report.objects.get(tracking_token=first["Location"].split("/")[-2])
    # 20 m to the east: 0.00026° of longitude at this latitude.
    near = (GUERANDE[0] + 0.00026, GUERANDE[1])
    category = Category.objects.get(code="nid-de-poule")
    answer = client.get(reverse("signalements:duplicates"), {
        "categorie": category.pk, "longitude": near[0], "latitude": near[1],
        "texte": "nid de poule"}).json()
    found = {d["reference"]: d for d in answer["doublons"]}
    assert original.reference in found
    assert 15 <= found[original.reference]["distance_m"] <= 25
    assert found[original.reference]["similarite"] > 0.3
    # A related category (trottoir ↔ nid-de-poule) finds it too; an unrelated one does not.
    related = Category.objects.get(code="trottoir")
    assert original.reference in {d["reference"] for d in client.get(
        reverse("signalements:duplicates"),
        {"categorie": related.pk, "longitude": near[0], "latitude": near[1]}).json()["doublons"]}
    light = Category.objects.get(code="eclairage")
    assert original.reference not in {d["reference"] for d in client.get(
        reverse("signalements:duplicates"),
        {"categorie": light.pk, "longitude": near[0], "latitude": near[1]}).json()["doublons"]}
    # Support instead of a new report: counted once per person.
    url = reverse("signalements:support", args=[original.uuid])
    one = client.post(url, HTTP_ACCEPT="application/json").json()
    two = client.post(url, HTTP_ACCEPT="application/json").json()
    assert one["compte"] is True and two["compte"] is False
    original.refresh_from_db()
    assert original.supports == 1 and Support.objects.filter(report=original).count() == 1


def test_duplicates_bad_input_is_a_json_400(client, signalements_demo):
    category = Category.objects.get(code="nid-de-poule")
    for params in ({"categorie": "x"}, {"categorie": category.pk, "longitude": "nan",
                                        "latitude": "47"},
                   {"categorie": category.pk, "longitude": "1e999", "latitude": "47"}):
        response = client.get(reverse("signalements:duplicates"), params)
        assert response.status_code == 400
        assert response.json()["detail"]


def test_private_photo_is_not_served_to_the_public(client, signalements_demo):
    upload = SimpleUploadedFile("p.jpg", photo_with_gps((60, 40)), "image/jpeg")
    response = client.post(reverse("signalements:new"), form(photos=[upload]))
    report = Report.objects.get(tracking_token=response["Location"].split("/")[-2])
    photo = report.photos.get()
    photo.public = False
    photo.save()
    url = reverse("signalements:photo", args=[photo.token])
    assert client.get(url).status_code == 404
    assert client.get(url, {"suivi": report.tracking_token}).status_code == 200
    client.force_login(User.objects.get(username="agent.labaule"))
    assert client.get(url).status_code == 404
    client.force_login(User.objects.get(username="agent.guerande"))
    assert client.get(url).status_code == 200


def test_public_map_page_lists_reports_without_contacts(client, signalements_demo):
    page = client.get(reverse("signalements:map")).content.decode()
    assert "Carte des signalements" in page
    visible = Report.objects.exclude(status__in=[Status.REJECTED, Status.DUPLICATE])
    assert visible.first().reference in page
    for report in Report.objects.exclude(contact_email=""):
        assert report.contact_email not in page
