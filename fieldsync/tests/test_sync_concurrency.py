"""Two tablets pushing at the same time, on real concurrent transactions: nothing is lost, no
change is applied twice, and the change log commits in cursor order.

Runs on committed data (transactional test); the database is restored afterwards for the tests
that follow (the snapshot restore, conftest.py).
"""
import threading
import time
import uuid

import pytest
from django.db import connection, connections, transaction

from fieldsync import batching, campaigns, push
from fieldsync.models import (
    AuditEntry, ChangeLog, Control, ControlPhoto, Installation, SyncChange,
)

from .conftest import Tablet, control_change


@pytest.mark.django_db(transaction=True)
def test_two_tablets_pushing_at_once_lose_nothing(campaign):
    tablets = [Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")]
    controls = tablets[0].package()["controls"]
    assert len(controls) == 2
    # A edits control 1, B edits control 2, and both send the same edit of control 1's comments
    # under one shared change id (a change copied between devices): applied exactly once.
    shared = control_change(controls[0], status="in_progress")
    batches = [
        [shared],
        [control_change(controls[1], status="in_progress"), dict(shared)],
    ]
    answers, errors = [None, None], []
    barrier = threading.Barrier(2)

    def push(index):
        try:
            barrier.wait()
            answers[index] = tablets[index].push(batches[index])[0]
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=push, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert all(answer.status_code == 200 for answer in answers)
    statuses = sorted(r["status"] for a in answers for r in a.json()["results"])
    assert statuses == ["applied", "applied", "duplicate"]
    assert SyncChange.objects.filter(status="applied").count() == 2
    for control in controls:
        assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1
    assert AuditEntry.objects.filter(action="control.update").count() == 2
    # Every accepted change is in the log, after the cursor the package gave.
    logged = set(ChangeLog.objects.values_list("entity_uuid", flat=True))
    assert {uuid.UUID(c["id"]) for c in controls} <= logged


# --- deadlocks: one lock order, and a retry when PostgreSQL picks a change as the victim ------
def _waiting_on_locks():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def _wait_until_waiting(count):
    """Until `count` backends wait on a row lock (a bounded poll, not a timing assertion)."""
    for _attempt in range(3000):
        if _waiting_on_locks() >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} transactions never waited on a lock")


def _wait_until_row_locked(table):
    """Until a blocker's SELECT … FOR UPDATE on that published table has run."""
    for _attempt in range(3000):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                           "WHERE c.relname = %s AND l.granted AND l.mode = 'RowShareLock'",
                           [table])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError(f"{table} was never locked")


def _in_thread(target, *args):
    errors = []

    def run():
        try:
            target(*args)
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _hold_row(table, fid, release, then=None):
    """A blocker: lock one row of a table, optionally ask for another lock, then roll back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE fid = %s FOR UPDATE", [fid])
            if then:
                cursor.execute(*then)
            else:
                release.wait(120)
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_control_update_and_its_installation_update_at_once_do_not_deadlock(
        campaign, caplog):
    """Item 1: update_control rewrote the published installation row and then needed the
    installation's lock at COMMIT (deferred FK), update_installation took them in the opposite
    order: a deadlock, answered by an HTML 500. The interleaving is forced: a third transaction
    holds the control's published row, so the control's writer stops right after rewriting the
    installation's published row, and the installation's writer starts then."""
    inspector_a, inspector_b = Tablet("controleur.spanc", "A"), Tablet("controleur.spanc", "B")
    package = inspector_a.package()
    control = package["controls"][0]
    installation = next(i for i in package["installations"] if i["id"] == control["installation"])
    control_pk = Control.objects.get(uuid=control["id"]).pk
    release = threading.Event()
    blocker, blocker_errors = _in_thread(_hold_row, "layers_data.spanc_controles", control_pk,
                                         release)
    answers = {}
    _wait_until_row_locked("spanc_controles")
    control_push, control_errors = _in_thread(
        lambda: answers.__setitem__("control", inspector_a.push(
            [control_change(control, status="in_progress", comments="A")])[0]))
    _wait_until_waiting(1)
    installation_push, installation_errors = _in_thread(
        lambda: answers.__setitem__("installation", inspector_b.push([{
            "change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
            "id": installation["id"], "base_version": installation["version"],
            "data": {"address": "12 route de Saillé (bis)"}}])[0]))
    _wait_until_waiting(2)
    release.set()
    for thread in (blocker, control_push, installation_push):
        thread.join(120)
    assert not (blocker_errors or control_errors or installation_errors)
    for name in ("control", "installation"):
        assert answers[name].status_code == 200, answers[name].content
        assert answers[name].json()["results"][0]["status"] == "applied"
    assert Control.objects.get(uuid=control["id"]).comments == "A"
    assert Installation.objects.get(uuid=installation["id"]).address == "12 route de Saillé (bis)"
    assert "40P01" not in caplog.text  # no retry needed: the lock order prevents the cycle


def _push_into_a_deadlock(tablet, control, batch_id):
    """Push one change into a real deadlock where PostgreSQL aborts the push's transaction,
    built with two blocking transactions around it; returns the HTTP response."""
    stored = Control.objects.get(uuid=control["id"])
    with connection.cursor() as cursor:
        cursor.execute("SHOW deadlock_timeout")
        deadlock_timeout = cursor.fetchone()[0]
    timeout_s = float(deadlock_timeout[:-2]) / 1000 if deadlock_timeout.endswith("ms") else \
        float(deadlock_timeout.rstrip("s"))
    release = threading.Event()
    # B1 holds the installation's published row: the push stops there, holding the
    # installation's and the control's rows.
    first, first_errors = _in_thread(_hold_row, "layers_data.spanc_installations",
                                     stored.installation_id, release)
    _wait_until_row_locked("spanc_installations")
    answer = {}
    change = control_change(control, status="in_progress", comments="après un interblocage")
    pusher, push_errors = _in_thread(lambda: answer.__setitem__(
        "response", tablet.push([change], batch_id=batch_id)[0]))
    _wait_until_waiting(1)
    # B2 holds the control's published row and asks for the control's row (held by the push).
    second, second_errors = _in_thread(
        _hold_row, "layers_data.spanc_controles", stored.pk, None,
        ("SELECT 1 FROM fieldsync_control WHERE id = %s FOR UPDATE", [stored.pk]))
    _wait_until_waiting(2)
    # Past B2's own deadlock check (no cycle yet): the push, which closes the cycle, is the one
    # PostgreSQL aborts.
    time.sleep(2 * timeout_s)
    release.set()
    for thread in (first, pusher, second):
        thread.join(120)
    assert not (first_errors or push_errors or second_errors)
    return answer["response"], change


@pytest.mark.django_db(transaction=True)
def test_a_change_chosen_as_deadlock_victim_is_retried(campaign, caplog):
    """The retry of the chunk's transaction on deadlock (40P01)."""
    tablet = Tablet("controleur.spanc", "A")
    control = tablet.package()["controls"][0]
    response, _change = _push_into_a_deadlock(tablet, control, str(uuid.uuid4()))
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "applied"
    assert "40P01" in caplog.text
    assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1
    assert AuditEntry.objects.filter(action="control.update").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_that_keeps_losing_deadlocks_answers_busy_and_the_batch_resumes(
        campaign, monkeypatch):
    """Retries exhausted: a JSON 503 `busy` with Retry-After, nothing of the change written, and
    the same batch sent again completes."""
    monkeypatch.setattr(batching, "RETRIES", 0)
    tablet = Tablet("controleur.spanc", "A")
    control = tablet.package()["controls"][0]
    batch_id = str(uuid.uuid4())
    response, change = _push_into_a_deadlock(tablet, control, batch_id)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] and response.json()["code"] == "busy"
    assert Control.objects.get(uuid=control["id"]).version == control["version"]
    assert not SyncChange.objects.filter(pk=change["change_id"]).exists()
    again = tablet.push([change], batch_id=batch_id)[0]
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "applied"
    assert Control.objects.get(uuid=control["id"]).version == control["version"] + 1


# --- photos: a push announcing a photo while its upload completes -------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_photo_completed_while_a_push_relinks_it_is_received_for_the_control(campaign,
                                                                               monkeypatch):
    """The window: a push read the photo as not yet verified and wrote its control's links at
    the end of its chunk, after the upload had marked the uploader's links received and
    committed: the control's photo stayed missing for ever (the upload had answered
    "verified"). The push now reads the announced photos FOR SHARE: the upload waits for it."""
    from fieldsync.records import control as control_type

    from .conftest import sha256

    tablet = Tablet("controleur.spanc")
    control = tablet.package()["controls"][0]
    photo = b"\xff\xd8\xff\xe0" + b"fosse" * 400
    first = tablet.push([control_change(control, status="in_progress", photos=[photo])])[0]
    record = first.json()["results"][0]["record"]
    assert tablet.put_photo(photo[:-1], 0, len(photo) - 2, len(photo),
                            sha=sha256(photo)).status_code == 200

    paused, go = threading.Event(), threading.Event()
    original = control_type.write_pending

    def write_pending_after_a_pause(*args, **kwargs):
        paused.set()  # the chunk has read the photo; its links are not written yet
        go.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(control_type, "write_pending", write_pending_after_a_pause)
    answers, errors = {}, []

    def run(name, action):
        try:
            answers[name] = action()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    again = control_change(record, status="in_progress", photos=[photo], comments="encore")
    pushing = threading.Thread(target=run, args=("push", lambda: tablet.push([again])[0]))
    pushing.start()
    assert paused.wait(30)
    uploading = threading.Thread(target=run, args=("upload", lambda: tablet.put_photo(
        photo[-1:], len(photo) - 1, len(photo) - 1, len(photo), sha=sha256(photo))))
    uploading.start()
    for _attempt in range(3000):  # until the upload waits on the push's lock, or is done
        if not uploading.is_alive() or _waiting_on_locks() >= 1:
            break
        time.sleep(0.01)
    go.set()
    pushing.join(60)
    uploading.join(60)
    assert not errors, errors
    assert answers["upload"].json()["verified"] is True
    assert answers["push"].json()["results"][0]["status"] == "applied"
    state = tablet.client.get(f"/api/sync/controls/{control['id']}/photos/").json()
    assert state["missing"] == [] and state["photos"][0]["verified"] is True
    assert ControlPhoto.objects.get(control__uuid=control["id"],
                                    blob__sha256=sha256(photo)).proven


@pytest.mark.django_db(transaction=True)
def test_a_photo_announced_again_while_held_is_repaired_by_its_upload(campaign):
    """A link written as missing for a photo its inspector holds (what the window above left
    behind): sending the photo again answers "verified" and the control counts it."""
    from .conftest import sha256

    tablet = Tablet("controleur.spanc")
    first, second = tablet.package()["controls"][:2]
    photo = b"\xff\xd8\xff\xe0" + b"regard" * 300
    for control in (first, second):
        tablet.push([control_change(control, status="in_progress", photos=[photo])])
    assert tablet.put_photo(photo).json()["verified"] is True
    ControlPhoto.objects.filter(control__uuid=second["id"]).update(proven=False)
    assert tablet.put_photo(photo).json()["verified"] is True
    state = tablet.client.get(f"/api/sync/controls/{second['id']}/photos/").json()
    assert state["missing"] == []
    assert ControlPhoto.objects.get(control__uuid=second["id"], blob__sha256=sha256(photo)).proven


# --- photos: two inspectors of different scopes uploading the same photo ---------------------
def _second_scope_control(second_inspector):
    """A control of an installation that only the second inspector sees."""
    from fieldsync.models import ControlKind

    from .conftest import GUERANDE, make_installation, user

    installation = make_installation(GUERANDE, "9 chemin des Marais salants")
    control = Control.objects.create(installation=installation,
                                     kind=ControlKind.objects.get(code="bon_fonctionnement"))
    campaigns.assign(user("responsable.spanc"), [control], second_inspector)
    return control


@pytest.mark.django_db(transaction=True)
def test_nobody_proves_a_photo_by_completing_someone_elses_upload(campaign, second_inspector):
    """The window: an unverified photo's upload was one shared file whose offset anyone who had
    announced the SHA-256 could continue; whoever sent the last byte had the photo counted as
    received for *his* controls (the possession proof of a last byte). Each uploader now has his
    bytes to himself: the other's upload is not his to complete."""
    from .conftest import sha256

    photo = b"\xff\xd8\xff\xe0" + b"fosse-septique" * 200
    sha, size = sha256(photo), len(photo)
    owner, other = Tablet("controleur.spanc"), Tablet("controleur.deux")
    mine = owner.package()["controls"][0]
    owner.push([control_change(mine, status="in_progress", photos=[photo])])
    _second_scope_control(second_inspector)
    theirs = other.package()["controls"][0]
    other.push([control_change(theirs, status="in_progress", photos=[photo])])

    assert owner.put_photo(photo[:-1], 0, size - 2, size, sha=sha).json()["received"] == size - 1
    assert other.client.get(f"/api/sync/photos/{sha}/").json()["received"] == 0
    last_byte = other.put_photo(photo[-1:], size - 1, size - 1, size, sha=sha)
    assert last_byte.status_code == 409 and last_byte.json()["received"] == 0
    assert other.client.get(f"/api/sync/photos/{sha}/content/").status_code == 404
    assert not ControlPhoto.objects.filter(control__uuid=theirs["id"], proven=True).exists()
    assert owner.put_photo(photo[-1:], size - 1, size - 1, size, sha=sha).json()["verified"]
    assert not ControlPhoto.objects.filter(control__uuid=theirs["id"], proven=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_inspectors_uploading_one_photo_at_once_each_prove_it_with_their_bytes(
        campaign, second_inspector):
    """Both upload the same photo at the same time, by chunks, on two connections: the photo is
    stored once, each one's controls count it once he sent every byte himself, and the one who
    finished second resumes where he was (no byte sent twice)."""
    from fieldsync.models import PhotoBlob

    from .conftest import sha256

    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    sha, size = sha256(photo), len(photo)
    tablets = [Tablet("controleur.spanc"), Tablet("controleur.deux")]
    tablets[0].push([control_change(tablets[0].package()["controls"][0], status="in_progress",
                                    photos=[photo])])
    _second_scope_control(second_inspector)
    tablets[1].push([control_change(tablets[1].package()["controls"][0], status="in_progress",
                                    photos=[photo])])
    barrier, answers, errors = threading.Barrier(2), {0: [], 1: []}, []

    def upload(index):
        tablet = tablets[index]
        try:
            barrier.wait()
            for _attempt in range(50):
                state = tablet.client.get(f"/api/sync/photos/{sha}/").json()
                if state["verified"]:
                    break
                start = state["received"]
                end = min(start + 1000, size) - 1
                answers[index].append(tablet.put_photo(photo[start:end + 1], start, end, size,
                                                       sha=sha).status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert all(code in (200, 409) for codes in answers.values() for code in codes), answers
    assert PhotoBlob.objects.get(sha256=sha).verified
    assert ControlPhoto.objects.filter(blob__sha256=sha).count() == 2
    assert all(ControlPhoto.objects.filter(blob__sha256=sha).values_list("proven", flat=True))
    for tablet in tablets:
        content = tablet.client.get(f"/api/sync/photos/{sha}/content/")
        assert content.status_code == 200 and b"".join(content.streaming_content) == photo
