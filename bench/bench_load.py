"""Mixed load (issue 11, Load and faults): `locust` drives N concurrent clients for S seconds on
WMS GetMap, WFS GetFeature, REST features, MVT, WMTS (MapProxy) and SPANC sync pushes, against a
real gunicorn configured as `./run.sh demo` serves (3 sync workers, timeout 120 s) over the demo.

    .venv/bin/python bench/bench_load.py --users 40 --seconds 60            # writes docs/benchmarks.md
    .venv/bin/python bench/bench_load.py --users 10 --seconds 15 --no-doc   # a short check

What it does: (re)creates its own database `capgeo_bench_load` on the server of DATABASE_URL
(migrations + demo: never the demo database itself, since the pushes write), starts gunicorn on a
free loopback port with its error log in a file, runs `locust --headless` (this same file is the
locustfile) bounded in time (--seconds) and in requests (--max-requests), then checks: 0 failed
requests, no "WORKER TIMEOUT" in gunicorn's error log. Exits 1 if either check fails.

Clients (locust users, wait 0.5–2 s between requests, weights in brackets): WMS GetMap 256×256
PNG of `communes` + `zones_activite` on a random box of the territory [3], WFS 2.0 GetFeature of
`zones_activite` (GeoJSON, 50 objects, random box) [2], REST `/api/layers/communes/features` [2],
MVT tile of `zones_activite` at z 11–14 [3], WMTS REST tile of `communes` (GoogleMapsCompatible,
z 10–14, cached by MapProxy after the first hit) [3], and a sync push [1]: the inspector
`controleur.spanc` (Basic authentication, as a tablet or QField would) sends a batch of 3 new
installations plus 2 updates of installations this client created earlier (their versions known
from the previous answers: no conflict expected), on a device each client registers first; a
batch that got no 200 is sent again unchanged, as a tablet does.
"""
import argparse
import csv
import datetime
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# --- the locustfile: the clients ------------------------------------------------------------------
# Imported by locust itself (`locust -f bench/bench_load.py`): nothing of Django here.
# The script's own process (main below) never imports locust: it would patch it with gevent.
if __name__ != "__main__":
    from locust import HttpUser, between, events, task
else:
    HttpUser = None

INSPECTOR = ("controleur.spanc", "demo-capgeo")
LAYER_WMS = "communes,zones_activite"
LAYER_WFS = "zones_activite"
LAYER_REST = "communes"
LAYER_MVT = "zones_activite"
LAYER_WMTS = "communes"


def _bbox_wgs84():
    """The territory (west, south, east, north), handed over by main() in the environment."""
    return [float(v) for v in os.environ.get("CAPGEO_LOAD_BBOX", "-2.56,47.25,-2.17,47.52").split(",")]


def _sites():
    """Positions (WGS84) of the demo's installations, handed over by main() in a JSON file."""
    if "sites" not in _SITES:
        _SITES["sites"] = json.loads(Path(os.environ["CAPGEO_LOAD_SITES"]).read_text())
    return _SITES["sites"]


_SITES = {}


def _tile(z, bbox):
    """A random XYZ tile of zoom z inside bbox (WGS84)."""
    import math

    west, south, east, north = bbox
    lon = random.uniform(west, east)
    lat = math.radians(random.uniform(south, north))
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0 * n)
    return x, y


if HttpUser is not None:
    _budget = {"left": int(os.environ.get("CAPGEO_LOAD_MAX_REQUESTS", "100000"))}

    @events.request.add_listener
    def _count(**_kwargs):
        """Bound the run in requests as well as in time."""
        _budget["left"] -= 1
        if _budget["left"] == 0:
            _environment["env"].runner.quit()

    _environment = {}

    @events.init.add_listener
    def _remember(environment, **_kwargs):
        _environment["env"] = environment

    class PlatformUser(HttpUser):
        """One client of the platform: a map viewer, a GIS desktop and, now and then, a tablet."""

        wait_time = between(0.5, 2.0)

        def on_start(self):
            self.bbox = _bbox_wgs84()
            self.device = None
            self.pending = None  # a batch sent without an answer, to send again
            self.created = {}  # installation uuid -> version, from this client's own pushes

        def _box(self, share=0.15):
            west, south, east, north = self.bbox
            width, height = (east - west) * share, (north - south) * share
            x = random.uniform(west, east - width)
            y = random.uniform(south, north - height)
            return x, y, x + width, y + height

        def _check(self, response, content_type):
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif content_type not in response.headers.get("Content-Type", ""):
                response.failure(f"Content-Type {response.headers.get('Content-Type')}: "
                                 f"{response.text[:200]}")
            else:
                response.success()

        @task(3)
        def wms_getmap(self):
            x0, y0, x1, y1 = self._box()
            with self.client.get(
                    "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&FORMAT=image/png"
                    f"&LAYERS={LAYER_WMS}&CRS=EPSG:4326&BBOX={y0},{x0},{y1},{x1}"
                    "&WIDTH=256&HEIGHT=256", name="WMS GetMap", catch_response=True) as response:
                self._check(response, "image/png")

        @task(2)
        def wfs_getfeature(self):
            x0, y0, x1, y1 = self._box(0.3)
            with self.client.get(
                    f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={LAYER_WFS}"
                    f"&COUNT=50&OUTPUTFORMAT=application/json"
                    f"&BBOX={y0},{x0},{y1},{x1},urn:ogc:def:crs:EPSG::4326",
                    name="WFS GetFeature", catch_response=True) as response:
                self._check(response, "json")

        @task(2)
        def rest_features(self):
            x0, y0, x1, y1 = self._box(0.3)
            with self.client.get(f"/api/layers/{LAYER_REST}/features?limit=20&bbox={x0},{y0},{x1},{y1}",
                                 name="REST features", catch_response=True) as response:
                self._check(response, "json")

        @task(3)
        def mvt(self):
            z = random.randint(11, 14)
            x, y = _tile(z, self.bbox)
            with self.client.get(f"/tiles/{LAYER_MVT}/{z}/{x}/{y}.mvt", name="MVT",
                                 catch_response=True) as response:
                if response.status_code == 204:  # an empty tile is a valid answer
                    response.success()
                else:
                    self._check(response, "application/vnd.mapbox-vector-tile")

        @task(3)
        def wmts(self):
            z = random.randint(10, 14)
            x, y = _tile(z, self.bbox)
            with self.client.get(f"/mapproxy/wmts/{LAYER_WMTS}/GoogleMapsCompatible/{z}/{x}/{y}.png",
                                 name="WMTS GetTile", catch_response=True) as response:
                self._check(response, "image/png")

        def _new_batch(self):
            changes = []
            for _ in range(3):
                # At a demo installation's place: on land, inside the territory.
                lon, lat = random.choice(_sites())
                changes.append({
                    "change_id": str(uuid.uuid4()), "entity": "installation", "op": "create",
                    "id": str(uuid.uuid4()),
                    "data": {"geometry": {"type": "Point", "coordinates": [lon, lat]},
                             "address": f"{random.randint(1, 200)} route de la charge",
                             "capacity_eh": 5}})
            for installation, version in random.sample(sorted(self.created.items()),
                                                       min(2, len(self.created))):
                changes.append({
                    "change_id": str(uuid.uuid4()), "entity": "installation", "op": "update",
                    "id": installation, "base_version": version,
                    "data": {"address": f"{random.randint(1, 200)} chemin révisé"}})
            return {"batch_id": str(uuid.uuid4()), "device_id": self.device, "changes": changes}

        @task(1)
        def sync_push(self):
            if self.device is None:
                self.device = str(uuid.uuid4())
                with self.client.post("/api/sync/devices/", json={"id": self.device,
                                                                  "name": "Tablette de charge"},
                                      auth=INSPECTOR, name="sync device",
                                      catch_response=True) as response:
                    if response.status_code not in (200, 201):
                        response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                        self.device = None
                        return
            # Like a tablet's outbox: a batch without an answer is sent again, unchanged.
            body = self.pending or self._new_batch()
            self.pending = body
            with self.client.post("/api/sync/push/", json=body, auth=INSPECTOR, name="sync push",
                                  catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                    return
                self.pending = None
                results = response.json()["results"]
                statuses = [result["status"] for result in results]
                if set(statuses) != {"applied"}:
                    reasons = [(r["op"], r["status"], r.get("reasons")) for r in results
                               if r["status"] != "applied"]
                    response.failure(f"statuses {statuses}: {json.dumps(reasons, ensure_ascii=False)[:300]}")
                    return
                for result in results:
                    self.created[result["id"]] = result["version"]
                response.success()


# --- the script: database, gunicorn, locust, checks, docs ---------------------------------------
DATABASE = "capgeo_bench_load"
BIN = Path(sys.executable).parent  # the virtualenv's scripts: gunicorn, locust
REQUEST_TYPES = ["WMS GetMap", "WFS GetFeature", "REST features", "MVT", "WMTS GetTile",
                 "sync push", "sync device"]


def _database_url(base_url, name):
    """The same server and account as base_url, database `name`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare_database(common, url):
    """A fresh copy of the demo in its own database (the pushes write to it)."""
    import dj_database_url
    import psycopg2

    params = dj_database_url.parse(url)
    admin = psycopg2.connect(dbname="postgres", user=params["USER"], password=params["PASSWORD"],
                             host=params["HOST"], port=params["PORT"])
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    admin.close()
    target = _database_url(url, DATABASE)
    env = {**os.environ, "DATABASE_URL": target}
    python = sys.executable
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run([python, "manage.py", *command], cwd=common.ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return target


def territory_bbox(url):
    import dj_database_url
    import psycopg2

    params = dj_database_url.parse(url)
    with psycopg2.connect(dbname=params["NAME"], user=params["USER"], password=params["PASSWORD"],
                          host=params["HOST"], port=params["PORT"]) as db, db.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                       "ST_Extent(ST_Transform(geom, 4326)) AS e FROM territory_commune) s")
        bbox = cursor.fetchone()
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(location, 4326) AS p "
                       "FROM fieldsync_installation) s")
        return bbox, cursor.fetchall()


def load_average():
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3]).replace(".", ",")


def read_stats(prefix):
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", newline="") as handle:
            failures = list(csv.DictReader(handle))
    return rows, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="print only, leave docs/benchmarks.md")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import common  # the project on sys.path, its settings

    common.setup_django()
    from django.conf import settings

    base_url = os.environ.get("DATABASE_URL") or settings.DATABASE_URL
    started_setup = time.monotonic()
    url = prepare_database(common, base_url)
    bbox, sites = territory_bbox(url)
    print(f"Base {DATABASE} prête en {time.monotonic() - started_setup:.1f} s ; emprise {bbox}")

    workdir = Path(tempfile.mkdtemp(prefix="capgeo-bench-load-"))
    error_log = workdir / "gunicorn-error.log"
    port = common.free_port()
    env = {**os.environ, "DATABASE_URL": url, "CAPGEO_VAR_DIR": str(workdir / "var")}
    (workdir / "var").mkdir()
    (workdir / "sites.json").write_text(json.dumps(sites))
    # The same settings as `./run.sh demo` serves with (gunicorn's defaults: sync workers).
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "capgeo.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--timeout", "120", "--no-control-socket",
         "--error-logfile", str(error_log), "--log-level", "info"],
        cwd=common.ROOT, env=env, stdout=(workdir / "gunicorn-output.log").open("w"),
        stderr=subprocess.STDOUT)
    common.wait_for(port, server, "gunicorn", 60, "/healthz")
    try:
        load_before = load_average()
        started = datetime.datetime.now().astimezone()
        prefix = workdir / "locust"
        locust_env = {**os.environ, "CAPGEO_LOAD_BBOX": ",".join(map(str, bbox)),
                      "CAPGEO_LOAD_MAX_REQUESTS": str(args.max_requests),
                      "CAPGEO_LOAD_SITES": str(workdir / "sites.json")}
        run = subprocess.run(
            [str(BIN / "locust"), "-f", __file__, "--headless",
             "--host", f"http://127.0.0.1:{port}", "-u", str(args.users),
             "-r", str(max(1, args.users // 5)), "-t", f"{args.seconds}s", "--stop-timeout", "30",
             "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            env=locust_env, cwd=common.ROOT, capture_output=True, text=True)
        load_after = load_average()
    finally:
        server.terminate()
        server.wait(timeout=60)
    log = error_log.read_text(errors="replace")
    output = (workdir / "gunicorn-output.log").read_text(errors="replace")
    deadlocks = output.count("deadlock detected") // 2  # the error and its traceback's cause
    server_errors = output.count("Internal Server Error:")
    timeouts = log.count("WORKER TIMEOUT")
    killed = len(re.findall(r"was sent SIGKILL|Worker \(pid:\d+\) was sent", log))
    rows, failures = read_stats(prefix)
    total = rows["Aggregated"]
    errors = int(total["Failure Count"])
    seconds = args.seconds
    print(run.stdout[-4000:])
    if run.stderr.strip():
        print(run.stderr[-2000:], file=sys.stderr)
    for failure in failures[:20]:
        print("ÉCHEC :", failure["Method"], failure["Name"], failure["Occurrences"], failure["Error"])
    print(f"Requêtes : {total['Request Count']}, échecs : {errors}, WORKER TIMEOUT : {timeouts}, "
          f"workers tués : {killed} ; charge {load_before} → {load_after}")

    def ms(row, column):
        value = row.get(column) or "0"
        return common.fr(float(value), 0) if value != "N/A" else "—"

    table = ["| requête | nombre | req/s | p50 | p95 | p99 | max | échecs |",
             "|---|---|---|---|---|---|---|---|"]
    for name in REQUEST_TYPES + ["Aggregated"]:
        row = rows.get(name)
        if row is None:
            continue
        label = "**total**" if name == "Aggregated" else name
        table.append(
            f"| {label} | {row['Request Count']} | {common.fr(float(row['Requests/s']), 1)} | "
            f"{ms(row, '50%')} ms | {ms(row, '95%')} ms | {ms(row, '99%')} ms | "
            f"{ms(row, 'Max Response Time')} ms | {row['Failure Count']} |")
    print("\n".join(table))
    def short(error):
        text = re.sub(r"^CatchResponseError\(['\"]|['\"]\)$", "", error)
        text = text.split("<!DOCTYPE")[0] + (" page d’erreur HTML" if "<!DOCTYPE" in text else "")
        return text.replace("\\n", " ").replace("\n", " ")[:220]

    failure_lines = [f"  - {failure['Occurrences']} × {failure['Method']} {failure['Name']} : "
                     f"{short(failure['Error'])}" for failure in failures]
    if server_errors:
        failure_lines.append(
            f"  - journal de gunicorn : {server_errors} « Internal Server Error », dont {deadlocks} "
            "« deadlock detected » de PostgreSQL pendant un envoi de synchronisation (verrou "
            "consultatif du journal des changements contre la vérification de clé étrangère "
            "vers `territory_commune` au COMMIT : issue 11, synchronisation, point 1)")
    if not args.no_doc:
        info = common.machine()
        section = f"""## Charge mixte : {args.users} clients simultanés (`bench/bench_load.py`)

Mesuré le {started.strftime('%d/%m/%Y à %H h %M %Z')} par `bench/bench_load.py --users {args.users} --seconds {seconds}` (à relancer pour mettre à jour ; `locust` s’installe avec `pip install -e '.[bench]'`).

- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, Python {info['python']}. **Machine partagée** : d’autres processus tournaient pendant la mesure — charge moyenne (`/proc/loadavg`, 1/5/15 min) {load_before} avant, {load_after} après.
- Serveur : gunicorn comme `./run.sh demo` ({args.workers} workers synchrones, `--timeout 120`), sur la démonstration copiée dans sa propre base (`{DATABASE}`), en boucle locale ; le client `locust` {run_version()} (un processus, gevent) partage les mêmes cœurs.
- Clients : {args.users} utilisateurs locust, 0,5 à 2 s d’attente entre deux requêtes, pendant {seconds} s ; tirage pondéré : WMS GetMap 256×256 PNG `communes` + `zones_activite` sur une emprise au hasard (3), WFS 2.0 GetFeature GeoJSON de 50 objets (2), REST `/api/layers/communes/features?limit=20&bbox=…` (2), tuile MVT `zones_activite` z11–14 (3), tuile WMTS `communes` GoogleMapsCompatible z10–14 par MapProxy (3, mise en cache au premier appel), envoi de synchronisation (1) : 3 installations créées + 2 modifiées par le contrôleur (authentification Basic), sur un appareil enregistré par client (« sync device », une fois) ; un lot resté sans réponse 200 est renvoyé tel quel à l’envoi suivant, comme le fait une tablette.
- Résultat : **{errors} échec(s)** sur {total['Request Count']} requêtes (toute réponse autre que 200 du bon type, 204 pour une tuile MVT vide, ou un envoi dont une modification n’est pas `applied`) ; **{timeouts} « WORKER TIMEOUT »** dans le journal d’erreurs de gunicorn.
{"".join(line + chr(10) for line in failure_lines)}
{chr(10).join(table)}

Latences en millisecondes, côté client (file d’attente devant les 3 workers comprise) : sur 2 cœurs partagés, 3 workers synchrones sont le goulot ; les tuiles WMTS déjà en cache et les petites requêtes passent derrière les rendus WMS et les envois en cours.
"""
        path = common.write_section(f"## Charge mixte : {args.users} clients simultanés", section)
        print(f"Section écrite dans {path}")
    sys.exit(0 if errors == 0 and timeouts == 0 and run.returncode == 0 else 1)


def run_version():
    from importlib.metadata import version

    return version("locust")


if __name__ == "__main__":
    main()
