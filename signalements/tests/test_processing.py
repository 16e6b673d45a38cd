"""Processing by the services: queue per service, statuses with reasons, assignment, comments vs
public replies, merge, reroute, due dates, the audit trail, and the e-mails they send."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from accounts.models import User
from layers.access import AccessPolicy
from signalements import processing, publication
from signalements.models import Category, EventKind, Report, Service, Status
from signalements.reporting import Submission, create_report

from .support import GUERANDE

pytestmark = pytest.mark.django_db


def new_pothole(email="riverain@exemple.test", point=GUERANDE, text="Trou devant l'école"):
    return create_report(Submission(category=Category.objects.get(code="nid-de-poule"),
                                    longitude=point[0], latitude=point[1], description=text,
                                    attributes={"taille": "moyen"}, contact_email=email,
                                    contact_name="Paul Riverain"))


def act(client, report, **data):
    return client.post(reverse("signalements:act", args=[report.pk]), data)


def test_queue_shows_only_the_services_own_reports(client, signalements_demo):
    client.force_login(User.objects.get(username="agent.guerande"))
    page = client.get(reverse("signalements:queue"), {"statut": list(Status.values)})
    body = page.content.decode()
    assert page.status_code == 200
    mine = Report.objects.filter(service__code="guerande-st")
    others = Report.objects.exclude(service__code="guerande-st")
    assert mine.exists() and others.exists()
    for report in mine:
        assert report.reference in body
    for report in others:
        assert f">{report.reference}<" not in body
        # Another service's report is unknown, its reporter's contact never shown.
        other = client.get(reverse("signalements:process", args=[report.pk]))
        assert other.status_code == 404
        if report.contact_email:
            assert report.contact_email not in other.content.decode()
        assert act(client, report, action="status", statut="en_cours").status_code == 404


def test_a_user_without_service_has_no_queue(client, signalements_demo):
    client.force_login(User.objects.get(username="lecteur"))
    assert client.get(reverse("signalements:queue")).status_code == 403
    assert client.get(reverse("signalements:queue")).context["reports"] == []
    client.logout()
    assert client.get(reverse("signalements:queue")).status_code == 302  # to the login page


def test_workflow_with_emails_and_tracking(client, signalements_demo, mailbox,
                                           django_capture_on_commit_callbacks):
    report = new_pothole()
    agent = User.objects.get(username="agent.guerande")
    client.force_login(agent)
    page = client.get(reverse("signalements:process", args=[report.pk])).content.decode()
    assert "riverain@exemple.test" in page  # its own service sees the contact
    with django_capture_on_commit_callbacks(execute=True):
        act(client, report, action="status", statut="pris_en_compte")
        act(client, report, action="assign", agent=agent.pk)
        act(client, report, action="due", echeance="2030-01-15")
        act(client, report, action="status", statut="en_cours")
        act(client, report, action="comment", texte="Voir avec l'équipe enrobé.")
        act(client, report, action="reply", texte="Intervention prévue jeudi.")
        act(client, report, action="status", statut="resolu", motif="Trou rebouché.")
    report.refresh_from_db()
    assert report.status == Status.RESOLVED and report.assigned_to == agent
    assert report.acknowledged_at and report.resolved_at and str(report.due_on) == "2030-01-15"
    kinds = list(report.events.values_list("kind", "actor__username"))
    assert [k for k, _ in kinds] == [EventKind.CREATED, EventKind.STATUS, EventKind.ASSIGNED,
                                     EventKind.DUE, EventKind.STATUS, EventKind.COMMENT,
                                     EventKind.REPLY, EventKind.STATUS]
    assert all(who == "agent.guerande" for _, who in kinds[1:])
    subjects = [m["subject"] for m in mailbox.to("riverain@exemple.test")]
    assert any("pris en compte" in s for s in subjects), (subjects, mailbox.messages)
    assert any("en cours" in s for s in subjects)
    assert any("résolu" in s for s in subjects)
    assert any("réponse du service" in s for s in subjects)
    resolved = [m for m in mailbox.to("riverain@exemple.test") if "résolu" in m["subject"]][0]
    assert "Trou rebouché." in resolved["body"] and report.tracking_token in resolved["body"]
    # The tracking page: public reply and status, never the internal comment.
    client.logout()
    track = client.get(reverse("signalements:track", args=[report.tracking_token]))
    body = track.content.decode()
    assert "résolu" in body and "Intervention prévue jeudi." in body
    assert "enrobé" not in body and "riverain@exemple.test" not in body
    # The public layer shows the new status.
    source = AccessPolicy.for_user(AnonymousUser()).source(publication.PUBLIC_LAYER)
    row = [f for f in source.features(source.query(crs=4326))
           if f["properties"]["reference"] == report.reference][0]
    assert row["properties"]["statut"] == "resolu"


def test_reject_needs_a_reason_and_leaves_the_public_map(client, signalements_demo):
    report = new_pothole()
    client.force_login(User.objects.get(username="agent.guerande"))
    act(client, report, action="status", statut="rejete")
    report.refresh_from_db()
    assert report.status == Status.NEW
    act(client, report, action="status", statut="rejete", motif="Voie privée.")
    report.refresh_from_db()
    assert report.status == Status.REJECTED and report.status_reason == "Voie privée."
    source = AccessPolicy.for_user(AnonymousUser()).source(publication.PUBLIC_LAYER)
    assert report.reference not in {f["properties"]["reference"]
                                    for f in source.features(source.query())}


def test_assign_only_to_a_member_of_the_service(signalements_demo):
    report = new_pothole()
    with pytest.raises(processing.ProcessingError):
        processing.assign(report, User.objects.get(username="agent.labaule"),
                          User.objects.get(username="agent.guerande"))


def test_merge_duplicates(client, signalements_demo):
    original = new_pothole(text="Nid de poule rue du Château")
    duplicate = new_pothole(email="autre@exemple.test", text="Gros trou rue du Château")
    client.force_login(User.objects.get(username="agent.guerande"))
    page = client.get(reverse("signalements:process", args=[duplicate.pk])).content.decode()
    assert original.reference in page  # proposed as a candidate
    response = act(client, duplicate, action="merge", original=original.pk)
    assert response["Location"] == reverse("signalements:process", args=[original.pk])
    duplicate.refresh_from_db()
    original.refresh_from_db()
    assert duplicate.status == Status.DUPLICATE and duplicate.duplicate_of == original
    assert original.supports == 1
    assert original.events.filter(kind=EventKind.MERGED).exists()
    # Merging into itself or into a closed report is refused.
    with pytest.raises(processing.ProcessingError):
        processing.merge(original, original, None)


def test_reroute_to_another_service(client, signalements_demo, mailbox,
                                    django_capture_on_commit_callbacks):
    report = new_pothole()
    client.force_login(User.objects.get(username="agent.guerande"))
    waste = Service.objects.get(code="cap-dechets")
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, report, action="reroute", service=waste.pk,
                       motif="Ce sont des déchets")
    assert response["Location"] == reverse("signalements:queue")  # no longer his
    report.refresh_from_db()
    assert report.service == waste
    assert report.events.filter(kind=EventKind.REROUTED, before__contains="Guérande").exists()
    assert mailbox.to("dechets@cap-atlantique.demo")
    assert client.get(reverse("signalements:process", args=[report.pk])).status_code == 404


def test_daily_digest(signalements_demo, mailbox):
    from signalements.notifications import send_digests

    service = Service.objects.get(code="guerande-st")
    service.daily_digest = True
    service.save()
    new_pothole()
    assert send_digests() == 1
    digest = mailbox.to("services-techniques@guerande.demo")
    assert len(digest) == 1 and "Signalements du jour" in digest[0]["subject"]


def test_hide_a_photo_from_the_public(client, signalements_demo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .support import photo_with_gps

    response = client.post(reverse("signalements:new"), {
        "categorie": Category.objects.get(code="nid-de-poule").pk, "longitude": GUERANDE[0],
        "latitude": GUERANDE[1], "description": "Trou et voiture garée",
        f"champ_{Category.objects.get(code='nid-de-poule').pk}_taille": "petit",
        "photos": [SimpleUploadedFile("p.jpg", photo_with_gps((80, 60)), "image/jpeg")]})
    report = Report.objects.get(tracking_token=response["Location"].split("/")[-2])
    photo = report.photos.get()
    url = reverse("signalements:photo", args=[photo.token])
    assert client.get(url).status_code == 200
    client.force_login(User.objects.get(username="agent.guerande"))
    act(client, report, action="photo", photo=photo.pk, public="0")
    photo.refresh_from_db()
    assert not photo.public and report.events.filter(kind=EventKind.PHOTO).exists()
    client.logout()
    assert client.get(url).status_code == 404
    assert client.get(url, {"suivi": report.tracking_token}).status_code == 200


def test_dashboard_figures_and_csv_of_own_services_only(client, signalements_demo):
    import csv
    import io

    client.force_login(User.objects.get(username="agent.guerande"))
    page = client.get(reverse("signalements:dashboard"))
    assert page.status_code == 200
    mine = Report.objects.filter(service__code="guerande-st")
    figures = page.context["f"]
    assert figures["total"] == mine.count()
    assert sum(n for _label, n in figures["statuses"]) == mine.count()
    assert figures["acknowledge"][0] is not None  # the demo has acknowledged reports
    assert figures["acknowledge"][0] <= figures["acknowledge"][1]
    export = client.get(reverse("signalements:dashboard"), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content)
                                           .decode("utf-8-sig")), delimiter=";"))
    assert {r["reference"] for r in rows} == {r.reference for r in mine}
    text = str(rows)
    assert "@" not in text  # no reporter's contact in the export
    client.force_login(User.objects.get(username="lecteur"))
    assert client.get(reverse("signalements:dashboard")).status_code == 403
