"""Access (who gets which assignments and owners, anonymous refused) and bad input (clear French
errors, 4xx never 5xx, nothing half-written)."""
import json
import uuid

import pytest
from django.db import connection
from django.test import Client

from fieldsync import campaigns
from fieldsync.models import Control, Installation, SyncBatch, SyncChange
from layers.access import AccessPolicy, LayerNotFound
from layers.models import Permission

from .conftest import GUERANDE, LA_BAULE, Tablet, control_change, user

pytestmark = pytest.mark.django_db


def logged(username):
    client = Client()
    client.force_login(user(username))
    return client


def test_anonymous_gets_nothing(campaign):
    client = Client()
    for url in ("/api/sync/package/", "/api/sync/changes/?since=0", "/api/sync/installations/",
                "/api/sync/conflicts/"):
        assert client.get(url).status_code in (401, 403), url
    response = client.post("/api/sync/push/", "{}", content_type="application/json")
    assert response.status_code in (401, 403)
    assert Client().get("/spanc/").status_code == 302  # to the login page


def test_inspector_gets_only_their_own_assignments(campaign, second_inspector):
    guerande_control = Control.objects.get(campaign=campaign,
                                           installation__commune__insee=GUERANDE)
    manager = user("responsable.spanc")
    # Reassigning is refused once started, allowed while only assigned.
    campaigns.assign(manager, [guerande_control], second_inspector)
    mine = Tablet("controleur.spanc").package()
    theirs = Tablet("controleur.deux").package()
    assert {c["id"] for c in mine["controls"]} == {
        str(c.uuid) for c in Control.objects.filter(campaign=campaign, inspector__username="controleur.spanc")}
    assert [c["id"] for c in theirs["controls"]] == [str(guerande_control.uuid)]
    assert {i["commune"] for i in theirs["installations"]} == {GUERANDE}
    # Nor may one push onto the other's control.
    other = next(c for c in mine["controls"])
    result = Tablet("controleur.deux").push([control_change(other)])[0].json()["results"][0]
    assert result["status"] == "rejected"


def test_municipal_agents_never_get_owners_nor_other_communes(campaign):
    agent = logged("agent.guerande")
    assert agent.get("/api/sync/package/").status_code == 403
    listing = agent.get("/api/sync/installations/").json()["installations"]
    assert [i["commune"] for i in listing] == [GUERANDE]
    assert "owner" not in listing[0]
    body = agent.get("/api/sync/installations/").content.decode()
    assert "Jeanne Martin" not in body and "Pierre Le Floch" not in body
    assert agent.get("/spanc/").status_code == 403
    assert logged("lecteur").get("/api/sync/installations/").json()["installations"] == []


def test_published_layers_restrict_agents_to_their_commune_and_hide_owners_from_them(campaign):
    grant = AccessPolicy.for_user(user("agent.labaule")).grant("spanc_installations",
                                                              Permission.DOWNLOAD)
    where, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.code_insee FROM layers_data.spanc_installations t WHERE {where}",
                       params)
        assert [row[0] for row in cursor.fetchall()] == [LA_BAULE]
    # The owners' columns exist, hidden from municipal agents, shown to the SPANC team.
    assert "proprietaire" not in grant.readable_names()
    assert "telephone_proprietaire" not in grant.readable_names()
    spanc = AccessPolicy.for_user(user("responsable.spanc")).source("spanc_installations",
                                                                    Permission.DOWNLOAD)
    assert {"proprietaire", "telephone_proprietaire"} <= set(spanc.readable_names())
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(user("lecteur")).grant("spanc_installations")
    with pytest.raises(LayerNotFound):
        AccessPolicy.for_user(None).grant("spanc_controles")


def test_malformed_json_is_a_clear_400(tablet):
    response = tablet.client.post("/api/sync/push/", "{pas du json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON invalide")
    assert SyncBatch.objects.count() == 0


def test_bad_envelope_is_refused_and_nothing_stored(tablet):
    for payload in ({"batch_id": "pas-un-uuid", "device_id": tablet.device_id, "changes": [{}]},
                    {"batch_id": str(uuid.uuid4()), "device_id": tablet.device_id, "changes": []},
                    {"batch_id": str(uuid.uuid4()), "device_id": tablet.device_id,
                     "changes": [{}], "extra": 1},
                    ["une", "liste"]):
        response = tablet.post("/api/sync/push/", payload)
        assert response.status_code == 400, payload
        assert response.json()["reasons"], payload
    assert SyncBatch.objects.count() == 0


def test_unknown_device_is_refused(tablet):
    response = tablet.post("/api/sync/push/", {"batch_id": str(uuid.uuid4()),
                                               "device_id": str(uuid.uuid4()), "changes": [{}]})
    assert response.status_code == 403
    assert "Appareil inconnu" in response.json()["detail"]
    # A device registered by another user cannot be borrowed either.
    borrowed = Tablet("responsable.spanc").post("/api/sync/push/", {
        "batch_id": str(uuid.uuid4()), "device_id": tablet.device_id, "changes": [{}]})
    assert borrowed.status_code == 403


def test_batch_over_the_limit_is_refused_whole(tablet, settings):
    settings.FIELDSYNC_MAX_BATCH_CHANGES = 50
    changes = [{"change_id": str(uuid.uuid4())} for _ in range(51)]
    response, _ = tablet.push(changes)
    assert response.status_code == 413
    assert "Lot trop gros" in response.json()["reasons"][0]
    settings.FIELDSYNC_MAX_BATCH_BYTES = 100
    response, _ = tablet.push(changes[:5])
    assert response.status_code == 413 and "trop volumineuse" in response.json()["detail"]
    assert SyncBatch.objects.count() == 0


def test_hundred_thousand_changes_get_a_clear_answer(tablet):
    body = json.dumps({"batch_id": str(uuid.uuid4()), "device_id": tablet.device_id,
                       "changes": [{"change_id": str(uuid.uuid4()), "entity": "control"}
                                   for _ in range(100_000)]})
    response = tablet.client.post("/api/sync/push/", body, content_type="application/json")
    assert response.status_code == 413
    assert SyncBatch.objects.count() == 0


def test_garbage_changes_are_rejected_one_by_one(tablet, campaign):
    control = tablet.package()["controls"][0]
    changes = [
        "pas un objet",
        {"change_id": "xyz"},
        {"change_id": str(uuid.uuid4()), "entity": "parcelle", "op": "create",
         "id": str(uuid.uuid4()), "data": {}},
        {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
         "id": control["id"], "data": {"status": "validated"}},
        {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
         "id": control["id"], "base_version": control["version"],
         "data": {"photos": [{"sha256": "abc", "size": 10}]}},
        {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
         "id": control["id"], "base_version": control["version"],
         "data": {"photos": [{"sha256": "a" * 64, "size": 10 ** 12}]}},
        {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "create",
         "id": str(uuid.uuid4()), "data": {"geometry": {"type": "Point",
                                                        "coordinates": [500, 47]}}},
        {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
         "id": str(uuid.uuid4()), "base_version": 1, "data": {"comments": "?"}},
    ]
    response, _ = tablet.push(changes)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(changes)
    assert all(r["reasons"] for r in results)
    reasons = [" ".join(r["reasons"]) for r in results]
    assert "base_version" in reasons[3] and "validated" in reasons[3]
    assert "SHA-256" in reasons[4]
    assert "trop volumineuse" in reasons[5]
    assert "hors limites" in reasons[6]
    assert "Contrôle inconnu" in reasons[7]
    assert Control.objects.get(uuid=control["id"]).version == control["version"]
    assert Installation.objects.count() == 2
    # Keyed rejections are remembered: resending them answers "duplicate", not a new verdict.
    assert SyncChange.objects.filter(status="rejected").count() == len(changes) - 2


def test_photo_upload_errors(tablet, campaign, settings):
    control = tablet.package()["controls"][0]
    data = b"\xff\xd8" + b"x" * 1000
    tablet.push([control_change(control, photos=[data])])
    sha = __import__("hashlib").sha256(data).hexdigest()
    unknown = tablet.put_photo(b"abc", sha="b" * 64)
    assert unknown.status_code == 404 and "annoncée" in unknown.json()["detail"]
    bad_range = tablet.client.put(f"/api/sync/photos/{sha}/", data[:10],
                                  content_type="application/octet-stream",
                                  HTTP_CONTENT_RANGE="octets 0-9")
    assert bad_range.status_code == 400 and "Content-Range" in bad_range.json()["detail"]
    wrong_total = tablet.put_photo(data[:10], 0, 9, 99, sha=sha)
    assert wrong_total.status_code == 400 and "taille annoncée" in wrong_total.json()["detail"]
    settings.FIELDSYNC_MAX_CHUNK_BYTES = 100
    too_big = tablet.put_photo(data, sha=sha)
    assert too_big.status_code == 413
    # Another user's device cannot even see it.
    agent = logged("agent.labaule")
    assert agent.get(f"/api/sync/photos/{sha}/").status_code == 403


def test_manager_screens_in_french(campaign):
    manager = logged("responsable.spanc")
    page = manager.get("/spanc/")
    assert page.status_code == 200 and "Campagne 2025" in page.content.decode()
    detail = manager.get(f"/spanc/campagnes/{campaign.pk}/")
    assert "Attribuer" in detail.content.decode()
    created = manager.post("/spanc/campagnes/nouvelle/", {
        "name": "Secteur de Saillé", "kind": Control.objects.first().kind_id,
        "area": json.dumps({"type": "Polygon", "coordinates": [[
            [-2.6, 47.2], [-2.2, 47.2], [-2.2, 47.5], [-2.6, 47.5], [-2.6, 47.2]]]})})
    assert created.status_code == 302
    bad = manager.post("/spanc/campagnes/nouvelle/", {"name": "X", "kind": 1,
                                                     "area": "{pas un polygone"})
    assert bad.status_code == 200 and "polygone GeoJSON" in bad.content.decode()
    assert manager.get("/spanc/conflits/").status_code == 200


def test_campaign_api_by_drawn_area_and_assignment(installations):
    manager = logged("responsable.spanc")
    point = installations[GUERANDE].location.transform(4326, clone=True)
    square = [[point.x - 0.01, point.y - 0.01], [point.x + 0.01, point.y - 0.01],
              [point.x + 0.01, point.y + 0.01], [point.x - 0.01, point.y + 0.01],
              [point.x - 0.01, point.y - 0.01]]
    response = manager.post("/api/sync/campaigns/", {
        "name": "Autour du bourg", "kind": "bon_fonctionnement",
        "area": {"type": "Polygon", "coordinates": [square]}}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["planned"] == 1
    assigned = manager.post("/api/sync/assignments/", {
        "controls": response.json()["controls"], "inspector": "controleur.spanc"},
        content_type="application/json")
    assert assigned.json() == {"assigned": 1}
    refused = logged("controleur.spanc").post("/api/sync/campaigns/", {
        "name": "X", "kind": "vente", "communes": [GUERANDE]}, content_type="application/json")
    assert refused.status_code == 403


def test_batch_state_is_for_its_sender_only(campaign, second_inspector):
    """GET /api/sync/push/<batch_id>/ (asynchronous pushes): anonymous 401/403, users who may not
    sync 403, another inspector or a manager 404 like an unknown batch, its sender 200."""
    tablet = Tablet("controleur.spanc")
    control = tablet.package()["controls"][0]
    response, batch_id = tablet.push([control_change(control)])
    assert response.status_code == 200
    path = f"/api/sync/push/{batch_id}/"
    assert Client().get(path).status_code in (401, 403)
    for username in ("agent.guerande", "lecteur"):
        refused = logged(username).get(path)
        assert refused.status_code == 403 and refused.json()["reasons"], username
    for username in ("controleur.deux", "responsable.spanc"):
        unknown = logged(username).get(path)
        assert unknown.status_code == 404 and unknown.json()["reasons"], username
        assert str(control["id"]) not in unknown.content.decode()
    mine = tablet.client.get(path)
    assert mine.status_code == 200 and mine.json() == response.json()
