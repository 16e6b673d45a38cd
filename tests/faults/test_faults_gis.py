"""Faults while the catalogue's data is written, against real processes (issue 11, Load and
faults): a gunicorn worker killed (kill -9) in the middle of a WFS-T transaction and of a
publication (restoring an archived version), and the import worker killed in the middle of an
import. Each time the database is checked afterwards — nothing half-written — and the client's
retry completes; the interrupted import shows a clear failed state.

Each request is stopped at a known point by a lock the test holds (a row, or a table), then the
process serving it is killed, then the lock is released.
"""
import json
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import GIS_ADMIN, INSPECTOR, basic
from .processes import PASSWORD, Holder, static_root, wait_until

pytestmark = pytest.mark.faults

NS = ('xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
      'xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')
LAYER = "installations_anc"  # the demo layer the SPANC team edits (WFS-T)


def wfs_transaction(inserts, update_fid, conformite):
    body = "".join(
        f'<wfs:Insert><capgeo:{LAYER}><capgeo:code_insee>{insee}</capgeo:code_insee>'
        f'<capgeo:filiere>{filiere}</capgeo:filiere><capgeo:geom><gml:Point '
        f'srsName="urn:ogc:def:crs:EPSG::2154"><gml:pos srsDimension="2">{x} {y}</gml:pos>'
        f'</gml:Point></capgeo:geom></capgeo:{LAYER}></wfs:Insert>'
        for insee, filiere, x, y in inserts)
    body += (f'<wfs:Update typeName="capgeo:{LAYER}"><wfs:Property><wfs:Name>conformite</wfs:Name>'
             f'<wfs:Value>{conformite}</wfs:Value></wfs:Property><ogc:Filter>'
             f'<ogc:FeatureId fid="{LAYER}.{update_fid}"/></ogc:Filter></wfs:Update>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" '
            f'version="1.1.0" {NS}>{body}</wfs:Transaction>')


def run_blocked(platform, send, lock_sql, fault, params=()):
    """send() from another thread while the test holds lock_sql's locks; once the platform's
    request waits for them, fault(backend pid, client port); then release. Returns what the
    client got (a response or the exception), and the blocked backend's pid."""
    with Holder(platform.cluster) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(lock_sql, params)
        future = pool.submit(send)
        backend, port = platform.blocked_backend()
        fault(backend, port)
        holder.release()
        try:
            outcome = future.result(timeout=120)
        except requests.RequestException as error:
            outcome = error
    platform.backend_gone(backend)  # its transaction ended with it (rolled back)
    return outcome


# --- WFS-T -------------------------------------------------------------------------------------
def test_worker_killed_in_the_middle_of_a_wfs_transaction(served):
    cluster = served.cluster
    x, y = cluster.query("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                         "FROM territory_commune WHERE insee = '44069') s")[0]
    target = cluster.value(f'SELECT min(fid) FROM layers_data."{LAYER}"')
    marker = f"vérifiée {uuid.uuid4().hex[:8]}"
    document = wfs_transaction([("44069", "Filière A", x, y), ("44069", "Filière B", x + 5, y)],
                               target, marker)

    def snapshot():
        return cluster.query(
            f'SELECT (SELECT count(*) FROM layers_data."{LAYER}"), '
            f'(SELECT conformite FROM layers_data."{LAYER}" WHERE fid = %s), '
            "(SELECT count(*) FROM layers_featurechange), "
            "(SELECT count(*) FROM layers_publication p JOIN layers_layer l ON l.id = p.layer_id "
            " WHERE l.name = %s)", (target, LAYER))[0]

    def send():
        return requests.post(served.url("/ows"), data=document.encode(), timeout=120,
                             headers={"Content-Type": "text/xml", **basic(INSPECTOR)})

    before = snapshot()
    # The inserts run, then the update waits for the row the test holds.
    outcome = run_blocked(served, send, f'SELECT 1 FROM layers_data."{LAYER}" WHERE fid = %s '
                          "FOR UPDATE", lambda _backend, port: served.kill_worker_serving(port),
                          (target,))
    assert isinstance(outcome, requests.ConnectionError), outcome
    assert snapshot() == before  # no inserted row, no history, no publication: all or nothing

    retry = send()
    assert retry.status_code == 200, retry.text
    assert "<wfs:totalInserted>2</wfs:totalInserted>" in retry.text, retry.text
    assert "<wfs:totalUpdated>1</wfs:totalUpdated>" in retry.text, retry.text
    count, conformite, changes, publications = snapshot()
    assert (count, conformite, changes, publications) == (before[0] + 2, marker, before[2] + 3,
                                                          before[3] + 1)


# --- publication: restoring an archived version ------------------------------------------------
def logged_in(platform, username):
    manifest = static_root() / "staticfiles.json"
    if not manifest.exists():
        pytest.fail(f"{manifest} is missing: `./run.sh setup` collects the static files the "
                    "pages need (or set STATIC_ROOT to a collected directory).")
    session = requests.Session()
    session.get(platform.url("/connexion/"), timeout=60)
    response = session.post(platform.url("/connexion/"), timeout=60, data={
        "username": username, "password": PASSWORD,
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 200 and "sessionid" in session.cookies, response.text[:300]
    return session


def test_worker_killed_in_the_middle_of_a_publication(served, tmp_path):
    cluster = served.cluster
    layer = "mairies"
    # A second version of the layer (2 points), published from the command line.
    source = tmp_path / "mairies_v2.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nom": f"Mairie {n}"},
         "geometry": {"type": "Point", "coordinates": [-2.43 + n / 100, 47.33]}} for n in range(2)
    ]}))
    served.manage("publish_layer", str(source), "--name", layer, "--mode", "replace",
                  "--user", GIS_ADMIN, "--srs", "EPSG:4326", "--no-progress")

    def snapshot():
        return cluster.query(
            f'SELECT (SELECT count(*) FROM layers_data."{layer}"), '
            "(SELECT array_agg(p.version || ':' || p.mode ORDER BY p.version) FROM layers_publication p "
            " JOIN layers_layer l ON l.id = p.layer_id WHERE l.name = %s), "
            "(SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables "
            " WHERE schemaname IN ('layers_staging', 'layers_history')), "
            "(SELECT feature_count FROM layers_layer WHERE name = %s)", (layer, layer))[0]

    before = snapshot()
    assert before[0] == 2 and before[1][-1].startswith("2:"), before
    first_version = cluster.value(
        "SELECT p.id FROM layers_publication p JOIN layers_layer l ON l.id = p.layer_id "
        "WHERE l.name = %s AND p.version = 1", (layer,))
    session = logged_in(served, GIS_ADMIN)

    def send():
        return session.post(served.url(f"/catalogue/publier/publications/{first_version}/restaurer/"),
                            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            allow_redirects=False, timeout=120)

    # The archived table is copied, then the swap waits for the live table the test reads.
    outcome = run_blocked(served, send, f'SELECT 1 FROM layers_data."{layer}" LIMIT 1',
                          lambda _backend, port: served.kill_worker_serving(port))
    assert isinstance(outcome, requests.ConnectionError), outcome
    assert snapshot() == before  # still version 2, no half-copied table left behind

    retry = send()
    assert retry.status_code == 302, retry.text[:300]
    count, versions, tables, feature_count = snapshot()
    original = cluster.value("SELECT feature_count FROM layers_publication WHERE id = %s",
                             (first_version,))
    assert (count, feature_count) == (original, original)
    assert versions == before[1] + ["3:restore"]
    assert not [t for t in tables if t.startswith(f"{layer}__r")]  # no staging copy left


def geojson_points(path, count):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"numero": n},
         "geometry": {"type": "Point", "coordinates": [-2.4 + n / 10000, 47.3]}}
        for n in range(count)]}))
    return path


def test_worker_killed_while_a_publication_is_submitted(served, tmp_path):
    """Killed after the file is stored and checked, while the import is being queued: no job
    left waiting for ever without a queue entry, no stored file left behind (once the import
    worker's check has passed); the same submission again publishes the layer."""
    cluster = served.cluster
    name = f"faults_submit_{uuid.uuid4().hex[:6]}"
    source = geojson_points(tmp_path / f"{name}.geojson", 50)
    imports = served.var / "media" / "imports"
    jobs_before = cluster.value("SELECT count(*) FROM layers_importjob")
    outcome = run_blocked(
        served, lambda: submit_import(served, source, name, check=False),
        "LOCK TABLE django_tasks_database_dbtaskresult IN SHARE ROW EXCLUSIVE MODE",
        lambda _backend, port: served.kill_worker_serving(port))
    assert isinstance(outcome, requests.ConnectionError), outcome
    # The job and its queue entry commit together, or not at all.
    assert cluster.value("SELECT count(*) FROM layers_importjob") == jobs_before
    worker = served.import_worker()
    try:
        # The file stored for the lost submission is removed by the worker's periodic check.
        wait_until(lambda: not imports.exists() or not any(imports.iterdir()), timeout=30,
                   interval=0.5, what="fichier de l'envoi interrompu supprimé")
        retry = submit_import(served, source, name)
        wait_until(lambda: job(cluster, retry)[0] in ("succeeded", "failed"), timeout=120,
                   interval=0.5, what="l'import renvoyé terminé")
        assert job(cluster, retry)[0] == "succeeded", job(cluster, retry)
        assert cluster.value(f'SELECT count(*) FROM layers_data."{name}"') == 50
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


# --- the import worker ---------------------------------------------------------------------------
def submit_import(platform, path, name, check=True):
    with open(path, "rb") as handle:
        response = requests.post(platform.url("/api/layers/"), headers=basic(GIS_ADMIN),
                                 data={"name": name, "title": "Import interrompu"},
                                 files={"file": (path.name, handle, "application/geo+json")},
                                 timeout=120)
    if not check:
        return response
    assert response.status_code == 202, response.text
    return response.json()["id"]


def job(cluster, job_id):
    return cluster.query("SELECT status, message FROM layers_importjob WHERE id = %s", (job_id,))[0]


def test_import_worker_killed_in_the_middle_of_an_import(served, tmp_path):
    cluster = served.cluster
    name = f"faults_import_{uuid.uuid4().hex[:6]}"
    source = geojson_points(tmp_path / f"{name}.geojson", 500)
    worker = served.import_worker()
    try:
        # The data is loaded into the staging table, then creating the layer waits for the
        # catalogue table, which the test keeps from being written (readers go on).
        with Holder(cluster) as holder:
            holder.execute("LOCK TABLE layers_layer IN SHARE ROW EXCLUSIVE MODE")
            job_id = submit_import(served, source, name)
            backend, _port = served.blocked_backend(timeout=60)
            assert job(cluster, job_id)[0] == "running"
            staging = f"{name}__job{job_id}"
            assert cluster.value("SELECT count(*) FROM pg_tables WHERE schemaname = "
                                 "'layers_staging' AND tablename = %s", (staging,)) == 1
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and anything it runs
            worker.wait(timeout=30)
        served.backend_gone(backend)
        # Killed: nothing published, the job still says "running" (nobody is left to say more).
        assert cluster.value("SELECT count(*) FROM layers_layer WHERE name = %s", (name,)) == 0
        assert cluster.value("SELECT to_regclass(%s)", (f'layers_data."{name}"',)) is None

        # The worker is started again (as gunicorn's restart does with run.sh): the job ends in
        # a clear failed state once its heartbeat is found stale, its leftovers removed.
        worker = served.import_worker()
        status, message = wait_until(lambda: job(cluster, job_id)[0] == "failed"
                                     and job(cluster, job_id), timeout=60, interval=0.5,
                                     what="l'import interrompu marqué en échec")
        assert "interrompu" in message and "Relancez" in message, message
        # The queue's task of the killed worker ends failed too, never run again (layers.workers).
        wait_until(lambda: cluster.value(
            "SELECT status FROM django_tasks_database_dbtaskresult "
            "WHERE args_kwargs -> 'args' ->> 0 = %s", (str(job_id),)) == "FAILED",
            timeout=60, interval=0.5, what="la tâche de l'import interrompu en échec")
        assert cluster.value("SELECT count(*) FROM pg_tables WHERE schemaname = "
                             "'layers_staging' AND tablename LIKE %s", (f"{name}%",)) == 0
        assert not (served.var / "media" / "imports" / str(job_id)).exists()
        status_page = requests.get(served.url(f"/catalogue/publier/imports/{job_id}.json"),
                                   headers=basic(GIS_ADMIN), timeout=60)
        assert status_page.status_code == 200
        assert status_page.json()["status"] == "failed" and status_page.json()["finished"]

        # The user's retry (the same file again) completes.
        retry = submit_import(served, source, name)
        wait_until(lambda: job(cluster, retry)[0] in ("succeeded", "failed"), timeout=120,
                   interval=0.5, what="le nouvel import terminé")
        assert job(cluster, retry)[0] == "succeeded", job(cluster, retry)
        assert cluster.value(f'SELECT count(*) FROM layers_data."{name}"') == 500
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
