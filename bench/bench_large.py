"""Benchmark: a layer of a million cadastre-like parcels, each operation next to its bare tool.

    .venv/bin/python bench/bench_large.py [--parcels 1000000] [--rounds 2] [--only PART ...]
        [--tiles 40] [--no-doc] [--keep] [--json FIGURES.json] [--report FIGURES.json]

PART: import, wfs, export, mvt, wms (all by default; without import, the layer published by a
previous --keep run is reused). The GeoPackage comes from bench/parcel_dataset.py (generated into
var/bench/ once). In one run, with the machine's load noted before and after each part:
  - import: (a) bare `ogr2ogr -f PostgreSQL` with its defaults (COPY, spatial index kept up to
    date during the load), (b) the bare tool at its best (`-lco SPATIAL_INDEX=NONE`, then one
    CREATE INDEX … USING gist and ANALYZE), (c) `manage.py publish_layer`; the three alternate,
    --rounds times, the best of each is kept;
  - wfs: every page of 1,000 features, as QGIS asks them (WFS 2.0 GetFeature GML 3.2,
    COUNT=1000, STARTINDEX=0, 1000, …) through gunicorn (2 workers, timeout 120 s); every fid
    read once, in order; time per page at the start, middle and end, next to the bare SQL of
    the same page (keyset, and the OFFSET it replaces);
  - export: GeoJSON (f=geojson) and GeoPackage (f=gpkg) of the whole layer through gunicorn
    (1 worker), the worker's peak memory (VmHWM, /proc) before and after, next to the bare tool
    (COPY of ST_AsGeoJSON; ogr2ogr from PostGIS to GPKG);
  - mvt: z14 tiles over the layer (--tiles, drawn at random among those holding parcels) through
    gunicorn (one kept-alive connection), next to a bare ST_AsMVT query of the same tiles;
  - wms: GetMap of the whole layer (256 and 1,024 px, EPSG:2154 and EPSG:3857) in the default
    style, and in a style visible up to 1:25,000 only, under gunicorn's timeout.
Writes the figures into docs/benchmarks.md (section "Grande couche : un million de parcelles")
unless --only or --no-doc, and removes the layer unless --keep. --json adds each part's figures
(with its time and load) to a file as soon as it is measured, --report writes the section from
such a file (parts measured one after the other, e.g. again after a failure). Not a test: run it
on a quiet machine.
"""
import json
import argparse
import datetime
import http.client
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common
from common import (ROOT, drop_layer, fr, free_port, peak_rss_kib, start_gunicorn, timed_copy,
                    worker_pid, write_section)

common.setup_django()

from django.db import connection  # noqa: E402

from layers.models import AccessRule, Audience, ImportJob, Layer, Permission, Style  # noqa: E402
from layers.publishing.ogr import connection_string, environment  # noqa: E402
from layers.styles import default_definition  # noqa: E402
from layers.tables import DATA_SCHEMA, qualified  # noqa: E402
from parcel_dataset import ensure_dataset  # noqa: E402

LAYER = "bench_parcelles"
SCRATCH = "bench_large_scratch"
SECTION = "## Grande couche : un million de parcelles (`bench/bench_large.py`)"
PAGE = 1000
PARTS = ("import", "wfs", "export", "mvt", "wms")
COLUMNS = "fid, idu, commune, prefixe, section, numero, contenance, nature, arpente, created, updated"


def load():
    return " / ".join(fr(float(v), 2) for v in Path("/proc/loadavg").read_text().split()[:3])


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def timed_run(command, **kwargs):
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


# --- import ----------------------------------------------------------------------------------------
def scratch_schema():
    sql(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE')
    sql(f'CREATE SCHEMA "{SCRATCH}"')


def bare_default(path):
    scratch_schema()
    seconds = timed_run(["ogr2ogr", "-f", "PostgreSQL", connection_string(), str(path), "-nln",
                         "parcelles", "-lco", f"SCHEMA={SCRATCH}"], env=environment())
    # Dropped at once: autovacuum would otherwise work on its million new rows during the next
    # measure.
    sql(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE')
    return seconds


def bare_fast(path):
    scratch_schema()
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "PostgreSQL", connection_string(), str(path), "-nln",
                    "parcelles", "-lco", f"SCHEMA={SCRATCH}", "-lco", "SPATIAL_INDEX=NONE"],
                   check=True, env=environment(), stdout=subprocess.DEVNULL)
    sql(f'CREATE INDEX ON "{SCRATCH}".parcelles USING gist (geom)')
    sql(f'ANALYZE "{SCRATCH}".parcelles')
    seconds = time.perf_counter() - started
    sql(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE')
    return seconds


def publish(path):
    drop_layer(LAYER)
    ImportJob.objects.filter(layer_name=LAYER).delete()
    return timed_run([sys.executable, str(ROOT / "manage.py"), "publish_layer", str(path),
                      "--name", LAYER, "--no-progress"], cwd=ROOT)


def run_import(path, rounds):
    times = {"default": [], "fast": [], "publish": []}
    load_before = load()
    for number in range(rounds):
        for name, function in (("default", bare_default), ("fast", bare_fast),
                               ("publish", publish)):
            times[name].append(function(path))
            print(f"import {number + 1}/{rounds} {name}: {times[name][-1]:.1f} s", flush=True)
    sql(f'DROP SCHEMA IF EXISTS "{SCRATCH}" CASCADE')
    return {"times": times, "load": (load_before, load()), "bytes": path.stat().st_size}


def make_public():
    layer = Layer.objects.get(name=LAYER)
    AccessRule.objects.get_or_create(layer=layer, audience=Audience.PUBLIC,
                                     permission=Permission.DOWNLOAD)
    Style.objects.update_or_create(layer=layer, name="parcelles", defaults={
        "title": "Parcelles", "definition": default_definition(layer), "is_default": True})
    definition = dict(default_definition(layer), max_scale=25000)
    Style.objects.update_or_create(layer=layer, name="parcelles_25000", defaults={
        "title": "Parcelles jusqu'au 1:25 000", "definition": definition, "is_default": False})
    return Layer.objects.get(name=LAYER)


# --- HTTP ------------------------------------------------------------------------------------------
class Client:
    """One kept-alive HTTP/1.1 connection (reopened when the server closes it)."""

    def __init__(self, port):
        self.port, self.conn = port, None

    def get(self, path):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                started = time.perf_counter()
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, body, elapsed
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError


def gunicorn(workers, timeout=120):
    port = free_port()
    process = start_gunicorn(port, "--workers", str(workers), "--timeout", str(timeout),
                             timeout=60, ready_path="/healthz",
                             env=dict(os.environ, DJANGO_SETTINGS_MODULE="capgeo.settings"))
    return port, process


def stop(process):
    process.terminate()
    process.wait(30)


# --- WFS -------------------------------------------------------------------------------------------
def page_floor(keyset, position, after):
    """Seconds of the bare SQL of one GML page: keyset (fid > after) or OFFSET position."""
    where = f"WHERE fid > {int(after)} " if keyset else ""
    tail = "LIMIT 1000" if keyset else f"LIMIT 1000 OFFSET {int(position)}"
    statement = (f"SELECT {COLUMNS}, ST_AsGML(3, geom, 8, 1) FROM (SELECT * FROM "
                 f"{qualified(DATA_SCHEMA, LAYER)} {where}ORDER BY fid {tail}) q")
    started = time.perf_counter()
    sql(statement)
    return time.perf_counter() - started


def run_wfs(count):
    port, process = gunicorn(2)
    client = Client(port)
    load_before = load()
    durations, fids, starts_after = [], [], {}
    start = 0
    try:
        while True:
            status, body, elapsed = client.get(
                f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=capgeo:{LAYER}"
                f"&COUNT={PAGE}&STARTINDEX={start}")
            if status != 200:
                raise SystemExit(f"WFS page {start}: {status} {body[:300]!r}")
            ids = [int(n) for n in re.findall(rb'gml:id="' + LAYER.encode() + rb'\.(\d+)">', body)]
            starts_after[start] = fids[-1] if fids else 0
            durations.append(elapsed)
            fids += ids
            if len(ids) < PAGE:
                break
            start += PAGE
    finally:
        stop(process)
    load_after = load()
    pages = len(durations)
    in_order = fids == sorted(fids) and len(set(fids)) == len(fids) == count
    groups = {"début": range(0, 10), "milieu": range(pages // 2 - 5, pages // 2 + 5),
              "fin": range(pages - 11, pages - 1)}  # the last page is shorter
    rows = {}
    for name, indexes in groups.items():
        http_ms = statistics.median(durations[i] for i in indexes) * 1000
        keyset = statistics.median(page_floor(True, i * PAGE, starts_after[i * PAGE])
                                   for i in indexes) * 1000
        offset = statistics.median(page_floor(False, i * PAGE, 0) for i in list(indexes)[:3]) * 1000
        rows[name] = {"first": list(indexes)[0] * PAGE, "http": http_ms, "keyset": keyset,
                      "offset": offset}
    return {"pages": pages, "features": len(fids), "distinct": len(set(fids)), "in_order": in_order,
            "total": sum(durations), "rows": rows, "load": (load_before, load_after)}


# --- exports ---------------------------------------------------------------------------------------
def retried(function, *args):
    """function(*args), once more if another job on the shared cluster cut the connection."""
    import psycopg2
    from django.db import OperationalError

    try:
        return function(*args)
    except (OperationalError, psycopg2.OperationalError, subprocess.CalledProcessError):
        connection.close()
        return function(*args)


def run_export():
    port, process = gunicorn(1, timeout=120)
    load_before = load()
    worker = worker_pid(process.pid)
    client = Client(port)
    client.get("/healthz")
    results = {"rss_start": peak_rss_kib(worker)}
    try:
        for name in ("geojson", "gpkg"):
            for _attempt in range(3):
                status, body, elapsed = client.get(f"/api/layers/{LAYER}/features?f={name}")
                # Its database connection may be cut by another job on the shared cluster: a
                # 503 (GeoPackage) or a stream ended early (GeoJSON, already answering 200).
                complete = name != "geojson" or body.rstrip().endswith(b"]}")
                if status != 503 and complete:
                    break
                print(f"export {name}: {status}, {len(body)} bytes, cut: again", flush=True)
            if status != 200 or not complete:
                raise SystemExit(f"export {name}: {status} {body[:300]!r}")
            results[name] = {"seconds": elapsed, "bytes": len(body), "rss": peak_rss_kib(worker)}
            del body
            print(f"export {name}: {elapsed:.1f} s", flush=True)
    finally:
        stop(process)
    floor_seconds, floor_bytes = retried(timed_copy,
        f"SELECT ST_AsGeoJSON(t.*, 'geom', 7) FROM (SELECT {COLUMNS}, ST_Transform(geom, 4326) "
        f"AS geom FROM {qualified(DATA_SCHEMA, LAYER)} ORDER BY fid) t")
    results["geojson_floor"] = {"seconds": floor_seconds, "bytes": floor_bytes}
    target = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-large-{os.getpid()}.gpkg"
    target.unlink(missing_ok=True)
    def bare_gpkg():
        target.unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(target), connection_string(), "-sql",
                        f"SELECT {COLUMNS}, ST_Transform(geom, 4326) AS geom FROM "
                        f"{qualified(DATA_SCHEMA, LAYER)} ORDER BY fid", "-nln", LAYER],
                       check=True, env=environment())
        return time.perf_counter() - started

    results["gpkg_floor"] = {"seconds": retried(bare_gpkg), "bytes": target.stat().st_size}
    target.unlink()
    results["load"] = (load_before, load())
    return results


# --- MVT -------------------------------------------------------------------------------------------
def z14_tiles(count, seed=14):
    """count z14 tiles holding parcels (their centres, drawn at random among the layer's)."""
    rows = sql(f"SELECT DISTINCT floor((ST_X(p) + 20037508.342789244) / {2 * math.pi * 6378137 / 16384})"
               f"::int, floor((20037508.342789244 - ST_Y(p)) / {2 * math.pi * 6378137 / 16384})::int "
               f"FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 3857) AS p FROM "
               f"{qualified(DATA_SCHEMA, LAYER)} TABLESAMPLE SYSTEM (2) REPEATABLE (14)) s")
    tiles = sorted((int(x), int(y)) for x, y in rows)
    random.Random(seed).shuffle(tiles)
    return [(14, x, y) for x, y in tiles[:count]]


def bare_mvt(z, x, y):
    statement = (
        f"SELECT ST_AsMVT(q, '{LAYER}', 4096, 'geom', 'fid') FROM (SELECT {COLUMNS}, "
        f"ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true) "
        f"AS geom FROM {qualified(DATA_SCHEMA, LAYER)} t WHERE t.geom && ST_Transform("
        f"ST_TileEnvelope({z}, {x}, {y}, margin => 64.0 / 4096), 2154)) q WHERE q.geom IS NOT NULL")
    started = time.perf_counter()
    row = sql(statement)[0][0]
    return time.perf_counter() - started, len(bytes(row)) if row is not None else 0


def server_mvt(z, x, y):
    """The server's own tile query (wms.tiles.mvt), run alone on an open connection."""
    from django.contrib.auth.models import AnonymousUser

    from layers.access import AccessPolicy
    from wms.tiles.mvt import tile_sql

    statement, params = tile_sql(AccessPolicy.for_user(AnonymousUser()).source(LAYER), z, x, y)
    started = time.perf_counter()
    row = sql(statement, params)[0][0]
    return time.perf_counter() - started, len(bytes(row)) if row is not None else 0


def run_mvt(count):
    tiles = z14_tiles(count)
    port, process = gunicorn(2)
    client = Client(port)
    load_before = load()
    http_times, bare_times, http_bytes, bare_bytes = [], [], 0, 0
    own_times, own_bytes = [], 0
    try:
        for z, x, y in tiles[:3]:  # warm-up: cached decisions, pages in memory
            client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt")
            bare_mvt(z, x, y)
        for z, x, y in tiles:
            status, body, elapsed = client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt")
            if status not in (200, 204):  # a connection cut by another job: once more
                status, body, elapsed = client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt")
            if status not in (200, 204):
                raise SystemExit(f"MVT {z}/{x}/{y}: {status}")
            http_times.append(elapsed)
            http_bytes += len(body)
            seconds, size = retried(bare_mvt, z, x, y)
            bare_times.append(seconds)
            bare_bytes += size
            seconds, size = retried(server_mvt, z, x, y)
            own_times.append(seconds)
            own_bytes += size
    finally:
        stop(process)
    return {"tiles": len(tiles), "http": http_times, "bare": bare_times, "own": own_times,
            "http_bytes": http_bytes, "bare_bytes": bare_bytes, "own_bytes": own_bytes,
            "load": (load_before, load())}


# --- WMS -------------------------------------------------------------------------------------------
def run_wms(layer):
    port, process = gunicorn(2)
    client = Client(port)
    load_before = load()
    results = []
    boxes = {2154: layer.extent.extent, 3857: layer.extent_webmercator.extent}
    try:
        client.get("/healthz")
        for style in ("", "parcelles_25000"):
            for srid in (2154, 3857):
                for size in (256, 1024):
                    minx, miny, maxx, maxy = boxes[srid]
                    url = (f"/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={LAYER}"
                           f"&STYLES={style}&CRS=EPSG:{srid}&BBOX={minx},{miny},{maxx},{maxy}"
                           f"&WIDTH={size}&HEIGHT={size}&FORMAT=image/png")
                    status, body, elapsed = client.get(url)
                    if status != 200:  # a connection cut by another job: once more
                        status, body, elapsed = client.get(url)
                    if status != 200 or not body.startswith(b"\x89PNG"):
                        raise SystemExit(f"WMS {style} {srid} {size}: {status} {body[:300]!r}")
                    results.append({"style": style or "défaut (parcelles)", "srid": srid,
                                    "size": size,
                                    "seconds": elapsed, "bytes": len(body),
                                    "scale": (maxx - minx) / size / 0.00028})
                    print(f"wms {style or 'défaut'} {srid} {size}: {elapsed:.2f} s", flush=True)
        # The 1:25,000 style, zoomed in enough to be drawn: 1 km around the layer's centre.
        cx, cy = (boxes[2154][0] + boxes[2154][2]) / 2, (boxes[2154][1] + boxes[2154][3]) / 2
        status, body, elapsed = client.get(
            f"/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={LAYER}&STYLES=parcelles_25000"
            f"&CRS=EPSG:2154&BBOX={cx - 500},{cy - 500},{cx + 500},{cy + 500}&WIDTH=256"
            f"&HEIGHT=256&FORMAT=image/png")
        results.append({"style": "parcelles_25000", "srid": 2154, "size": 256, "seconds": elapsed,
                        "bytes": len(body), "scale": 1000 / 256 / 0.00028, "zoomed": True})
    finally:
        stop(process)
    return {"rows": results, "load": (load_before, load())}


# --- docs/benchmarks.md ----------------------------------------------------------------------------
def ms(value):
    return f"{fr(value, 1)} ms"


def write_doc(figures, info):
    lines = [
        SECTION, "",
        f"Mesuré le {figures['date']} par `bench/bench_large.py` (à relancer pour mettre à jour).",
        "",
        f"- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; "
        f"PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, {info['gdal']}, Python "
        f"{info['python']}. **Machine partagée** avec d'autres travaux : charge moyenne "
        "(1/5/15 min, `/proc/loadavg`) notée avant et après chaque partie ; les deux colonnes de "
        "chaque ligne sont mesurées dans la même exécution, l'une juste après l'autre.",
        f"- Données : `bench/parcel_dataset.py`, {fr(figures['parcels'], 0)} parcelles découpées "
        "dans les 15 communes réelles de Cap Atlantique (cellules de Voronoï de germes plus denses "
        "près des mairies, un sommet tous les 4 m puis déformées : 22 sommets en moyenne, 230 m² "
        "en médiane, 45 à 1 200 m² pour 90 % d'entre elles, attributs du cadastre), "
        "MultiPolygon en Lambert-93, GeoPackage de "
        f"{fr(figures.get('gpkg_bytes', 0) / 1024 ** 2, 0)} Mio.",
        "",
    ]
    imp = figures.get("import")
    if imp:
        best = {name: min(values) for name, values in imp["times"].items()}
        runs = "; ".join(f"{name} " + ", ".join(fr(v, 1) for v in values)
                         for name, values in imp["times"].items())
        lines += [
            "### Publication face à ogr2ogr", "",
            f"{imp.get('measured_at', '')} ; charge avant / après : {imp['load'][0]} → "
            f"{imp['load'][1]}. Meilleure de "
            f"{len(imp['times']['publish'])} exécutions alternées (toutes, en s : {runs}).", "",
            "| Opération | Durée | `publish_layer` / outil nu |",
            "|---|---|---|",
            f"| (a) `ogr2ogr -f PostgreSQL` nu, options par défaut (COPY, index spatial tenu "
            f"pendant le chargement) | {fr(best['default'], 1)} s | "
            f"**{fr(best['publish'] / best['default'], 2)}** |",
            f"| (b) `ogr2ogr` au mieux : `-lco SPATIAL_INDEX=NONE`, puis un `CREATE INDEX … "
            f"USING gist` et `ANALYZE` | {fr(best['fast'], 1)} s | "
            f"**{fr(best['publish'] / best['fast'], 2)}** (objectif : 1,5 au plus) |",
            f"| (c) `manage.py publish_layer` : chargement (COPY, sans index), empreinte SHA-256 "
            f"pendant le chargement, index GiST, un passage parallèle qui vérifie les géométries et "
            f"mesure nombre et emprises, bascule, catalogue, version | {fr(best['publish'], 1)} s "
            f"| |", "",
        ]
    wfs = figures.get("wfs")
    if wfs:
        verdict = "oui" if wfs["in_order"] else "**NON**"
        lines += [
            "### Pagination WFS comme QGIS (1 000 objets par page)", "",
            f"{wfs.get('measured_at', '')} ; charge avant / après : {wfs['load'][0]} → "
            f"{wfs['load'][1]}. GetFeature WFS 2.0, "
            f"GML 3.2, `COUNT=1000&STARTINDEX=0, 1000, …` par gunicorn (2 workers), une connexion "
            f"gardée ouverte : **{wfs['pages']} pages, {fr(wfs['features'], 0)} objets lus, "
            f"{fr(wfs['distinct'], 0)} distincts**, chacun une fois et dans l'ordre des fid : "
            f"{verdict} ; {fr(wfs['total'], 0)} s en tout. Médianes de 10 pages (SQL OFFSET : "
            "de 3) ; le SQL nu écrit les mêmes colonnes et le même GML (`ST_AsGML`), sans "
            "enveloppe.", "",
            "| Pages | HTTP (C@p Géo) | SQL nu, page par clé (`fid > dernier`) | HTTP / SQL nu | "
            "SQL nu par `OFFSET` (avant) |",
            "|---|---|---|---|---|",
        ]
        for name, row in wfs["rows"].items():
            lines.append(f"| {name} (STARTINDEX={fr(row['first'], 0)}) | {ms(row['http'])} | "
                         f"{ms(row['keyset'])} | {fr(row['http'] / row['keyset'], 2)} | "
                         f"{ms(row['offset'])} |")
        first, last = wfs["rows"]["début"]["http"], wfs["rows"]["fin"]["http"]
        lines += ["", f"Dernières pages / premières : **{fr(last / first, 2)}** par HTTP "
                  f"(temps plat : les pages qui se suivent reprennent après le dernier fid, "
                  f"`wms/wfs/paging.py`).", ""]
    exp = figures.get("export")
    if exp:
        mib = 1024 ** 2
        lines += [
            "### Exports de toute la couche", "",
            f"{exp.get('measured_at', '')} ; charge avant / après : {exp['load'][0]} → "
            f"{exp['load'][1]}. gunicorn, 1 worker ; "
            "mémoire du worker : pic (VmHWM) lu dans /proc.", "",
            "| Export | Durée | Octets | Outil nu | Rapport | Pic de mémoire du worker |",
            "|---|---|---|---|---|---|",
            f"| GeoJSON (`?f=geojson`, WGS 84) | {fr(exp['geojson']['seconds'], 1)} s | "
            f"{fr(exp['geojson']['bytes'] / mib, 0)} Mio | `COPY (SELECT ST_AsGeoJSON(…))` "
            f"{fr(exp['geojson_floor']['seconds'], 1)} s | "
            f"{fr(exp['geojson']['seconds'] / exp['geojson_floor']['seconds'], 2)} | "
            f"{fr(exp['rss_start'] / 1024, 0)} → {fr(exp['geojson']['rss'] / 1024, 0)} Mio |",
            f"| GeoPackage (`?f=gpkg`, WGS 84) | {fr(exp['gpkg']['seconds'], 1)} s | "
            f"{fr(exp['gpkg']['bytes'] / mib, 0)} Mio | `ogr2ogr -f GPKG` depuis PostGIS "
            f"{fr(exp['gpkg_floor']['seconds'], 1)} s | "
            f"{fr(exp['gpkg']['seconds'] / exp['gpkg_floor']['seconds'], 2)} | "
            f"→ {fr(exp['gpkg']['rss'] / 1024, 0)} Mio |", "",
            "La mémoire du worker ne suit pas la taille de l'export (lu par lots d'un curseur "
            "côté serveur ; le GeoPackage est écrit par ogr2ogr dans un fichier puis envoyé "
            "par morceaux).", "",
        ]
    mvt = figures.get("mvt")
    if mvt:
        http_median = statistics.median(mvt["http"]) * 1000
        bare_median = statistics.median(mvt["bare"]) * 1000
        own_median = statistics.median(mvt["own"]) * 1000
        lines += [
            "### Tuiles vectorielles z14", "",
            f"{mvt.get('measured_at', '')} ; charge avant / après : {mvt['load'][0]} → "
            f"{mvt['load'][1]}. {mvt['tiles']} tuiles "
            "z14 tirées parmi celles qui portent des parcelles, l'une après l'autre : "
            "`GET /tiles/…/14/x/y.mvt` (gunicorn, 2 workers, connexion gardée) puis la même "
            "tuile par une requête `ST_AsMVT` nue (`ST_AsMVTGeom(ST_Transform(geom, 3857), "
            "ST_TileEnvelope(…))`, mêmes colonnes, sans simplification), puis la requête du serveur "
            "seule (`wms/tiles/mvt.py`, sur une connexion ouverte).", "",
            "| | C@p Géo (HTTP) | `ST_AsMVT` nu | HTTP / nu | requête du serveur seule | "
            "HTTP / requête seule |", "|---|---|---|---|---|---|",
            f"| médiane par tuile | {ms(http_median)} | {ms(bare_median)} | "
            f"**{fr(http_median / bare_median, 2)}** (objectif : 1,5 au plus) | {ms(own_median)} | "
            f"{fr(http_median / own_median, 2)} |",
            f"| total | {fr(sum(mvt['http']), 2)} s | {fr(sum(mvt['bare']), 2)} s | "
            f"{fr(sum(mvt['http']) / sum(mvt['bare']), 2)} | {fr(sum(mvt['own']), 2)} s | "
            f"{fr(sum(mvt['http']) / sum(mvt['own']), 2)} |",
            f"| octets | {fr(mvt['http_bytes'] / 1024, 0)} Kio | "
            f"{fr(mvt['bare_bytes'] / 1024, 0)} Kio | | {fr(mvt['own_bytes'] / 1024, 0)} Kio | |",
            "",
            "C@p Géo simplifie à la résolution de la tuile avant de reprojeter "
            "(`ST_Simplify(geom, tolérance, true)`) : un peu moins d'octets que la requête nue.", "",
        ]
    wms = figures.get("wms")
    if wms:
        lines += [
            "### WMS GetMap de toute la couche", "",
            f"{wms.get('measured_at', '')} ; charge avant / après : {wms['load'][0]} → "
            f"{wms['load'][1]}. gunicorn (2 workers, "
            "délai de 120 s) ; une requête de chaque.", "",
            "| Style | CRS | Image | Échelle | Durée | Octets |", "|---|---|---|---|---|---|",
        ]
        for row in wms["rows"]:
            where = " (1 km autour du centre)" if row.get("zoomed") else ""
            lines.append(f"| {row['style']} | EPSG:{row['srid']} | {row['size']} px{where} | "
                         f"1:{fr(row['scale'], 0)} | {fr(row['seconds'], 2)} s | "
                         f"{fr(row['bytes'] / 1024, 0)} Kio |")
        lines += ["", "Le style `parcelles_25000` n'est visible que jusqu'au 1:25 000 "
                  "(`max_scale`) : à toute l'emprise, rien n'est lu ni dessiné.", ""]
    return write_section(SECTION, "\n".join(lines))


def save(path, figures):
    if path:
        Path(path).write_text(json.dumps(figures, indent=1), encoding="utf-8")


def machine_info():
    info = common.machine()
    info["gdal"] = subprocess.run(["ogr2ogr", "--version"], capture_output=True,
                                  text=True).stdout.strip().split(",")[0]
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tiles", type=int, default=40)
    parser.add_argument("--only", nargs="+", choices=PARTS)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the published layer")
    parser.add_argument("--json", help="add each part's figures to this file")
    parser.add_argument("--report", help="write docs/benchmarks.md from this file and exit")
    args = parser.parse_args()
    if args.report:
        figures = json.loads(Path(args.report).read_text(encoding="utf-8"))
        print(f"écrit dans {write_doc(figures, machine_info())}")
        return figures
    parts = args.only or PARTS
    path = ensure_dataset(args.parcels)
    figures = {}
    if args.json and Path(args.json).exists():
        figures = json.loads(Path(args.json).read_text(encoding="utf-8"))
    figures.update({"date": f"{datetime.datetime.now(datetime.timezone.utc):%d/%m/%Y %H:%M} UTC",
                    "parcels": args.parcels, "gpkg_bytes": path.stat().st_size})
    try:
        if "import" in parts:
            figures["import"] = run_import(path, args.rounds)
            figures["import"]["measured_at"] = \
                f"{datetime.datetime.now(datetime.timezone.utc):%H:%M} UTC"
            save(args.json, figures)
        layer = make_public()
        runs = {"wfs": lambda: run_wfs(layer.feature_count), "export": run_export,
                "mvt": lambda: run_mvt(args.tiles), "wms": lambda: run_wms(layer)}
        for part in PARTS[1:]:
            if part in parts:
                figures[part] = runs[part]()
                figures[part]["measured_at"] = \
                    f"{datetime.datetime.now(datetime.timezone.utc):%H:%M} UTC"
                save(args.json, figures)
                print(part, {k: v for k, v in figures[part].items()
                             if not isinstance(v, list)}, flush=True)
        if not args.no_doc and not args.only:
            print(f"écrit dans {write_doc(figures, machine_info())}")
        elif not args.no_doc:
            print("--only : rien n'est écrit dans docs/benchmarks.md")
    finally:
        if not args.keep:
            drop_layer(LAYER)
            ImportJob.objects.filter(layer_name=LAYER).delete()
    return figures


if __name__ == "__main__":
    main()
