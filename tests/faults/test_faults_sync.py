"""Faults during a field sync push, against real processes (issue 11, Load and faults): the
gunicorn worker killed (kill -9) mid-batch, PostgreSQL restarted mid-batch. Each time the
database is checked afterwards (nothing half-written, what was committed kept once) and the
tablet's retry — the same body, same batch_id and change ids — completes, every change applied
exactly once. And the disk full while a photo arrives: a clear error, the bytes already
acknowledged kept, the upload resumed once there is room.

The push is stopped at a known point by a row lock the test holds on the second control of the
batch: the first change is then committed, the second waits inside its own transaction.
"""
import hashlib
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import control_update
from .processes import Holder, wait_until

pytestmark = pytest.mark.faults


def editable_controls(tablet, count):
    controls = [c for c in tablet.package()["controls"]
                if c["editable"] and c["status"] in ("assigned", "in_progress")]
    assert len(controls) >= count, "the demo assigns controls to controleur.spanc"
    return controls[:count]


def state(cluster, controls):
    """Per control: (version, comments, audit entries, change-log entries)."""
    ids = [c["id"] for c in controls]
    rows = cluster.query(
        "SELECT c.uuid::text, c.version, c.comments, "
        "(SELECT count(*) FROM fieldsync_auditentry a WHERE a.entity_uuid = c.uuid), "
        "(SELECT count(*) FROM fieldsync_changelog l WHERE l.entity_uuid = c.uuid) "
        "FROM fieldsync_control c WHERE c.uuid = ANY(%s::uuid[])", (ids,))
    return {row[0]: row[1:] for row in rows}


def batch_changes(cluster, batch_id):
    return dict(cluster.query("SELECT id::text, status FROM fieldsync_syncchange "
                              "WHERE batch_id = %s", (batch_id,)))


def push_stopped_at_second_change(platform, tablet, body, blocked_control, fault):
    """Push body from another thread while the test holds blocked_control's row; once the request
    waits for it, run fault(backend pid, client port); then release. Returns the push's outcome:
    a response, or the exception the client got."""
    with Holder(platform.cluster) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("SELECT 1 FROM fieldsync_control WHERE uuid = %s FOR UPDATE",
                       (blocked_control["id"],))
        future = pool.submit(tablet.push, body)
        backend, port = platform.blocked_backend()
        fault(backend, port)
        holder.release()
        try:
            return future.result(timeout=120)
        except requests.RequestException as error:
            return error


def assert_retry_applies_each_change_once(cluster, tablet, body, controls, before):
    retry = tablet.push(body)
    assert retry.status_code == 200, retry.text
    answer = retry.json()
    assert [r["status"] for r in answer["results"]] == ["applied"] * len(controls), answer
    after = state(cluster, controls)
    for change, control in zip(body["changes"], controls):
        version, comments, audits, logs = after[control["id"]]
        old_version, _comments, old_audits, old_logs = before[control["id"]]
        assert (version, comments) == (old_version + 1, change["data"]["comments"])
        assert (audits, logs) == (old_audits + 1, old_logs + 1)  # applied exactly once
    assert batch_changes(cluster, body["batch_id"]) == {
        change["change_id"]: "applied" for change in body["changes"]}
    # Sent once more (the answer was lost again): the same answer, nothing re-applied.
    again = tablet.push(body)
    assert again.status_code == 200 and again.json() == answer
    # The same change ids in a new batch: duplicates, nothing re-applied.
    replay = tablet.push({**tablet.batch(body["changes"])})
    assert replay.status_code == 200, replay.text
    assert {r["status"] for r in replay.json()["results"]} == {"duplicate"}
    assert state(cluster, controls) == after


def test_worker_killed_in_the_middle_of_a_push(served, tablet):
    cluster = served.cluster
    controls = editable_controls(tablet, 3)
    before = state(cluster, controls)
    body = tablet.batch([control_update(control, f"Visite interrompue {n}")
                         for n, control in enumerate(controls)])
    first, second, third = controls
    killed = {}

    def kill(backend, port):
        # The first change is committed before the worker dies…
        assert state(cluster, [first])[first["id"]][0] == before[first["id"]][0] + 1
        killed["pid"] = served.kill_worker_serving(port)
        killed["backend"] = backend

    outcome = push_stopped_at_second_change(served, tablet, body, second, kill)
    assert isinstance(outcome, requests.ConnectionError), outcome  # no answer: the worker died
    served.backend_gone(killed["backend"])  # its transaction ended with it (rolled back)

    # Nothing half-written: the batch is stored unanswered, the first change applied (with its
    # audit and change-log entries), the second and third untouched.
    assert cluster.value("SELECT response IS NULL FROM fieldsync_syncbatch WHERE id = %s",
                         (body["batch_id"],))
    assert batch_changes(cluster, body["batch_id"]) == {body["changes"][0]["change_id"]: "applied"}
    now = state(cluster, controls)
    assert now[first["id"]][0] == before[first["id"]][0] + 1
    assert now[first["id"]][2:] == (before[first["id"]][2] + 1, before[first["id"]][3] + 1)
    assert now[second["id"]] == before[second["id"]]
    assert now[third["id"]] == before[third["id"]]
    # gunicorn replaced the worker; the retry resumes the batch where it stopped.
    wait_until(lambda: len(served.workers()) == 3, what="3 workers de nouveau")
    assert_retry_applies_each_change_once(cluster, tablet, body, controls, before)
    assert "WORKER TIMEOUT" not in served.error_log.read_text()


def test_postgresql_restarted_in_the_middle_of_a_push(served, tablet):
    cluster = served.cluster
    controls = editable_controls(tablet, 3)
    before = state(cluster, controls)
    body = tablet.batch([control_update(control, f"Visite pendant le redémarrage {n}")
                         for n, control in enumerate(controls)])

    def restart(_backend, _port):
        cluster.stop("fast")  # ends every session, the push's included, then restarts
        cluster.start()

    outcome = push_stopped_at_second_change(served, tablet, body, controls[1], restart)
    assert isinstance(outcome, requests.Response), outcome
    if outcome.status_code == 200:  # the server went on after reconnecting: all of it applied
        assert {r["status"] for r in outcome.json()["results"]} == {"applied"}, outcome.text
    else:  # or an error answer, never a half-done 200; the committed first change stays
        assert outcome.status_code >= 500, outcome.text[:300]
        assert batch_changes(cluster, body["batch_id"]) == {
            body["changes"][0]["change_id"]: "applied"}
        now = state(cluster, controls)
        assert now[controls[1]["id"]] == before[controls[1]["id"]]
        assert now[controls[2]["id"]] == before[controls[2]["id"]]
    # Every worker serves again at once (none keeps a dead connection to the old server): the
    # requests below reach all three workers.
    for _ in range(6):
        response = tablet.session.get(served.url("/api/sync/changes/?since=0"), timeout=60)
        assert response.status_code == 200, response.text[:500]
    # Maps too (Mapnik reads PostGIS through its own pooled connections).
    for _ in range(6):
        response = requests.get(served.url(
            "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=communes&STYLES=&CRS=EPSG:2154"
            "&BBOX=265000,6690000,312000,6728000&WIDTH=256&HEIGHT=256&FORMAT=image/png"), timeout=60)
        assert response.status_code == 200, response.text[:500]
        assert response.headers["Content-Type"] == "image/png", response.text[:500]
    assert_retry_applies_each_change_once(cluster, tablet, body, controls, before)


# --- the disk full while a photo arrives -------------------------------------------------------
@pytest.fixture
def small_photo_disk(served):
    """The platform's photo directory on a 200 KiB tmpfs (grown later by the test), or a skip
    saying why it cannot be mounted."""
    root = served.var / "fieldsync" / "photos"
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system for the photos needs root (mount -t tmpfs)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k,mode=0755", "tmpfs",
                              str(root)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the photos here: {mounted.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_disk_full_while_receiving_a_photo(served, tablet, small_photo_disk):
    cluster = served.cluster
    control = editable_controls(tablet, 1)[0]
    photo = os.urandom(300_000)
    sha = hashlib.sha256(photo).hexdigest()
    change = control_update(control, "Visite avec photo")
    change["data"]["photos"] = [{"sha256": sha, "size": len(photo), "content_type": "image/jpeg"}]
    pushed = tablet.push(tablet.batch([change]))
    assert pushed.status_code == 200 and pushed.json()["results"][0]["missing_photos"] == [sha]
    url = served.url(f"/api/sync/photos/{sha}/")

    def put(start, end):
        return tablet.session.put(url, data=photo[start:end + 1], timeout=60, headers={
            "Content-Range": f"bytes {start}-{end}/{len(photo)}",
            "Content-Type": "application/octet-stream"})

    def received():
        return cluster.query("SELECT received, verified FROM fieldsync_photoblob "
                             "WHERE sha256 = %s", (sha,))[0]

    first = put(0, 99_999)
    assert first.status_code == 200 and first.json()["received"] == 100_000, first.text
    # The second chunk does not fit: a clear JSON error, the acknowledged bytes kept.
    full = put(100_000, len(photo) - 1)
    assert full.status_code == 507, full.text[:300]
    assert full.headers["Content-Type"].startswith("application/json")
    assert "disque" in full.json()["detail"] and full.json()["received"] == 100_000
    assert received() == (100_000, False)
    status = tablet.session.get(url, timeout=60).json()
    assert (status["received"], status["verified"]) == (100_000, False)

    # Space is freed (the file system grown); the tablet resumes where the server says.
    subprocess.run(["mount", "-o", "remount,size=2m", str(small_photo_disk)], check=True)
    resumed = put(100_000, len(photo) - 1)
    assert resumed.status_code == 200 and resumed.json()["verified"], resumed.text
    assert received() == (len(photo), True)
    stored = small_photo_disk / sha[:2] / sha
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    listing = tablet.session.get(served.url(f"/api/sync/controls/{control['id']}/photos/"),
                                 timeout=60).json()
    assert listing["missing"] == []
