"""Trust in the field sync (issue 11): the inspector's scope on every lookup, bad input answered
per change (never a 500, never a stuck batch), honest duplicates, JSON errors everywhere under
/api/sync/, deactivated devices and cursors ahead of the server."""
import json
import uuid

import pytest
from django.db import transaction
from django.test import Client

from fieldsync import campaigns
from fieldsync.records import installation as installation_type
from fieldsync.history import record
from fieldsync.models import (
    Control, ControlKind, ControlPhoto, Device, Installation, PhotoBlob, SyncBatch, SyncChange,
)

from .conftest import GUERANDE, Tablet, control_change, make_installation, sha256, user

pytestmark = pytest.mark.django_db

SECRET_OWNER, SECRET_PHONE = "Yvonne Kerhervé", "06 12 34 56 78"
UNKNOWN = "Installation inconnue ou hors de vos attributions."
PHOTO = b"\xff\xd8\xff\xe0" + b"regard" * 500


def logged(username):
    client = Client()
    client.force_login(user(username))
    return client


@pytest.fixture
def foreign(campaign, second_inspector):
    """An installation of the territory NOT assigned to controleur.spanc: its control (with a
    verified photo) is assigned to another inspector."""
    installation = make_installation(GUERANDE, "7 impasse des Salines", owner=SECRET_OWNER)
    Installation.objects.filter(pk=installation.pk).update(owner_phone=SECRET_PHONE)
    manager = user("responsable.spanc")
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    control = Control.objects.create(installation=installation, kind=kind)
    campaigns.assign(manager, [control], second_inspector)
    other = Tablet("controleur.deux")
    theirs = next(c for c in other.package()["controls"] if c["id"] == str(control.uuid))
    answer = other.push([control_change(theirs, status="in_progress", photos=[PHOTO])])[0]
    assert answer.json()["results"][0]["status"] == "applied"
    assert other.put_photo(PHOTO).json()["verified"] is True
    installation.refresh_from_db()
    control.refresh_from_db()
    return installation, control


def install_update(installation_id, base_version, **data):
    return {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
            "id": str(installation_id), "base_version": base_version,
            "data": data or {"address": "x"}}


def test_inspector_cannot_reach_an_installation_outside_his_assignments(tablet, foreign):
    """Leak 1: the conflict path gave the owner of any installation of the territory."""
    installation, control = foreign
    unknown = install_update(uuid.uuid4(), 999999)
    conflict_path = install_update(installation.uuid, 999999)
    write = install_update(installation.uuid, installation.version, address="Chez moi",
                           owner={"name": "Intrus"})
    new_control = {"change_id": str(uuid.uuid4()), "entity": "control", "op": "create",
                   "id": str(uuid.uuid4()),
                   "data": {"installation": str(installation.uuid), "kind": "bon_fonctionnement",
                            "status": "in_progress"}}
    response, _ = tablet.push([unknown, conflict_path, write, new_control])
    body = response.content.decode()
    assert SECRET_OWNER not in body and SECRET_PHONE not in body
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 4
    assert [r["reasons"] for r in results] == [[UNKNOWN]] * 4  # exactly like an unknown one
    assert not any("server_record" in r for r in results)
    installation.refresh_from_db()
    assert installation.address == "7 impasse des Salines"
    assert installation.owner_name == SECRET_OWNER
    assert not Control.objects.filter(uuid=new_control["id"]).exists()

    # Photos, the photo list of the control, its report: all like unknown.
    sha = sha256(PHOTO)
    assert tablet.client.get(f"/api/sync/photos/{sha}/").status_code == 404
    assert tablet.client.get(f"/api/sync/photos/{sha}/content/").status_code == 404
    assert tablet.put_photo(PHOTO).status_code == 404
    listing = tablet.client.get(f"/api/sync/controls/{control.uuid}/photos/")
    assert listing.status_code == 404 and listing.json()["reasons"]
    report = tablet.client.get(f"/spanc/controles/{control.uuid}/rapport.pdf")
    assert report.status_code in (403, 404)

    # Pulls: neither the package nor the changes carry it, even once it changed.
    package = tablet.package()
    cursor = package["cursor"]
    assert str(installation.uuid) not in {i["id"] for i in package["installations"]}
    manager = user("responsable.spanc")
    with transaction.atomic():
        installation_type.update(manager, installation.uuid, installation.version,
                                    {"address": "7 bis impasse des Salines"})
        record(manager, "installation.update", "installation", installation.uuid,
               installation.version + 1)
    changes = tablet.changes(cursor).json()
    assert changes["cursor"] > cursor
    assert str(installation.uuid) not in {i["id"] for i in changes["installations"]}
    assert SECRET_OWNER not in json.dumps(changes)


def test_an_installation_created_in_the_field_stays_in_its_creator_scope(tablet, campaign,
                                                                        second_inspector):
    created = str(uuid.uuid4())
    geometry = {"type": "Point", "coordinates": [-2.4290, 47.3280]}
    first = tablet.push([{"change_id": str(uuid.uuid4()), "entity": "installation",
                          "op": "create", "id": created, "data": {"geometry": geometry}}])[0]
    assert first.json()["results"][0]["status"] == "applied"
    assert Installation.objects.get(uuid=created).created_by == tablet.user
    later = tablet.push([install_update(created, 1, address="Lieu-dit Kerbiquet")])[0]
    assert later.json()["results"][0]["status"] == "applied"
    # Another inspector does not reach it.
    other = Tablet("controleur.deux").push([install_update(created, 2, address="?")])[0]
    assert other.json()["results"][0]["reasons"] == [UNKNOWN]


def test_a_duplicated_photo_or_an_out_of_range_integer_rejects_that_change_only(tablet, campaign):
    """Items 2 and 3: these were a 500 on every retry, so every change after them was stuck."""
    controls = tablet.package()["controls"]
    photo = {"sha256": sha256(PHOTO), "size": len(PHOTO), "content_type": "image/jpeg"}
    twice = control_change(controls[0], status="in_progress")
    twice["data"]["photos"] = [photo, dict(photo, caption="encore")]
    huge = control_change(controls[0], status="in_progress")
    huge["base_version"] = 2 ** 31
    negative = control_change(controls[0], status="in_progress")
    negative["base_version"] = -1
    text = control_change(controls[0], status="in_progress")
    text["base_version"] = "3"
    fraction = control_change(controls[0], status="in_progress")
    fraction["base_version"] = 1.5
    far_sale = control_change(controls[0], status="in_progress", sale_date="9999-12-31")
    good = control_change(controls[1], status="in_progress")
    response, _ = tablet.push([twice, huge, negative, text, fraction, far_sale, good])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 6 + ["applied"]
    assert "deux fois" in results[0]["reasons"][0]
    assert all(r["reasons"][0].startswith("base_version") for r in results[1:4])
    assert "plus de 3 ans" in results[5]["reasons"][0]
    assert Control.objects.get(uuid=controls[0]["id"]).version == controls[0]["version"]
    assert ControlPhoto.objects.count() == 0


def test_nul_characters_in_a_push_reject_the_change_never_a_500(tablet, campaign):
    controls = tablet.package()["controls"]
    in_text = control_change(controls[0], status="in_progress", comments="fosse\u0000pleine")
    in_key = control_change(controls[0], status="in_progress")
    in_key["data"]["comm\u0000ents"] = "x"
    in_id = control_change(controls[0], status="in_progress")
    in_id["change_id"] = in_id["change_id"][:-1] + "\u0000"
    in_finding = control_change(controls[0], status="in_progress")
    in_finding["data"]["findings"][0]["comment"] = "\u0000"
    good = control_change(controls[1], status="in_progress", comments="propre")
    response, batch_id = tablet.push([in_text, in_key, in_id, in_finding, good])
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 4 + ["applied"]
    assert results[0]["reasons"] == ["data.comments : le caractère NUL (U+0000) est interdit."]
    assert "NUL" in results[1]["reasons"][0] and "NUL" in results[2]["reasons"][0]
    assert results[3]["reasons"][0].startswith("data.findings.0.comment")
    assert "\u0000" not in json.dumps(SyncBatch.objects.get(pk=batch_id).payload)
    # The same bytes again: the stored answer, not a 409 (the digest is of what was received).
    replay, _ = tablet.push([in_text, in_key, in_id, in_finding, good], batch_id=batch_id)
    assert replay.status_code == 200 and replay.json()["results"] == results
    # NUL in the envelope, NaN, or JSON nested without end: a JSON 400, nothing stored.
    count = SyncBatch.objects.count()
    for body in (json.dumps({"batch_id": "\u0000", "device_id": tablet.device_id,
                             "changes": [good]}),
                 '{"batch_id": "%s", "device_id": "%s", "changes": [{"x": NaN}]}'
                 % (uuid.uuid4(), tablet.device_id),
                 "[" * 100000 + "]" * 100000):
        refused = tablet.client.post("/api/sync/push/", body, content_type="application/json")
        assert refused.status_code == 400, refused.content
        assert refused.json()["reasons"]
    assert SyncBatch.objects.count() == count
    device = tablet.post("/api/sync/devices/", {"id": str(uuid.uuid4()), "name": "a\u0000b"})
    assert device.status_code == 400 and device.json()["reasons"]
    listing = tablet.client.get("/api/sync/installations/?commune=%00")
    assert listing.status_code == 400 and listing.json()["reasons"]


def test_a_change_id_reused_by_another_user_or_with_other_content_is_rejected(tablet, campaign,
                                                                              second_inspector):
    """Item 5: the reuse answered `duplicate` with the first user's record, and the new edit
    was silently dropped."""
    controls = tablet.package()["controls"]
    first = control_change(controls[0], status="in_progress", comments="première")
    assert tablet.push([first])[0].json()["results"][0]["status"] == "applied"
    other_content = dict(first, data=dict(first["data"], comments="autre chose"))
    result = tablet.push([other_content])[0].json()["results"][0]
    assert result["status"] == "rejected" and "change_id" in result["reasons"][0]
    assert "record" not in result
    other_user = Tablet("controleur.deux").push([first])[0].json()["results"][0]
    assert other_user["status"] == "rejected" and "record" not in other_user
    assert Control.objects.get(uuid=controls[0]["id"]).comments == "première"
    same = tablet.push([first])[0].json()["results"][0]
    assert same["status"] == "duplicate" and same["original_status"] == "applied"


def test_a_duplicate_answers_the_current_state(tablet, campaign):
    """Item 6: `duplicate` replayed the first answer verbatim (photos verified since were still
    listed as missing); a conflict or rejection came back as a bare duplicate."""
    controls = tablet.package()["controls"]
    change = control_change(controls[0], status="in_progress", photos=[PHOTO])
    first = tablet.push([change])[0].json()["results"][0]
    assert first["missing_photos"] == [sha256(PHOTO)]
    assert tablet.put_photo(PHOTO).json()["verified"] is True
    again = tablet.push([change])[0].json()["results"][0]
    assert again["status"] == "duplicate" and again["original_status"] == "applied"
    assert again["missing_photos"] == []
    assert again["record"]["photos"][0]["verified"] is True
    assert again["version"] == first["version"]

    stale = control_change(controls[0], status="in_progress", comments="périmée")
    conflict = tablet.push([stale])[0].json()["results"][0]
    assert conflict["status"] == "conflict"
    repeat = tablet.push([stale])[0].json()["results"][0]
    assert repeat["status"] == "duplicate" and repeat["original_status"] == "conflict"
    assert repeat["resolution"] == "open" and repeat["server_version"] == first["version"]
    bad = control_change(controls[1], visit_date="2999-01-01")
    tablet.push([bad])
    rejected = tablet.push([bad])[0].json()["results"][0]
    assert rejected["original_status"] == "rejected" and "futur" in " ".join(rejected["reasons"])


def test_every_error_under_api_sync_is_json_with_reasons(tablet, campaign):
    """Item 7: 404 on a non-UUID path was Django's HTML page; 403/405 had no reasons."""
    client = tablet.client
    for url in ("/api/sync/controls/pas-un-uuid/photos/", "/api/sync/nexiste/pas/",
                "/api/sync/photos/zz/", "/api/sync/push"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json", url
        assert response.json()["reasons"] and response.json()["code"] == "not_found", url
    # A NUL in the path is refused before any view by the platform's input guard, in JSON too.
    for url in ("/api/sync/controls/%00/photos/", "/api/sync/photos/%00/"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response["Content-Type"] == "application/json", url
        assert "U+0000" in response.json()["detail"] and response.json()["reasons"], url
    manager = logged("responsable.spanc")
    for url, method in (("/api/sync/conflicts/pas-un-uuid/resolution/", "post"),
                        (f"/api/sync/conflicts/{uuid.uuid4()}/resolution/", "post"),
                        ("/api/sync/controls/123/decision/", "post")):
        response = getattr(manager, method)(url, {"keep": "server", "decision": "validate"},
                                            content_type="application/json")
        assert response.status_code in (400, 404), (url, response.content)
        assert response.json()["reasons"]
    not_allowed = client.get("/api/sync/push/")
    assert not_allowed.status_code == 405
    assert not_allowed.json()["reasons"] and not_allowed.json()["code"] == "method_not_allowed"
    forbidden = logged("agent.guerande").get("/api/sync/package/")
    assert forbidden.status_code == 403
    assert forbidden.json()["reasons"] == ["Réservé aux agents du SPANC et des services qui traitent les signalements."]
    anonymous = Client().get("/api/sync/package/")
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["code"] == "not_authenticated" and anonymous.json()["reasons"]
    revoked = Client().get("/api/sync/package/", HTTP_AUTHORIZATION="Bearer cg_faux")
    assert revoked.status_code == 401 and revoked.json()["code"] == "authentication_failed"
    assert revoked.json()["reasons"]


def test_a_deactivated_device_is_told_so_and_gets_nothing(tablet, campaign):
    """Item 8: it was told to register again, registering left it inactive (a client loop), and
    it could still pull the package with owners' data."""
    control = tablet.package()["controls"][0]
    Device.objects.filter(pk=tablet.device_id).update(active=False)
    answers = [
        tablet.push([control_change(control, status="in_progress")])[0],
        tablet.post("/api/sync/devices/", {"id": tablet.device_id, "name": "Tablette"}),
        tablet.client.get(f"/api/sync/package/?device={tablet.device_id}"),
        tablet.changes(0),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.content
        assert answer.json()["code"] == "device_deactivated"
        assert "désactivé" in answer.json()["detail"] and "enregistrez-le" not in \
            answer.json()["detail"]
        assert "Jeanne Martin" not in answer.content.decode()
    assert Control.objects.get(uuid=control["id"]).version == control["version"]
    assert not Device.objects.get(pk=tablet.device_id).active
    # A pull that names no device is refused too; an unknown one is told to register.
    assert tablet.client.get("/api/sync/package/").status_code == 400
    unknown = tablet.client.get(f"/api/sync/package/?device={uuid.uuid4()}")
    assert unknown.status_code == 403 and unknown.json()["code"] == "device_unknown"


def test_a_cursor_ahead_of_the_server_is_refused_clearly(tablet, campaign):
    """Item 8: after a restore, a client whose cursor is ahead never got changes again."""
    cursor = tablet.package()["cursor"]
    assert tablet.changes(cursor).status_code == 200
    ahead = tablet.changes(cursor + 1000)
    assert ahead.status_code == 409
    assert ahead.json()["code"] == "cursor_ahead" and ahead.json()["cursor"] == cursor
    assert "paquet complet" in ahead.json()["detail"]
    assert tablet.changes(2 ** 80).status_code == 409
    english = tablet.client.get(f"/api/sync/changes/?since={cursor + 1000}&device="
                                f"{tablet.device_id}", HTTP_ACCEPT_LANGUAGE="en")
    assert "ahead of the server" in english.json()["detail"]


def test_replaying_a_batch_recomputes_missing_photos(tablet, campaign):
    controls = tablet.package()["controls"]
    response, batch_id = tablet.push([control_change(controls[0], status="in_progress",
                                                     photos=[PHOTO])])
    assert response.json()["results"][0]["missing_photos"] == [sha256(PHOTO)]
    tablet.put_photo(PHOTO)
    replay, _ = tablet.push([control_change(controls[0])], batch_id=batch_id)
    assert replay.status_code == 409  # other content under the same batch id
    body = SyncBatch.objects.get(pk=batch_id).payload
    again = tablet.client.post("/api/sync/push/", json.dumps(body), content_type="application/json")
    assert again.json()["results"][0]["missing_photos"] == []
    assert PhotoBlob.objects.get(sha256=sha256(PHOTO)).verified
    assert SyncChange.objects.count() == 1


# --- the same families elsewhere -------------------------------------------------------------
def test_the_manager_sees_the_current_server_version_of_a_conflict(campaign):
    """A stored answer replayed elsewhere: the conflict list and screen showed the server's
    record of when the conflict arose, not the one "keep the server's version" keeps."""
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    control = first.package()["controls"][0]
    applied = first.push([control_change(control, status="in_progress")])[0].json()
    second.push([control_change(control, status="in_progress", comments="B")])
    first.push([control_change(applied["results"][0]["record"], status="in_progress",
                               comments="encore A")])
    manager = logged("responsable.spanc")
    listing = manager.get("/api/sync/conflicts/").json()["conflicts"]
    assert [c["server_version"] for c in listing] == [control["version"] + 2]
    page = manager.get(f"/spanc/conflits/{listing[0]['change_id']}/").content.decode()
    assert "encore A" in page


def test_a_campaign_of_another_commune_is_not_shown(campaign, installations):
    from accounts.models import Role, User
    from territory.models import Commune
    local = User.objects.create_user("responsable.labaule", password="x",
                                     role=Role.SPANC_MANAGER,
                                     commune=Commune.objects.get(insee="44055"))
    client = Client()
    client.force_login(local)
    assert client.get(f"/spanc/campagnes/{campaign.pk}/").status_code == 200  # has La Baule
    only_guerande, _count = campaigns.plan_campaign(
        user("responsable.spanc"), "Secteur Guérande", ControlKind.objects.get(code="vente"),
        [Commune.objects.get(insee=GUERANDE)])
    assert client.get(f"/spanc/campagnes/{only_guerande.pk}/").status_code == 404


def test_a_photo_size_announced_by_someone_else_is_not_disclosed(tablet, foreign):
    control = tablet.package()["controls"][0]
    change = control_change(control, status="in_progress")
    change["data"]["photos"] = [{"sha256": sha256(PHOTO), "size": len(PHOTO) + 1}]
    result = tablet.push([change])[0].json()["results"][0]
    assert result["status"] == "rejected"
    assert str(len(PHOTO)) not in " ".join(result["reasons"])


def test_a_value_the_database_refuses_rejects_that_change_and_the_batch_goes_on(
        tablet, campaign, monkeypatch):
    """The family of items 2 and 3: whatever value slips past the validation and is refused by
    PostgreSQL (here an address longer than its column, injected past the serializer) rejects
    that change with a reason; the batch is answered and the changes after it apply."""
    package = tablet.package()
    installation = package["installations"][0]
    original = installation_type._set_installation_fields

    def too_long(target, data):
        original(target, data)
        target.address = "x" * 400  # the column is varchar(300)

    monkeypatch.setattr(installation_type, "_set_installation_fields", too_long)
    control = next(c for c in package["controls"] if c["installation"] == installation["id"])
    response, _ = tablet.push([install_update(installation["id"], installation["version"]),
                               control_change(control, status="in_progress")])
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert "22001" in results[0]["reasons"][0]
    assert Installation.objects.get(uuid=installation["id"]).version == installation["version"]


def test_knowing_the_sha256_of_a_photo_held_elsewhere_is_not_having_it(tablet, campaign, foreign):
    """Photo possession: the photo is stored once per SHA-256 for the other inspector's control.
    Announced by controleur.spanc on his own control, it is missing for it (as an unknown photo
    would be) and cannot be read until he uploads the same bytes himself."""
    sha = sha256(PHOTO)
    control = tablet.package()["controls"][0]
    result = tablet.push([control_change(control, status="in_progress",
                                         photos=[PHOTO])])[0].json()["results"][0]
    assert result["status"] == "applied"
    assert result["missing_photos"] == [sha]
    assert [p["verified"] for p in result["record"]["photos"]] == [False]
    listing = tablet.client.get(f"/api/sync/controls/{control['id']}/photos/").json()
    assert listing["missing"] == [sha] and listing["photos"][0]["received"] == 0
    state = tablet.client.get(f"/api/sync/photos/{sha}/").json()
    assert state["verified"] is False and state["received"] == 0
    assert tablet.client.get(f"/api/sync/photos/{sha}/content/").status_code == 404

    # Other bytes of the same size do not prove anything (nor does a chunk alone).
    forged = bytes(len(PHOTO))
    first = tablet.put_photo(PHOTO[:100], 0, 99, len(PHOTO), sha=sha)
    assert first.status_code == 200 and first.json() == {
        **first.json(), "received": 100, "verified": False}
    wrong = tablet.put_photo(forged[100:], 100, len(PHOTO) - 1, len(PHOTO), sha=sha)
    assert wrong.status_code == 400 and wrong.json()["code"] == "checksum_mismatch"
    assert tablet.client.get(f"/api/sync/photos/{sha}/content/").status_code == 404
    assert ControlPhoto.objects.get(control__uuid=control["id"]).proven is False

    # The bytes themselves: now it is his.
    upload = tablet.put_photo(PHOTO)
    assert upload.status_code == 200 and upload.json()["verified"] is True
    assert tablet.client.get(f"/api/sync/photos/{sha}/content/").status_code == 200
    assert tablet.client.get(
        f"/api/sync/controls/{control['id']}/photos/").json()["missing"] == []
    # The other inspector's own control was never affected.
    assert ControlPhoto.objects.get(control=foreign[1]).proven is True


def test_a_photo_announced_again_by_its_owner_needs_no_new_upload(tablet, campaign):
    """The same inspector showing his own verified photo on another control: present at once."""
    first, second = tablet.package()["controls"][:2]
    tablet.push([control_change(first, status="in_progress", photos=[PHOTO])])
    assert tablet.put_photo(PHOTO).json()["verified"] is True
    result = tablet.push([control_change(second, status="in_progress",
                                         photos=[PHOTO])])[0].json()["results"][0]
    assert result["missing_photos"] == []
    assert result["record"]["photos"][0]["verified"] is True
