"""« Qui a lu quoi » for the SPANC owners (issue 14): the owners a field package, the changes
since a cursor, the installations list or a visit report show are journaled like any protocol's
reads of personal data (who, when, layer, how many rows, which protocol); a read without owners
(a municipal agent, nothing visible) writes nothing."""
import uuid

import pytest
from django.test import Client

from layers.models import PersonalDataRead

from . import manager_data
from .conftest import GUERANDE, Tablet, make_installation, user
from .test_report import VISIT, report_url

pytestmark = pytest.mark.django_db


def reads_since(start):
    return list(PersonalDataRead.objects.filter(pk__gt=start).order_by("pk"))


def last_read():
    return PersonalDataRead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_the_field_package_and_the_changes_journal_their_owners(tablet, campaign):
    start = last_read()
    package = tablet.package()
    shown = [i for i in package["installations"] if "owner" in i]
    assert shown and len(shown) == len(package["installations"])
    reads = reads_since(start)
    assert [(r.username, r.layer_name, r.protocol, r.rows) for r in reads] == [
        ("controleur.spanc", "spanc_installations", "sync-package", len(shown))]
    assert {"proprietaire", "telephone_proprietaire"} <= set(reads[0].columns)
    assert reads[0].address == "127.0.0.1"

    start = last_read()
    changes = tablet.changes(0).json()
    assert len(reads_since(start)) == 1 and reads_since(start)[0].protocol == "sync-changes"
    assert reads_since(start)[0].rows == sum(1 for i in changes["installations"] if "owner" in i)

    start = last_read()
    listing = tablet.client.get("/api/sync/installations/").json()["installations"]
    assert [(r.protocol, r.rows) for r in reads_since(start)] == [
        ("sync-installations", sum(1 for i in listing if "owner" in i))]


def test_reads_without_owners_write_nothing(campaign):
    start = last_read()
    agent = Client()
    agent.force_login(user("agent.guerande"))
    seen = agent.get("/api/sync/installations/")  # his commune's, never their owners
    assert seen.status_code == 200 and seen.json()["installations"]
    assert not any("owner" in i for i in seen.json()["installations"])
    manager = Tablet("responsable.spanc")
    listing = manager.client.get("/api/sync/installations/?commune=44211")  # none there
    assert listing.status_code == 200 and listing.json()["installations"] == []
    assert reads_since(start) == []


def test_a_visit_report_journals_the_owner_it_prints(db):
    installation = make_installation(GUERANDE, "12 route de Saillé")
    control = manager_data.control(installation, visit_date=VISIT)
    client = Client()
    client.force_login(user("responsable.spanc"))
    start = last_read()
    response = client.get(report_url(control))
    assert response.status_code == 200
    reads = reads_since(start)
    assert [(r.username, r.layer_name, r.protocol, r.rows) for r in reads] == [
        ("responsable.spanc", "spanc_installations", "report-pdf", 1)]
    assert "proprietaire" in reads[0].columns
    refused = Client()
    refused.force_login(user("agent.guerande"))
    start = last_read()
    assert refused.get(report_url(control)).status_code == 404
    assert reads_since(start) == []


def test_push_answers_journal_the_owners_they_show(tablet, campaign):
    """A push answer carries the installation's record (applied) or the server's record (a
    conflict), owner included: read now, journaled under "sync-push" — and when a deferred
    batch's answer is read at its address."""
    from fieldsync import push_queue

    installation = next(i for i in tablet.package()["installations"] if "owner" in i)

    def update(base_version, address):
        return {"change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
                "id": installation["id"], "base_version": base_version,
                "data": {"address": address}}

    start = last_read()
    response, _ = tablet.push([update(installation["version"], "1 rue du Journal"),
                               update(installation["version"], "2 rue du Conflit")])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["applied", "conflict"]
    assert "owner" in results[0]["record"] and "owner" in results[1]["server_record"]
    assert [(r.username, r.protocol, r.rows) for r in reads_since(start)] == [
        ("controleur.spanc", "sync-push", 2)]

    batch_id = str(uuid.uuid4())
    accepted = tablet.client.post(
        "/api/sync/push/", {"batch_id": batch_id, "device_id": tablet.device_id,
                            "changes": [update(1, "3 rue du Différé")]},
        content_type="application/json", HTTP_PREFER="respond-async")
    assert accepted.status_code == 202, accepted.content
    start = last_read()
    assert tablet.client.get(accepted["Location"]).status_code == 202
    assert reads_since(start) == []  # nothing shown yet
    assert push_queue.apply_batch.call(batch_id)["state"] == "done"
    done = tablet.client.get(accepted["Location"])
    assert done.status_code == 200 and done.json()["results"][0]["status"] == "conflict"
    assert [(r.protocol, r.rows) for r in reads_since(start)] == [("sync-push", 1)]
