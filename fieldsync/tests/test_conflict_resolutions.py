"""The manager's arbitration of a conflict, through the HTTP API, for every resolution value ×
record kind × original control, correction and correction of a correction, and every manager
action on a record whose state moved meanwhile (issue 11): settled as docs/sync-protocol.md
§ 6.4/§ 6.6 say, or refused with a reason (400) and nothing written — never a 500, never a
conflict no manager can see."""
import uuid

import pytest
from django.test import Client

from fieldsync.models import AuditEntry, Control, Installation, SyncChange

from .conftest import Tablet, control_change, user

pytestmark = pytest.mark.django_db

DEPTHS = {"original": 0, "correction": 1, "correction_of_correction": 2}


def manager():
    client = Client()
    client.force_login(user("responsable.spanc"))
    return client


def supersede(old, **data):
    return {"change_id": str(uuid.uuid4()), "entity": "control", "op": "supersede",
            "id": str(uuid.uuid4()), "base_version": old["version"],
            "data": {"supersedes": old["id"], **data}}


def result(tablet, changes):
    response = tablet.push(changes)[0]
    assert response.status_code == 200, response.content
    return response.json()["results"][0]


def chain(tablet, depth):
    """The assigned control, corrected `depth` times: the last one, in progress."""
    current = tablet.package()["controls"][0]
    for step in range(depth):
        submitted = result(tablet, [control_change(current)])["record"]
        applied = result(tablet, [supersede(submitted, comments=f"correction {step}")])
        assert applied["status"] == "applied", applied
        current = applied["record"]
    return current


def resolve(client, change_id, keep):
    return client.post(f"/api/sync/conflicts/{change_id}/resolution/", {"keep": keep},
                       content_type="application/json")


def listed(client):
    return {c["change_id"]: c for c in client.get("/api/sync/conflicts/").json()["conflicts"]}


@pytest.mark.parametrize("keep", ["server", "client"])
@pytest.mark.parametrize("why", ["corrected_meanwhile", "decided_meanwhile"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_a_conflict_about_a_correction_is_listed_and_settled(campaign, depth, why, keep):
    """The regression: a correction (op supersede) that conflicts named a control the server
    never created; no manager saw it, and keeping the field version failed. It is listed with
    the control it corrects, and keeping the field version applies it on the chain's last
    control."""
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    submitted = result(first, [control_change(chain(first, DEPTHS[depth]))])["record"]
    client = manager()
    if why == "corrected_meanwhile":
        server = result(first, [supersede(submitted, comments="correction de A")])["record"]
    else:
        decided = client.post(f"/api/sync/controls/{submitted['id']}/decision/",
                              {"decision": "reject", "reason": "photos floues"},
                              content_type="application/json")
        assert decided.status_code == 200, decided.content
        server = decided.json()
    mine = supersede(submitted, comments="correction de B")
    conflict = result(second, [mine])
    assert conflict["status"] == "conflict", conflict
    entry = listed(client)[conflict["change_id"]]
    assert entry["server_version"] == server["version"]
    page = client.get(f"/spanc/conflits/{conflict['change_id']}/")
    assert page.status_code == 200 and "correction de B" in page.content.decode()

    answer = resolve(client, conflict["change_id"], keep)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    stored = SyncChange.objects.get(pk=conflict["change_id"])
    assert stored.resolution == ("took_client" if keep == "client" else "kept_server")
    assert conflict["change_id"] not in listed(client)
    outcome = {c["change_id"]: c for c in second.changes(0).json()["conflicts"]}
    assert outcome[conflict["change_id"]]["resolution"] == stored.resolution
    if keep == "server":
        assert "applied_to" not in body
        assert not Control.objects.filter(comments="correction de B").exists()
        return
    applied = Control.objects.get(uuid=body["applied_to"])
    assert applied.comments == "correction de B"
    assert applied.inspector.username == "controleur.spanc"
    if why == "corrected_meanwhile":  # A's correction is still open: B's version goes to it
        assert str(applied.uuid) == server["id"] and applied.version == server["version"] + 1
    else:  # nobody corrected it: B's correction, with B's id, corrects the rejected control
        assert str(applied.uuid) == mine["id"] and applied.supersedes.uuid == uuid.UUID(
            submitted["id"])
        assert applied.status == "in_progress"
    assert AuditEntry.objects.filter(action="control.resolve_take_client",
                                     entity_uuid=applied.uuid).exists()
    assert resolve(client, conflict["change_id"], keep).status_code == 400  # already settled


def test_keeping_the_field_correction_when_the_last_correction_is_transmitted(campaign):
    """The chain's last correction was transmitted meanwhile: the field version becomes a
    correction of it (the tablet's id), not an edit of a transmitted control."""
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    submitted = result(first, [control_change(chain(first, 0))])["record"]
    server = result(first, [supersede(submitted, comments="correction de A")])["record"]
    server = result(first, [control_change(server)])["record"]  # transmitted
    mine = supersede(submitted, comments="correction de B")
    conflict = result(second, [mine])
    answer = resolve(manager(), conflict["change_id"], "client")
    assert answer.status_code == 200, answer.content
    applied = Control.objects.get(uuid=answer.json()["applied_to"])
    assert str(applied.uuid) == mine["id"] and str(applied.supersedes.uuid) == server["id"]
    assert applied.comments == "correction de B"


@pytest.mark.parametrize("keep", ["server", "client"])
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("moved", ["nothing", "submitted", "validated", "rejected",
                                   "superseded"])
def test_an_update_conflict_whose_control_moved_meanwhile(campaign, depth, moved, keep):
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    base = chain(first, DEPTHS[depth])
    current = result(first, [control_change(base, status="in_progress", comments="A")])["record"]
    conflict = result(second, [control_change(base, status="in_progress", comments="B")])
    assert conflict["status"] == "conflict"
    client = manager()
    if moved != "nothing":
        current = result(first, [control_change(current)])["record"]
        if moved in ("validated", "rejected"):
            decided = client.post(f"/api/sync/controls/{current['id']}/decision/",
                                  {"decision": "validate" if moved == "validated" else "reject",
                                   "reason": "non"}, content_type="application/json")
            assert decided.status_code == 200, decided.content
            current = decided.json()
        if moved == "superseded":
            assert result(first, [supersede(current)])["status"] == "applied"
    before = Control.objects.get(uuid=current["id"])
    answer = resolve(client, conflict["change_id"], keep)
    stored = SyncChange.objects.get(pk=conflict["change_id"])
    after = Control.objects.get(uuid=current["id"])
    if keep == "client" and moved != "nothing":
        assert answer.status_code == 400, answer.content
        assert answer.json()["reasons"][0].startswith(
            "La version du terrain ne peut pas être appliquée")
        assert stored.resolution == "open"
        assert (after.version, after.comments, after.status) == \
            (before.version, before.comments, before.status)
        return
    assert answer.status_code == 200, answer.content
    assert stored.resolution == ("took_client" if keep == "client" else "kept_server")
    assert after.comments == ("B" if keep == "client" else before.comments)


@pytest.mark.parametrize("keep", ["server", "client"])
def test_an_installation_conflict(campaign, keep):
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    installation = first.package()["installations"][0]

    def change(address):
        return {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
                "id": installation["id"], "base_version": installation["version"],
                "data": {"address": address}}

    assert result(first, [change("1 rue A")])["status"] == "applied"
    conflict = result(second, [change("2 rue B")])
    answer = resolve(manager(), conflict["change_id"], keep)
    assert answer.status_code == 200, answer.content
    address = Installation.objects.get(uuid=installation["id"]).address
    assert address == ("2 rue B" if keep == "client" else "1 rue A")


def test_a_corrected_control_is_no_longer_validated_or_rejected(campaign):
    """A manager deciding on a control from a stale screen: it was corrected meanwhile."""
    tablet = Tablet("controleur.spanc")
    submitted = result(tablet, [control_change(chain(tablet, 0))])["record"]
    assert result(tablet, [supersede(submitted)])["status"] == "applied"
    for decision in ("validate", "reject"):
        answer = manager().post(f"/api/sync/controls/{submitted['id']}/decision/",
                                {"decision": decision, "reason": "x"},
                                content_type="application/json")
        assert answer.status_code == 400, answer.content
        assert "remplacé par une correction" in answer.json()["detail"]
    assert Control.objects.get(uuid=submitted["id"]).status == "submitted"


def test_a_correction_in_conflict_is_resent_on_the_chains_last_control(campaign):
    """§ 6.6: the tablet whose correction conflicts completes (or corrects) the chain's last
    control and names the conflict in `resubmits`: that closes it, as for any record."""
    first, second = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    submitted = result(first, [control_change(chain(first, 0))])["record"]
    server = result(first, [supersede(submitted, comments="correction de A")])["record"]
    conflict = result(second, [supersede(submitted, comments="correction de B")])
    assert conflict["status"] == "conflict"
    other = result(second, [dict(control_change(server, status="in_progress", comments="x"),
                                 resubmits=str(uuid.uuid4()))])
    assert other["status"] == "rejected"  # not one of his conflicts
    resent = result(second, [dict(control_change(server, status="in_progress",
                                                 comments="correction de B"),
                                  resubmits=conflict["change_id"])])
    assert resent["status"] == "applied" and resent["resubmits"] == conflict["change_id"]
    assert SyncChange.objects.get(pk=conflict["change_id"]).resolution == "resubmitted"
    assert conflict["change_id"] not in listed(manager())
