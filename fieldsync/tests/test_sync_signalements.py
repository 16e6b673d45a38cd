"""Reports (signalements) as a field record type: an agent of a service creates and updates
reports offline and syncs them; each reaches the service the web form would route it to, exactly
once, with its photos re-encoded without metadata; validation, scope and duplicates as for the
other record types (docs/sync-protocol.md)."""
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from fieldsync.models import RecordPhoto, SyncChange
from signalements.models import Category, EventKind, Report, ReportPhoto, Source, Status
from signalements.processing import set_status
from signalements.routing import commune_at, route
from signalements.tests.conftest import mailbox, signalements_demo, smtp_server  # noqa: F401
from signalements.tests.support import GUERANDE, LA_BAULE, OFFSHORE, metadata_of, photo_with_gps

from .conftest import Tablet, sha256, user

pytestmark = pytest.mark.usefixtures("signalements_demo")


def report_change(point=GUERANDE, category="nid-de-poule", photos=(), op="create", id=None,
                  base_version=None, **data):
    payload = {"geometry": {"type": "Point", "coordinates": list(point)},
               "category": category, "description": "Trou profond devant la boulangerie.",
               "attributes": {"taille": "grand", "dangereux": "oui"},
               "photos": [{"sha256": sha256(p), "size": len(p), "content_type": "image/jpeg"}
                          for p in photos]}
    if "photo_refs" in data:
        payload["photos"] = data.pop("photo_refs")
    payload.update(data)
    payload = {k: v for k, v in payload.items() if v is not None}
    change = {"change_id": str(uuid.uuid4()), "entity": "signalement", "op": op,
              "id": id or str(uuid.uuid4()), "data": payload}
    if base_version is not None:
        change["base_version"] = base_version
    return change


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_an_agent_gets_his_territorys_report_types_and_no_spanc_record(installations):
    package = Tablet("agent.guerande").package()
    codes = {c["code"] for c in package["signalement_categories"]}
    assert {"nid-de-poule", "depot-sauvage", "eclairage", "zone-activite"} <= codes
    assert "voirie" not in codes  # a category with sub-categories is not reported as such
    pothole = next(c for c in package["signalement_categories"] if c["code"] == "nid-de-poule")
    assert pothole["label"] == "Voirie › Nid-de-poule"
    assert [f["code"] for f in pothole["fields"]] == ["taille", "dangereux"]
    assert pothole["fields"][0]["required"] and pothole["fields"][0]["choices"][0][0] == "petit"
    # Guérande's installations exist, but the SPANC types do not admit a reports agent.
    assert package["installations"] == [] and package["controls"] == []
    assert package["signalements"] == []


def test_a_report_made_offline_reaches_the_routed_service_exactly_once(
        mailbox, django_capture_on_commit_callbacks):
    tablet = Tablet("agent.guerande")
    change = report_change()
    with django_capture_on_commit_callbacks(execute=True):
        response, batch_id = tablet.push([change])
    [result] = results(response)
    assert result["status"] == "applied", result
    report = Report.objects.get(uuid=change["id"])
    point = Point(*GUERANDE, srid=4326).transform(2154, clone=True)
    assert report.service == route(report.category, point, commune_at(point))
    assert report.service.code == "guerande-st" and report.commune.insee == "44069"
    assert report.source == Source.FIELD and report.reporter == user("agent.guerande")
    assert report.attributes == {"taille": "grand", "dangereux": "oui"}
    assert result["record"]["reference"] == report.reference
    assert result["record"]["service"] == report.service.name
    assert "contact_email" not in result["record"]
    assert report.events.filter(kind=EventKind.CREATED).count() == 1
    # The service's queue has it, the published layers too, the service got one e-mail.
    guerande = Tablet("agent.guerande").client
    assert report.reference in guerande.get("/signalements/traitement/").content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM layers_data.signalements WHERE reference = %s",
                       [report.reference])
        assert cursor.fetchone()[0] == 1
    assert len(mailbox.to("services-techniques@guerande.demo")) == 1

    with django_capture_on_commit_callbacks(execute=True):
        # The same batch again (its answer was lost): the stored answer, nothing applied again.
        replay, _ = tablet.push([change], batch_id=batch_id)
        assert replay.json() == response.json()
        # The same change in a new batch: a duplicate, with the record as it is now.
        [again] = results(tablet.push([change])[0])
        assert again["status"] == "duplicate" and again["original_status"] == "applied"
        assert again["record"]["id"] == change["id"]
        # The same report id under another change id: refused, never a second report.
        [other] = results(tablet.push([{**change, "change_id": str(uuid.uuid4())}])[0])
    assert other["status"] == "rejected"
    assert Report.objects.filter(uuid=change["id"]).count() == 1
    assert Report.objects.filter(description=change["data"]["description"]).count() == 1
    assert len(mailbox.to("services-techniques@guerande.demo")) == 1


def test_routing_is_the_web_forms(mailbox, django_capture_on_commit_callbacks):
    tablet = Tablet("agent.guerande")
    dump = report_change(category="depot-sauvage", attributes={"volume": "coffre"})
    elsewhere = report_change(point=LA_BAULE)
    with django_capture_on_commit_callbacks(execute=True):
        answers = results(tablet.push([dump, elsewhere])[0])
    assert [a["status"] for a in answers] == ["applied", "applied"]
    assert Report.objects.get(uuid=dump["id"]).service.code == "cap-dechets"
    # Made by a Guérande agent in La Baule: La Baule's service receives it; he still sees his own.
    far = Report.objects.get(uuid=elsewhere["id"])
    assert far.service.code == "labaule-st"
    assert len(mailbox.to("services-techniques@labaule.demo")) == 1
    mine = Tablet("agent.guerande").package()["signalements"]
    assert {r["id"] for r in mine} == {dump["id"], elsewhere["id"]}


@pytest.mark.parametrize("data, reason", [
    ({"category": None}, "data.category : Ce champ est obligatoire pour une création."),
    ({"geometry": None}, "data.geometry : Ce champ est obligatoire pour une création."),
    ({"category": "inconnue"}, "data.category : Type de signalement inconnu"),
    ({"category": "voirie"}, "data.category : Type de signalement inconnu"),
    ({"point": OFFSHORE}, "data.geometry : Ce point est en dehors du territoire"),
    ({"attributes": {"dangereux": "oui"}}, "data.attributes.taille : « Taille du trou » est "
                                           "obligatoire."),
    ({"attributes": {"taille": "énorme"}}, "data.attributes.taille : « Taille du trou » : choix "
                                           "inconnu."),
    ({"description": "x" * 4001}, "data.description : "),
    ({"description": "   "}, "data.description : "),
    ({"photo_refs": [{"sha256": "xyz", "size": 10}]}, "data.photos.sha256 : Empreinte SHA-256 "
                                                  "invalide"),
    ({"photo_refs": [{"sha256": "ab" * 32, "size": 11 * 1024 * 1024}]},
     "data.photos.size : Photo trop volumineuse"),
    ({"photo_refs": [{"sha256": f"{i:02x}" * 32, "size": 10} for i in range(6)]}, "data.photos : "),
    ({"owner": "x"}, "data.owner : "),
    ({"geometry": {"type": "Point", "coordinates": [200, 47]}}, "data.geometry.coordinates : "),
])
def test_invalid_reports_are_rejected_with_reasons_and_nothing_written(data, reason):
    point = data.pop("point", GUERANDE)
    change = report_change(point=point, **data)
    for key, value in list(data.items()):
        if value is None:
            change["data"].pop(key, None)
    before = Report.objects.count()
    [result] = results(Tablet("agent.guerande").push([change])[0])
    assert result["status"] == "rejected", result
    assert any(r.startswith(reason) for r in result["reasons"]), result["reasons"]
    assert Report.objects.count() == before
    assert not RecordPhoto.objects.filter(record_uuid=change["id"]).exists()


def test_only_a_services_agents_may_sync_reports():
    change = report_change()
    # A SPANC inspector is not a reports service's agent: his tablet's report is refused.
    [result] = results(Tablet("controleur.spanc").push([change])[0])
    assert result["status"] == "rejected"
    assert "signalement" in result["reasons"][0]
    # A viewer, or an agent of no service, may not use the sync API at all.
    viewer = Tablet.__new__(Tablet)
    from django.test import Client

    client = Client()
    client.force_login(user("lecteur"))
    refused = client.post("/api/sync/devices/", {"id": str(uuid.uuid4()), "name": "x"},
                          content_type="application/json")
    assert refused.status_code == 403 and refused.json()["reasons"]
    assert client.get("/terrain/").status_code == 403
    assert Tablet("agent.guerande").client.get("/terrain/").status_code == 200
    assert not Report.objects.filter(uuid=change["id"]).exists()
    del viewer


def test_update_on_its_version_by_its_author_or_service_only(mailbox):
    guerande = Tablet("agent.guerande")
    change = report_change()
    [created] = results(guerande.push([change])[0])
    update = report_change(op="update", id=change["id"], base_version=1, category=None,
                           geometry=None, attributes={"taille": "moyen"},
                           description="Trou moyen, rebouché provisoirement.")
    [applied] = results(guerande.push([update])[0])
    assert applied["status"] == "applied" and applied["version"] == 2
    report = Report.objects.get(uuid=change["id"])
    assert report.description == "Trou moyen, rebouché provisoirement."
    assert report.attributes == {"taille": "moyen"}
    assert report.events.filter(kind=EventKind.UPDATED).count() == 1
    # Made on version 1 again: a conflict with the server's record, nothing overwritten.
    stale = report_change(op="update", id=change["id"], base_version=1, category=None,
                          geometry=None, description="Autre texte")
    [conflict] = results(guerande.push([stale])[0])
    assert conflict["status"] == "conflict" and conflict["server_version"] == 2
    assert conflict["server_record"]["description"] == "Trou moyen, rebouché provisoirement."
    # Its type and place are fixed.
    moved = report_change(op="update", id=change["id"], base_version=2, category=None,
                          description=None, attributes=None, point=LA_BAULE)
    [refused] = results(guerande.push([moved])[0])
    assert refused["status"] == "rejected" and refused["reasons"][0].startswith("data.geometry")
    # Another commune's agent: like an unknown report.
    other = report_change(op="update", id=change["id"], base_version=2, category=None,
                          geometry=None, description="Vu aussi")
    [unknown] = results(Tablet("agent.labaule").push([other])[0])
    assert unknown["status"] == "rejected"
    assert unknown["reasons"] == ["Signalement inconnu ou hors de vos attributions."]
    assert "boulangerie" not in str(unknown)
    # Closed by the service: no more field edits.
    set_status(report, Status.RESOLVED, user("agent.guerande"))
    closed = report_change(op="update", id=change["id"], base_version=2, category=None,
                           geometry=None, description="Encore")
    [late] = results(guerande.push([closed])[0])
    assert late["status"] == "rejected" and "clos" in late["reasons"][0]
    assert Report.objects.get(uuid=change["id"]).version == 2


def test_photos_come_by_the_resumable_upload_without_metadata():
    tablet = Tablet("agent.guerande")
    photo = photo_with_gps()
    change = report_change(photos=[photo])
    [result] = results(tablet.push([change])[0])
    assert result["status"] == "applied"
    assert result["missing_photos"] == [sha256(photo)]
    report = Report.objects.get(uuid=change["id"])
    assert not report.photos.exists()
    # Another service's agent may not upload it (he cannot read the report).
    assert Tablet("agent.labaule").put_photo(photo).status_code in (403, 404)
    half = len(photo) // 2
    first = tablet.put_photo(photo[:half], 0, half - 1, len(photo), sha=sha256(photo))
    assert first.status_code == 200 and first.json()["received"] == half
    done = tablet.put_photo(photo[half:], half, len(photo) - 1, len(photo), sha=sha256(photo))
    assert done.status_code == 200 and done.json()["verified"] is True, done.content
    stored = ReportPhoto.objects.get(report=report)
    metadata = metadata_of(bytes(stored.data))
    assert metadata["exif"] == {} and metadata["gps"] == {} and metadata["info"] == {}
    assert max(metadata["size"]) == 1600
    assert report.events.filter(kind=EventKind.PHOTO).count() == 1
    # Nothing is missing any more, also in the stored answer replayed.
    [duplicate] = results(tablet.push([change])[0])
    assert duplicate["missing_photos"] == []
    assert RecordPhoto.objects.get(record_uuid=change["id"]).proven
    # The photo shows on the services' page of the report.
    page = tablet.client.get(f"/signalements/traitement/{report.pk}/").content.decode()
    assert stored.token in page


def test_changes_bring_the_agents_reports_to_his_other_tablet():
    first = Tablet("agent.guerande")
    cursor = first.package()["cursor"]
    change = report_change()
    assert results(first.push([change])[0])[0]["status"] == "applied"
    page = Tablet("agent.guerande", name="Téléphone").changes(cursor).json()
    assert [r["id"] for r in page["signalements"]] == [change["id"]]
    assert page["installations"] == [] and page["controls"] == []
    # Not to another commune's agent.
    assert Tablet("agent.labaule").changes(cursor).json()["signalements"] == []
    assert SyncChange.objects.filter(entity="signalement").count() == 1
