"""The sync protocol through the HTTP API: pull, push, replay, conflicts, rejections, photos,
validation, audit trail, and the published catalogue layers."""
import uuid

import pytest
from django.db import connection

from fieldsync.models import (
    AuditEntry, Control, ControlStatus, Installation, SyncBatch, SyncChange,
)
from layers.access import AccessPolicy
from layers.models import Permission

from .conftest import GUERANDE, LA_BAULE, Tablet, control_change, sha256, user

pytestmark = pytest.mark.django_db

PHOTO_A = b"\xff\xd8\xff\xe0" + b"photo-fosse-toutes-eaux" * 2000
PHOTO_B = b"\xff\xd8\xff\xe0" + b"photo-regard-de-sortie" * 1500


def assigned(package):
    return {c["id"]: c for c in package["controls"]}


def manager_client():
    from django.test import Client
    client = Client()
    client.force_login(user("responsable.spanc"))
    return client


def decide(control_id, decision, reason=""):
    return manager_client().post(f"/api/sync/controls/{control_id}/decision/",
                                 {"decision": decision, "reason": reason},
                                 content_type="application/json")


def test_package_holds_assignments_vocabularies_and_map_extent(tablet, campaign):
    package = tablet.package()
    assert package["format"] == "capgeo-spanc-sync/1"
    assert len(package["controls"]) == 2
    assert {c["status"] for c in package["controls"]} == {"assigned"}
    assert {i["commune"] for i in package["installations"]} == {GUERANDE, LA_BAULE}
    assert all("owner" in i for i in package["installations"])  # intercommunality inspector
    vocabularies = package["vocabularies"]
    assert {"control_kinds", "checklist", "conclusions", "grid", "works_deadlines"} <= set(vocabularies)
    assert len(vocabularies["grid"]) == 15
    assert package["map"]["bbox_l93"][0] < package["map"]["bbox_l93"][2]
    assert package["zones"] == []
    assert package["cursor"] > 0


def test_offline_edit_push_and_replay_is_a_no_op(tablet, campaign):
    package = tablet.package()
    control = next(iter(assigned(package).values()))
    change = control_change(control, defects={"contact_direct"})
    response, batch_id = tablet.push([change])
    assert response.status_code == 200, response.content
    answer = response.json()
    result = answer["results"][0]
    assert result["status"] == "applied", result
    assert result["record"]["conclusion"] == "danger_sante"
    assert result["record"]["works_required"] is True
    assert result["version"] == control["version"] + 1
    stored = Control.objects.get(uuid=control["id"])
    assert stored.status == ControlStatus.SUBMITTED and stored.findings.count() == 12
    audit_count, change_count = AuditEntry.objects.count(), SyncChange.objects.count()

    replay, _ = tablet.push([change], batch_id=batch_id)
    assert replay.status_code == 200
    assert replay.json() == answer
    assert AuditEntry.objects.count() == audit_count
    assert SyncChange.objects.count() == change_count
    assert Control.objects.get(uuid=control["id"]).version == stored.version

    # The same change inside a new batch (a retry after a lost answer) is a duplicate.
    again, _ = tablet.push([change])
    assert again.json()["results"][0]["status"] == "duplicate"
    assert Control.objects.get(uuid=control["id"]).version == stored.version

    # The same batch id with another content is refused, not silently merged.
    other = control_change(control)
    refused, _ = tablet.push([other], batch_id=batch_id)
    assert refused.status_code == 409
    assert "autre contenu" in refused.json()["detail"]


def test_changes_since_cursor_bring_the_new_server_state(tablet, campaign):
    package = tablet.package()
    cursor = package["cursor"]
    empty = tablet.changes(cursor).json()
    assert empty["controls"] == [] and empty["cursor"] == cursor
    control = next(iter(assigned(package).values()))
    tablet.push([control_change(control, status="in_progress")])
    later = tablet.changes(cursor).json()
    assert [c["id"] for c in later["controls"]] == [control["id"]]
    assert later["controls"][0]["status"] == "in_progress"
    assert later["cursor"] > cursor
    assert tablet.changes(later["cursor"]).json()["controls"] == []
    assert tablet.changes("abc").status_code == 400


def test_two_tablets_editing_the_same_control_make_a_conflict_without_overwrite(campaign):
    first, second = Tablet("controleur.spanc", "Tablette A"), Tablet("controleur.spanc", "B")
    control = next(iter(assigned(first.package()).values()))
    response, _ = first.push([control_change(control, status="in_progress",
                                             comments="Saisie de la tablette A")])
    assert response.json()["results"][0]["status"] == "applied"
    conflict, _ = second.push([control_change(control, status="in_progress",
                                              comments="Saisie de la tablette B")])
    result = conflict.json()["results"][0]
    assert result["status"] == "conflict"
    assert result["server_version"] == control["version"] + 1
    assert result["server_record"]["comments"] == "Saisie de la tablette A"
    assert "Rien n'a été écrasé" in result["reasons"][0]
    assert Control.objects.get(uuid=control["id"]).comments == "Saisie de la tablette A"

    # The manager sees it, and chooses the field version: applied on top of the server's.
    listing = manager_client().get("/api/sync/conflicts/").json()["conflicts"]
    assert [c["change_id"] for c in listing] == [result["change_id"]]
    resolved = manager_client().post(
        f"/api/sync/conflicts/{result['change_id']}/resolution/", {"keep": "client"},
        content_type="application/json")
    assert resolved.status_code == 200, resolved.content
    assert Control.objects.get(uuid=control["id"]).comments == "Saisie de la tablette B"
    assert manager_client().get("/api/sync/conflicts/").json()["conflicts"] == []


def test_inspector_resubmitting_on_the_new_version_settles_the_conflict(campaign):
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    control = next(iter(assigned(first.package()).values()))
    first.push([control_change(control, status="in_progress")])
    conflict, _ = second.push([control_change(control, status="in_progress", comments="B")])
    conflicted = conflict.json()["results"][0]
    server = conflicted["server_record"]
    resend = control_change(server, status="in_progress", comments="B")
    resend["resubmits"] = conflicted["change_id"]
    resubmitted, _ = second.push([resend])
    result = resubmitted.json()["results"][0]
    assert result["status"] == "applied" and result["resubmits"] == conflicted["change_id"]
    assert SyncChange.objects.get(status="conflict").resolution == "resubmitted"


def test_an_unrelated_change_to_the_record_does_not_close_a_conflict(campaign):
    """Device A gets a conflict; device B of the same inspector later pushes another change to
    the record: A's conflict stays open (it was closed without A's edit ever applied)."""
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    control = next(iter(assigned(first.package()).values()))
    applied = second.push([control_change(control, status="in_progress")])[0].json()
    conflict = first.push([control_change(control, status="in_progress", comments="A")])[0]
    conflict_id = conflict.json()["results"][0]["change_id"]
    later = second.push([control_change(applied["results"][0]["record"], status="in_progress",
                                        comments="B, autre chose")])[0].json()["results"][0]
    assert later["status"] == "applied" and "resubmits" not in later
    assert SyncChange.objects.get(pk=conflict_id).resolution == "open"
    listing = manager_client().get("/api/sync/conflicts/").json()["conflicts"]
    assert [c["change_id"] for c in listing] == [conflict_id]
    # Naming a conflict that is not one's own, or of another record, is refused.
    other = next(c for c in assigned(first.package()).values() if c["id"] != control["id"])
    wrong = control_change(other, status="in_progress")
    wrong["resubmits"] = conflict_id
    refused = first.push([wrong])[0].json()["results"][0]
    assert refused["status"] == "rejected" and "resubmits" in refused["reasons"][0]
    assert SyncChange.objects.get(pk=conflict_id).resolution == "open"


def test_one_invalid_change_is_rejected_with_reasons_the_others_apply(tablet, campaign):
    controls = list(assigned(tablet.package()).values())
    good = control_change(controls[0])
    bad_vocabulary = control_change(controls[1], findings=[{"item": "inconnu", "result": "ok"}])
    future = control_change(controls[1], visit_date="2999-01-01")
    unknown_field = control_change(controls[1], couleur="rouge")
    wrong_type = control_change(controls[1], findings="tout va bien")
    response, _ = tablet.push([good, bad_vocabulary, future, unknown_field, wrong_type])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied"] + ["rejected"] * 4
    assert "Point de contrôle inconnu" in results[1]["reasons"][0]
    assert "futur" in results[2]["reasons"][0]
    assert "Champ inconnu" in results[3]["reasons"][0]
    assert results[4]["reasons"][0].startswith("data.findings")
    untouched = Control.objects.get(uuid=controls[1]["id"])
    assert untouched.status == ControlStatus.ASSIGNED and untouched.findings.count() == 0


def test_submitting_an_incomplete_checklist_is_rejected(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    change = control_change(control)
    change["data"]["findings"] = change["data"]["findings"][:3]
    result = tablet.push([change])[0].json()["results"][0]
    assert result["status"] == "rejected"
    assert "sans réponse" in result["reasons"][0]
    assert Control.objects.get(uuid=control["id"]).findings.count() == 0  # nothing half-written


def test_installation_created_offline_with_a_control_in_the_same_batch(tablet, campaign):
    installation_id, control_id = str(uuid.uuid4()), str(uuid.uuid4())
    changes = [
        {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "create",
         "id": installation_id, "data": {
             "geometry": {"type": "Point", "coordinates": [-2.4290, 47.3280]},
             "address": "Lieu-dit Kerbiquet", "owner": {"name": "Famille Guého"},
             "components": [{"type": "fosse_toutes_eaux", "volume_m3": 3},
                            {"type": "microstation"}]}},
        {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "create",
         "id": str(uuid.uuid4()), "data": {
             "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}},
        {"change_id": str(uuid.uuid4()), "entity": "control", "op": "create", "id": control_id,
         "data": {"installation": installation_id, "kind": "bon_fonctionnement",
                  "status": "in_progress"}},
    ]
    results = tablet.push(changes)[0].json()["results"]
    assert results[0]["status"] == "rejected"
    assert "agrément" in results[0]["reasons"][0]
    assert results[1]["status"] == "rejected"
    assert "hors du territoire" in results[1]["reasons"][0]
    assert results[2]["status"] == "rejected"  # its installation was refused: nothing dangling
    assert not Installation.objects.filter(uuid=installation_id).exists()

    changes[0]["change_id"] = str(uuid.uuid4())
    changes[0]["data"]["components"][1]["approval_number"] = "2012-008"
    changes[2]["change_id"] = str(uuid.uuid4())
    results = tablet.push([changes[0], changes[2]])[0].json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    created = Installation.objects.get(uuid=installation_id)
    assert created.commune.insee and created.components.count() == 2
    assert Control.objects.get(uuid=control_id).inspector.username == "controleur.spanc"


def test_submitted_control_is_immutable_and_corrected_by_a_superseding_version(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    submitted = tablet.push([control_change(control)])[0].json()["results"][0]["record"]
    edit = tablet.push([control_change(submitted, comments="oubli")])[0].json()["results"][0]
    assert edit["status"] == "rejected" and "supersede" in edit["reasons"][0]
    correction_id = str(uuid.uuid4())
    correction = {"change_id": str(uuid.uuid4()), "entity": "control", "op": "supersede",
                  "id": correction_id, "base_version": submitted["version"],
                  "data": {"supersedes": submitted["id"], "comments": "Correction : regard fêlé",
                           "status": "submitted"}}
    result = tablet.push([correction])[0].json()["results"][0]
    assert result["status"] == "applied", result
    assert result["record"]["supersedes"] == submitted["id"]
    old = Control.objects.get(uuid=submitted["id"])
    assert old.version == submitted["version"] and old.comments != "Correction : regard fêlé"
    assert old.superseded_by.uuid == uuid.UUID(correction_id)
    assert Control.objects.get(uuid=correction_id).findings.count() == 12  # carried over


def test_photo_upload_cut_in_the_middle_resumes_and_is_deduplicated(tablet, campaign):
    controls = list(assigned(tablet.package()).values())
    result = tablet.push([control_change(controls[0], photos=[PHOTO_A, PHOTO_B])])[0].json()
    assert sorted(result["results"][0]["missing_photos"]) == sorted([sha256(PHOTO_A),
                                                                     sha256(PHOTO_B)])
    # Validation waits for the photos.
    refused = decide(controls[0]["id"], "validate")
    assert refused.status_code == 400 and "photo" in refused.json()["detail"]
    assert len(refused.json()["missing_photos"]) == 2

    half = len(PHOTO_A) // 2
    first = tablet.put_photo(PHOTO_A[:half], 0, half - 1, len(PHOTO_A), sha=sha256(PHOTO_A))
    assert first.status_code == 200 and first.json()["received"] == half
    # The connection dropped: the tablet asks where to resume.
    state = tablet.client.get(f"/api/sync/photos/{sha256(PHOTO_A)}/").json()
    assert state == {"sha256": sha256(PHOTO_A), "size": len(PHOTO_A), "received": half,
                     "content_type": "image/jpeg", "verified": False}
    wrong_offset = tablet.put_photo(PHOTO_A[:10], 0, 9, len(PHOTO_A), sha=sha256(PHOTO_A))
    assert wrong_offset.status_code == 409 and wrong_offset.json()["received"] == half
    rest = tablet.put_photo(PHOTO_A[half:], half, len(PHOTO_A) - 1, len(PHOTO_A),
                            sha=sha256(PHOTO_A))
    assert rest.json()["verified"] is True
    assert tablet.put_photo(PHOTO_B).json()["verified"] is True

    # The same photo on the other control is already there: nothing to upload again.
    other = tablet.push([control_change(controls[1], photos=[PHOTO_A])])[0].json()
    assert other["results"][0]["missing_photos"] == []
    assert tablet.put_photo(PHOTO_A).json()["verified"] is True

    photos = tablet.client.get(f"/api/sync/controls/{controls[0]['id']}/photos/").json()
    assert photos["missing"] == []
    assert decide(controls[0]["id"], "validate").status_code == 200
    download = manager_client().get(f"/api/sync/photos/{sha256(PHOTO_A)}/content/")
    assert b"".join(download.streaming_content) == PHOTO_A


def test_photo_with_a_wrong_checksum_is_refused_and_must_restart(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    tablet.push([control_change(control, photos=[PHOTO_A])])
    corrupted = PHOTO_A[:-1] + b"\x00"
    response = tablet.put_photo(corrupted, sha=sha256(PHOTO_A))
    assert response.status_code == 400
    assert "Empreinte incorrecte" in response.json()["detail"]
    state = tablet.client.get(f"/api/sync/photos/{sha256(PHOTO_A)}/").json()
    assert state["received"] == 0 and state["verified"] is False
    assert tablet.put_photo(PHOTO_A).json()["verified"] is True


def test_audit_trail_records_who_which_device_and_when(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    tablet.push([control_change(control)])
    entry = AuditEntry.objects.filter(action="control.update").get()
    assert entry.user.username == "controleur.spanc"
    assert str(entry.device_id) == tablet.device_id
    assert entry.change is not None and entry.at is not None
    assert AuditEntry.objects.filter(action="control.assign").count() == 2


def test_validated_control_is_published_in_the_catalogue_layers(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    tablet.push([control_change(control, defects={"vecteurs"})])
    assert decide(control["id"], "validate").status_code == 200
    grant = AccessPolicy.for_user(user("responsable.spanc")).grant("spanc_installations",
                                                                   Permission.DOWNLOAD)
    where, params = grant.where("t")
    with connection.cursor() as cursor:
        cursor.execute("SELECT t.conclusion, t.travaux_obligatoires FROM "
                       f"layers_data.spanc_installations t WHERE t.uuid = %s AND {where}",
                       [Control.objects.get(uuid=control["id"]).installation.uuid, *params])
        assert cursor.fetchone() == ("danger_sante", True)
        cursor.execute("SELECT t.statut FROM layers_data.spanc_controles t WHERE t.uuid = %s",
                       [control["id"]])
        assert cursor.fetchone() == ("validated",)


def test_rejected_control_keeps_its_reason_and_stays_immutable(tablet, campaign):
    control = next(iter(assigned(tablet.package()).values()))
    tablet.push([control_change(control)])
    assert decide(control["id"], "reject").status_code == 400  # a reason is required
    rejected = decide(control["id"], "reject", "Photos illisibles")
    assert rejected.json()["status"] == "rejected"
    assert SyncBatch.objects.count() == 1


def test_published_changes_reach_the_catalogue_listeners_and_metadata(tablet, campaign):
    """Field-sync tables are layers like any other: a pushed change tells the tile caches which
    area changed (layer_data_changed, the installation's point), and the batch refreshes the
    catalogue's data date (which makes thumbnails stale)."""
    from layers.events import layer_data_changed
    from layers.models import Layer

    control = next(iter(assigned(tablet.package()).values()))
    location = Control.objects.get(uuid=control["id"]).installation.location
    dated = Layer.objects.get(name="spanc_controles").data_updated_at
    heard = []

    def listener(sender, layer, bbox=None, **kwargs):
        heard.append((layer.name, bbox))

    layer_data_changed.connect(listener)
    try:
        response, _batch = tablet.push([control_change(control)])
        assert response.json()["results"][0]["status"] == "applied"
    finally:
        layer_data_changed.disconnect(listener)
    names = {name for name, _bbox in heard}
    assert names == {"spanc_controles", "spanc_installations"}
    for _name, (minx, miny, maxx, maxy) in heard:
        assert minx <= location.x <= maxx and miny <= location.y <= maxy
    refreshed = Layer.objects.get(name="spanc_controles")
    assert dated is None or refreshed.data_updated_at > dated


@pytest.fixture
def deadlocks(monkeypatch):
    """Makes the next `count` installation locks of a manager action lose a real deadlock
    (PostgreSQL raises SQLSTATE 40P01 in the action's transaction)."""
    from django.db import connection

    from fieldsync.records import installation as installation_type

    left = {"count": 0}
    lock = installation_type.lock_installation

    def losing(pk):
        if left["count"]:
            left["count"] -= 1
            with connection.cursor() as cursor:
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'interblocage simulé' "
                               "USING ERRCODE = 'deadlock_detected'; END $$")
        return lock(pk)

    monkeypatch.setattr(installation_type, "lock_installation", losing)
    return left


def test_a_manager_action_that_loses_a_deadlock_is_run_again(campaign, deadlocks):
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    control = next(iter(assigned(first.package()).values()))
    first.push([control_change(control, status="in_progress", comments="A")])
    conflict = second.push([control_change(control, status="in_progress", comments="B")])[0]
    change_id = conflict.json()["results"][0]["change_id"]
    deadlocks["count"] = 1
    resolved = manager_client().post(f"/api/sync/conflicts/{change_id}/resolution/",
                                     {"keep": "client"}, content_type="application/json")
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["resolution"] == "took_client"
    assert deadlocks["count"] == 0
    assert Control.objects.get(uuid=control["id"]).comments == "B"
    assert AuditEntry.objects.filter(action="control.resolve_take_client").count() == 1


def test_a_manager_action_that_keeps_losing_answers_busy_with_nothing_written(campaign,
                                                                               deadlocks):
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    control = next(iter(assigned(first.package()).values()))
    first.push([control_change(control, status="in_progress", comments="A")])
    conflict = second.push([control_change(control, status="in_progress", comments="B")])[0]
    change_id = conflict.json()["results"][0]["change_id"]
    deadlocks["count"] = 100
    resolved = manager_client().post(f"/api/sync/conflicts/{change_id}/resolution/",
                                     {"keep": "client"}, content_type="application/json")
    assert resolved.status_code == 503, resolved.content
    assert resolved.json()["code"] == "busy" and resolved.json()["reasons"]
    assert resolved["Retry-After"]
    assert Control.objects.get(uuid=control["id"]).comments == "A"
    assert SyncChange.objects.get(id=change_id).resolution == "open"
    # The manager screens say so too, instead of an error page.
    page = manager_client().post(f"/spanc/conflits/{change_id}/", {"keep": "client"})
    assert page.status_code == 200 and "trop sollicité" in page.content.decode()


def test_package_zones_are_the_users_rows_cut_to_the_assignment_area(campaign):
    """The zone layers of the package come through the feature source: the layers (and rows) the
    user may view, each polygon cut to the assignments' area, GeoJSON in WGS84."""
    from layers.models import Audience
    from layers.testing import make_vector_layer

    from fieldsync.models import Installation, ZoneLayer

    location = Installation.objects.get(address="12 route de Saillé").location
    huge = location.buffer(50_000)  # far larger than the area: cut to it
    public = make_vector_layer("zones_captage_test", "POLYGON", [("nom", "text")],
                               [{"nom": "Captage", "geom": huge.wkt}],
                               rules=[{"audience": Audience.PUBLIC,
                                       "permission": Permission.VIEW}])
    hidden = make_vector_layer("zones_reservees_test", "POLYGON", [("nom", "text")],
                               [{"nom": "Réservée", "geom": huge.wkt}],
                               rules=[{"audience": Audience.ADMINS,
                                       "permission": Permission.VIEW}])
    ZoneLayer.objects.create(layer=public, kind="sanitary")
    ZoneLayer.objects.create(layer=hidden, kind="environmental")
    package = Tablet("controleur.spanc").package()
    assert [(z["layer"], z["kind"], z["type"]) for z in package["zones"]] == [
        ("zones_captage_test", "sanitary", "FeatureCollection")]
    (feature,) = package["zones"][0]["features"]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    west, south, east, north = package["map"]["bbox_wgs84"]
    for lon, lat in feature["geometry"]["coordinates"][0]:
        assert west - 1e-6 <= lon <= east + 1e-6 and south - 1e-6 <= lat <= north + 1e-6
