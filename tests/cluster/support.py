"""Clients and operator actions for the cluster tests (tests/cluster/conftest.py)."""
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "demo-capgeo"
ADMIN = ("admin.sig", PASSWORD)
READER = ("lecteur", PASSWORD)
GUERANDE = "44069"
# The territory, for random map boxes (Lambert-93).
TERRITORY = (270000.0, 6690000.0, 310000.0, 6720000.0)

NS = ('xmlns:wfs="http://www.opengis.net/wfs" xmlns:ogc="http://www.opengis.net/ogc" '
      'xmlns:gml="http://www.opengis.net/gml" xmlns:capgeo="https://capgeo.cap-atlantique.fr/wfs"')
ZONES = "zones_activite"


def env_port(name, default):
    return int(os.environ.get(name) or default)


class Cluster:
    def __init__(self):
        pg_port = env_port("CAPGEO_PG_PORT", 55432)
        self.lb = f"http://127.0.0.1:{env_port('CAPGEO_LB_PORT', 8100)}"
        self.app_ports = [int(p) for p in os.environ.get("CAPGEO_APP_PORTS", "8101 8102").split()]
        self.apps = [f"http://127.0.0.1:{port}" for port in self.app_ports]
        self.replica_port = env_port("CAPGEO_REPLICA_PORT", pg_port + 1)
        self.redis_port = env_port("CAPGEO_REDIS_PORT", 56379)
        self.replica_data = VAR / "pg-replica" / "data"

    # --- state ---------------------------------------------------------------------------------
    def health(self, base=None):
        response = requests.get(f"{base or self.lb}/healthz", timeout=10)
        return response.status_code, response.json()

    def topology(self):
        path = VAR / "cluster" / "topology"
        return path.read_text().strip() if path.exists() else "normal"

    def app_pid(self, port):
        path = VAR / "cluster" / f"app-{port}.pid"
        return int(path.read_text()) if path.exists() else None

    def app_alive(self, port):
        pid = self.app_pid(port)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    def wait_until(self, what, predicate, timeout=90):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except (requests.RequestException, ValueError) as error:
                last = error
            time.sleep(0.5)
        raise AssertionError(f"{what}: not after {timeout} s ({last})")

    def replica_ok(self, base):
        status, body = self.health(base)
        return status == 200 and body.get("replica", {}).get("state") == "ok"

    def wait_healthy(self):
        for base in self.apps:
            self.wait_until(f"{base} healthy with its replica", lambda b=base: self.replica_ok(b))
        self.wait_until("HAProxy", lambda: self.health()[0] == 200)

    def restore(self):
        """Every app server up and the replica streaming, as ./run.sh cluster start leaves them."""
        if self.topology() != "normal":
            self.run_sh("cluster", "failback")
        if not all(self.app_alive(port) for port in self.app_ports) or not self.replica_running():
            self.run_sh("cluster", "start")
        self.wait_healthy()
        # HAProxy marks a restarted server up after two checks.
        time.sleep(2.5)

    def run_sh(self, *args, timeout=900):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CAPGEO_CLUSTER")}
        result = subprocess.run([str(ROOT / "run.sh"), *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 0, f"./run.sh {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    # --- operator actions ----------------------------------------------------------------------
    def kill_app(self, port):
        """kill -9 an app server: its gunicorn master and every worker, as a machine would die."""
        master = self.app_pid(port)
        pids = [master] + children(master)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def as_postgres(self, *command):
        if os.geteuid() == 0:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            command = (runuser, "-u", "postgres", "--", *command)
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def replica_running(self):
        return self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.replica_data),
                                "status").returncode == 0

    def stop_replica(self):
        result = self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.replica_data), "-m",
                                  "fast", "-w", "stop")
        assert result.returncode == 0, result.stderr

    def start_replica(self):
        result = self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.replica_data), "-l",
                                  str(VAR / "pg-replica" / "postgresql.log"), "-w", "start")
        assert result.returncode == 0, result.stderr

    def replica_sql(self, sql):
        result = self.as_postgres(str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                                  str(VAR / "pg-replica" / "run"), "-p", str(self.replica_port),
                                  "-U", "postgres", "-d", "postgres", "-c", sql)
        assert result.returncode == 0, result.stderr

    def delay_replica(self, delay):
        """Hold back the replica's replay by delay (e.g. "2s"), or no more with None: a replica
        lagging behind the primary, as a busy one does."""
        if delay is None:
            self.replica_sql("ALTER SYSTEM RESET recovery_min_apply_delay")
        else:
            self.replica_sql(f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'")
        self.replica_sql("SELECT pg_reload_conf()")

    def redis(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.redis_port)


def children(pid):
    """The processes whose parent is pid (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


# --- WFS ---------------------------------------------------------------------------------------
def square(x, y, half):
    ring = [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half),
            (x - half, y - half)]
    return " ".join(f"{a} {b}" for a, b in ring)


def insert_zone(base, nom, x, y, half=200.0, auth=ADMIN, timeout=30):
    """WFS-T 1.1.0 Insert of a square zone; returns its fid (an int)."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" version="1.1.0" '
            f'{NS}><wfs:Insert><capgeo:{ZONES}><capgeo:nom>{nom}</capgeo:nom>'
            f'<capgeo:code_insee>{GUERANDE}</capgeo:code_insee><capgeo:geom>'
            f'<gml:Polygon srsName="urn:ogc:def:crs:EPSG::2154"><gml:exterior><gml:LinearRing>'
            f'<gml:posList srsDimension="2">{square(x, y, half)}</gml:posList></gml:LinearRing>'
            f'</gml:exterior></gml:Polygon></capgeo:geom></capgeo:{ZONES}></wfs:Insert>'
            f'</wfs:Transaction>')
    response = requests.post(f"{base}/ows", data=body.encode(), auth=auth, timeout=timeout,
                             headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text[:500]
    root = ET.fromstring(response.content)
    fids = [e.get("fid") for e in root.iter("{http://www.opengis.net/ogc}FeatureId")]
    assert len(fids) == 1, response.text[:500]
    return int(fids[0].split(".")[1])


def delete_zones(base, fids, auth=ADMIN):
    if not fids:
        return
    filters = "".join(f'<ogc:FeatureId fid="{ZONES}.{fid}"/>' for fid in fids)
    body = (f'<?xml version="1.0" encoding="UTF-8"?><wfs:Transaction service="WFS" version="1.1.0" '
            f'{NS}><wfs:Delete typeName="capgeo:{ZONES}"><ogc:Filter>{filters}</ogc:Filter>'
            f'</wfs:Delete></wfs:Transaction>')
    response = requests.post(f"{base}/ows", data=body.encode(), auth=auth, timeout=60,
                             headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text[:500]


def zone_ids(base, fids, auth=ADMIN):
    """The ids among fids that a WFS 2.0 GetFeature (RESOURCEID) returns."""
    found = set()
    fids = list(fids)
    for start in range(0, len(fids), 50):
        chunk = fids[start:start + 50]
        response = requests.get(f"{base}/ows", auth=auth, timeout=60, params={
            "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": ZONES,
            "RESOURCEID": ",".join(f"{ZONES}.{fid}" for fid in chunk),
            "OUTPUTFORMAT": "application/json"})
        assert response.status_code == 200, response.text[:500]
        found |= {int(f["id"].split(".")[1]) for f in response.json()["features"]}
    return found


# --- tiles -------------------------------------------------------------------------------------
def webmercator_tile(x2154, y2154, z):
    """(column, row) of the GoogleMapsCompatible tile holding a Lambert-93 point."""
    from pyproj import Transformer

    x, y = Transformer.from_crs(2154, 3857, always_xy=True).transform(x2154, y2154)
    size = 2 * 20037508.342789244 / 2 ** z
    return int((x + 20037508.342789244) // size), int((20037508.342789244 - y) // size)


def wmts_tile(base, layer, z, column, row):
    response = requests.get(f"{base}/mapproxy/wmts/{layer}/default/GoogleMapsCompatible/"
                            f"{z}/{column}/{row}.png", timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png", \
        response.text[:300]
    return response.content


# --- load --------------------------------------------------------------------------------------
class Load:
    """N concurrent clients (threads) sending WMS GetMap and WFS GetFeature requests through
    HAProxy until stopped. A request that fails (connection cut, 5xx, wrong answer) is sent once
    more, as QGIS or a web map would; `failures` are those that failed twice."""

    def __init__(self, base, clients=40):
        self.base, self.clients = base, clients
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.retried = []
        self.failures = []
        self.by_kind = {"wms": 0, "wfs": 0}
        self.threads = []

    def _request(self, rng):
        minx = rng.uniform(TERRITORY[0], TERRITORY[2] - 5000)
        miny = rng.uniform(TERRITORY[1], TERRITORY[3] - 5000)
        box = f"{minx},{miny},{minx + 5000},{miny + 5000}"
        if rng.random() < 0.5:
            return "wms", {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
                           "LAYERS": "communes,zones_activite", "STYLES": "", "CRS": "EPSG:2154",
                           "BBOX": box, "WIDTH": "256", "HEIGHT": "256", "FORMAT": "image/png"}, \
                "image/png"
        return "wfs", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                       "TYPENAMES": "communes", "COUNT": "20", "BBOX": box + ",EPSG:2154",
                       "OUTPUTFORMAT": "application/json"}, "application/geo+json"

    def _once(self, params, content_type):
        try:
            response = requests.get(f"{self.base}/ows", params=params, timeout=60)
            body = response.content
        except requests.RequestException as error:
            return f"{error.__class__.__name__}: {str(error)[:200]}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {body[:200]!r}"
        if not response.headers.get("Content-Type", "").startswith(content_type):
            return f"{response.headers.get('Content-Type')}: {body[:200]!r}"
        if content_type == "application/geo+json":
            try:
                json.loads(body)
            except ValueError:
                return f"truncated JSON ({len(body)} bytes)"
        elif not body.startswith(b"\x89PNG"):
            return "not a PNG"
        return None

    def _client(self, seed):
        rng = random.Random(seed)
        while not self.stop_event.is_set():
            kind, params, content_type = self._request(rng)
            error = self._once(params, content_type)
            if error is not None:
                with self.lock:
                    self.retried.append(error)
                error = self._once(params, content_type)
            with self.lock:
                if error is None:
                    self.ok += 1
                    self.by_kind[kind] += 1
                else:
                    self.failures.append(error)

    def __enter__(self):
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def count(self):
        with self.lock:
            return self.ok
