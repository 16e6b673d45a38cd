"""Benchmark: WMS GetMap 256×256 PNG, C@p Géo (Mapnik) vs MapServer 8, on two layers.

    .venv/bin/python bench/bench_wms.py [--polygons 100000] [--communes 35000]
        [--dense-runs 60] [--sparse-runs 400] [--z8-runs 100] [--z12-runs 400]
        [--only petits|communes] [--case TEXT] [--keep] [--no-doc]

Needs the Debian packages of the MapServer side (the C@p Géo side needs nothing more; nothing of
this is needed by the tests or CI):

    apt-get install -y --no-install-recommends mapserver-bin cgi-mapserver spawn-fcgi nginx

Creates two public catalogue layers:
  - 35,000 commune-like polygons of real shape tiling metropolitan France (Voronoi cells of random
    points, a vertex every 60 m along their boundaries then moved by a smooth displacement field:
    ~265 vertices and ~15 km² each, boundaries shared between neighbours), generated with shapely;
  - 100,000 small polygons (8 to 24 vertices, 15 to 60 m) in Cap Atlantique's extent, generated
    in SQL;
then serves them, in the same run, from:
  (a) C@p Géo: gunicorn, 2 sync workers, /ows?SERVICE=WMS (its built-in default style);
  (b) MapServer 8 (`mapserv` as FastCGI: 2 processes started by spawn-fcgi behind nginx, PostGIS
      connection kept open with CLOSE_CONNECTION=DEFER), same tables (Lambert-93 `geom`,
      reprojected by MapServer), same colours (fill #3a87c8 at 80 % opacity, 1 px #1d4f7a
      outline), AGG PNG 32 bits.
Two client threads, each on its own kept-alive HTTP connection, ask for 256×256 PNGs:
  - communes in EPSG:3857: XYZ tiles lying wholly in France at z8 (~110 km, ~700 polygons a tile)
    and z12 (~7 km); in EPSG:2154: square boxes of the same ground area at the same places;
  - small polygons in EPSG:2154: the whole extent (dense) and ~600 m boxes (sparse).
The same box lists for both servers. Prints requests/s, median, p95 and the processor time per
request of each server's processes and of their PostgreSQL backends (read from /proc), writes
them with the machine and its load into docs/benchmarks.md (unless --only/--case/--no-doc) and
removes the layers (unless --keep, which also reuses them). Not a test: run it on a quiet machine.
"""
import argparse
import datetime
import http.client
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import common
from common import drop_layer, fr, free_port, median_p95_ms, territory_extent, wait_for, write_section

common.setup_django()

from django.db import connection  # noqa: E402

from layers.models import AccessRule, Audience, Layer, Permission, Theme  # noqa: E402
from layers.styles import DEFAULT_FILL, DEFAULT_STROKE  # noqa: E402
from layers.tables import (DATA_SCHEMA, create_table, finish_table, qualified,  # noqa: E402
                           refresh_layer_metadata)

LAYER_NAME = "bench_wms_polygones"
SECTION = "## WMS GetMap 256×256 : communes de forme réelle et petits polygones, face à MapServer"
SPARSE_SPAN = 600.0
CLIENTS = 2


def create_layer(polygons):
    """N irregular polygons (8 to 24 vertices, 15 to 60 m across) with two attributes."""
    xmin, ymin, xmax, ymax = territory_extent()
    layer = Layer.objects.create(name=LAYER_NAME, title="Banc WMS", theme=Theme.objects.first())
    create_table(DATA_SCHEMA, LAYER_NAME, [("numero", "integer"), ("nature", "text")], "POLYGON")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {qualified(DATA_SCHEMA, LAYER_NAME)} (numero, nature, geom)
            SELECT i, (ARRAY['bâti', 'jardin', 'voirie', 'eau'])[1 + i %% 4],
                   ST_SetSRID(ST_Buffer(ST_MakePoint(%s + random() * %s, %s + random() * %s),
                                        7.5 + random() * 22.5, 2 + (i %% 5)), 2154)
            FROM generate_series(1, %s) AS i
            """,
            [xmin, xmax - xmin, ymin, ymax - ymin, polygons],
        )
        finish_table(cursor, DATA_SCHEMA, LAYER_NAME)
    refresh_layer_metadata(layer)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    return layer


COMMUNES_NAME = "bench_wms_communes"
# A coarse outline of metropolitan France in Lambert-93 (~540,000 km²), where the cells are drawn.
FRANCE_OUTLINE = [
    (655000, 7110000), (720000, 7060000), (830000, 6990000), (930000, 6940000), (1080000, 6880000),
    (1030000, 6730000), (950000, 6570000), (1000000, 6450000), (1030000, 6340000),
    (1070000, 6300000), (940000, 6230000), (890000, 6250000), (820000, 6270000), (700000, 6200000),
    (700000, 6150000), (600000, 6180000), (450000, 6200000), (330000, 6260000), (360000, 6400000),
    (380000, 6570000), (300000, 6690000), (230000, 6760000), (150000, 6840000), (250000, 6880000),
    (360000, 6960000), (490000, 6940000), (600000, 7020000)]
VERTEX_SPACING = 60.0  # m between the vertices of a boundary, before the noise


def commune_cells(count, seed=2154):
    """`count` commune-like polygons tiling metropolitan France (Lambert-93 WKB): Voronoi cells of
    random points (denser towards the north-east, as communes are), a vertex every 60 m along
    their boundaries (~265 vertices a cell, ~15 km² each), then every vertex moved by a smooth
    displacement field (wavelengths of 2.5 km, 600 m and 150 m): wiggly boundaries that stay
    shared between neighbours (the field depends only on the position) and valid polygons."""
    import numpy
    import shapely

    outline = shapely.Polygon(FRANCE_OUTLINE)
    generator = numpy.random.default_rng(seed)
    minx, miny, maxx, maxy = outline.bounds
    found, total = [], 0
    while total < count:
        xy = generator.uniform((minx, miny), (maxx, maxy), (20000, 2))
        density = 0.35 + 0.325 * ((xy[:, 0] - minx) / (maxx - minx)
                                  + (xy[:, 1] - miny) / (maxy - miny))
        xy = xy[(generator.uniform(size=len(xy)) < density)
                & shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]
        found.append(xy)
        total += len(xy)
    points = shapely.multipoints(numpy.concatenate(found)[:count])
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(points, extend_to=outline)), outline)
    cells = shapely.segmentize(cells[shapely.get_type_id(cells) == 3], VERTEX_SPACING)

    def wiggle(coords):
        x, y = coords[:, 0], coords[:, 1]
        tau = 2 * numpy.pi
        dx = (100 * numpy.sin(x / 2500 * tau * 0.7 + y / 2500) + 25 * numpy.sin(y / 600 * tau)
              + 6 * numpy.sin((x + y) / 150 * tau))
        dy = (100 * numpy.cos(y / 2500 * tau * 0.8 - x / 3000) + 25 * numpy.cos(x / 600 * tau)
              + 6 * numpy.cos((x - y) / 150 * tau))
        return numpy.column_stack([x + dx, y + dy])

    cells = shapely.set_srid(shapely.transform(cells, wiggle), 2154)
    return shapely.to_wkb(cells[shapely.is_valid(cells)], hex=True, include_srid=True)


def create_commune_layer(count):
    """A public layer of `count` commune-like polygons (hundreds of vertices each)."""
    import io

    layer = Layer.objects.create(name=COMMUNES_NAME, title="Banc WMS communes",
                                 theme=Theme.objects.first())
    create_table(DATA_SCHEMA, COMMUNES_NAME, [("code", "text"), ("nom", "text"),
                                               ("population", "integer")], "POLYGON")
    rows = io.StringIO()
    for number, wkb in enumerate(commune_cells(count), start=1):
        rows.write(f"{number:05d}\tCommune {number}\t{(number * 7919) % 20000}\t{wkb}\n")
    rows.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {qualified(DATA_SCHEMA, COMMUNES_NAME)} "
                           f"(code, nom, population, geom) FROM STDIN", rows)
        finish_table(cursor, DATA_SCHEMA, COMMUNES_NAME)
    refresh_layer_metadata(layer)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    return layer


def hex_rgb(colour):
    return " ".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5))


def map_layer(name, conninfo):
    return f"""  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{conninfo}"
    DATA "geom from (select fid, geom from {DATA_SCHEMA}.{name}) as sub using unique fid using srid=2154"
    PROCESSING "CLOSE_CONNECTION=DEFER"
    PROJECTION "init=epsg:2154" END
    METADATA "wms_title" "bench" END
    CLASS
      STYLE
        COLOR {hex_rgb(DEFAULT_FILL)}
        OPACITY 80
      END
      STYLE
        OUTLINECOLOR {hex_rgb(DEFAULT_STROKE)}
        WIDTH 1
      END
    END
  END
"""


def mapfile(extent, names):
    database = connection.settings_dict
    conninfo = " ".join(f"{key}={value}" for key, value in (
        ("host", database.get("HOST") or "127.0.0.1"), ("port", database.get("PORT") or 5432),
        ("dbname", database["NAME"]), ("user", database.get("USER")),
        ("password", database.get("PASSWORD"))) if value)
    minx, miny, maxx, maxy = extent
    layers = "".join(map_layer(name, conninfo) for name in names)
    return f"""MAP
  NAME "bench"
  EXTENT {minx} {miny} {maxx} {maxy}
  SIZE 256 256
  MAXSIZE 4096
  IMAGECOLOR 255 255 255
  PROJECTION "init=epsg:2154" END
  OUTPUTFORMAT
    NAME "png"
    DRIVER AGG/PNG
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    FORMATOPTION "GAMMA=0.75"
  END
  WEB
    METADATA
      "wms_title" "bench"
      "wms_srs" "EPSG:2154 EPSG:3857 EPSG:4326"
      "wms_enable_request" "*"
      "wms_onlineresource" "http://127.0.0.1/"
    END
  END
{layers}END
"""


NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  fastcgi_temp_path {dir}/fastcgi;
  proxy_temp_path {dir}/proxy;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 100000;
  upstream mapserv {{ server 127.0.0.1:{fcgi}; keepalive 4; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      include /etc/nginx/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass mapserv;
    }}
  }}
}}
"""


def start_mapserver(port, workdir, extent, names):
    for program in ("mapserv", "spawn-fcgi", "nginx"):
        if not shutil.which(program) and not Path("/usr/sbin", program).exists():
            raise SystemExit(f"« {program} » manque : apt-get install -y --no-install-recommends "
                             "mapserver-bin cgi-mapserver spawn-fcgi nginx")
    (workdir / "bench.map").write_text(mapfile(extent, names))
    # MapServer 8 reads a configuration file first; it names the mapfile served.
    (workdir / "mapserver.conf").write_text(
        f'CONFIG\n  ENV\n    MS_MAPFILE "{workdir / "bench.map"}"\n'
        f'    PROJ_LIB "/usr/share/proj"\n  END\nEND\n')
    fcgi = free_port()
    env = {**os.environ, "MAPSERVER_CONFIG_FILE": str(workdir / "mapserver.conf")}
    # spawn-fcgi forks the 2 mapserv processes (sharing the socket) and exits: keep their ids.
    spawned = subprocess.run(
        ["spawn-fcgi", "-a", "127.0.0.1", "-p", str(fcgi), "-F", "2", "--",
         shutil.which("mapserv")], env=env, capture_output=True, text=True, timeout=30)
    children = [int(pid) for pid in re.findall(r"PID: (\d+)", spawned.stdout + spawned.stderr)]
    if len(children) != 2:
        raise SystemExit("spawn-fcgi : " + spawned.stdout + spawned.stderr)
    wait_for(fcgi, None, "mapserv (spawn-fcgi)")
    (workdir / "nginx.conf").write_text(NGINX_CONF.format(dir=workdir, fcgi=fcgi, port=port))
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(workdir),
                              "-c", str(workdir / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port, nginx, "nginx")
    return [nginx, *(Spawned(pid) for pid in children)]


class Spawned:
    """A process started by spawn-fcgi (not our child): stopped by its id."""

    def __init__(self, pid):
        self.pid = pid

    def terminate(self):
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise subprocess.TimeoutExpired("mapserv", timeout)

    def kill(self):
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass


def getmap_path(prefix, layer, srid, box):
    return prefix + urlencode({
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer,
        "STYLES": "", "CRS": f"EPSG:{srid}", "BBOX": ",".join(f"{v:.2f}" for v in box),
        "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png"})


def client(port, paths, durations, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for path in paths:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        durations.append(time.perf_counter() - started)
        if response.status != 200 or not body.startswith(b"\x89PNG"):
            errors.append((response.status, body[:1000]))
    conn.close()


# --- processor time -------------------------------------------------------------------------------
def descendants(pid):
    """pid and its children's ids (gunicorn's workers, nginx's worker)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def database_backends(pids):
    """Ids of the PostgreSQL backends serving these processes: their sockets' local ports, read
    from /proc, matched with pg_stat_activity.client_port."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, client_port FROM pg_stat_activity "
                       "WHERE client_port IS NOT NULL")
        return [pid for pid, port in cursor.fetchall() if port in ports]


def cpu_seconds(pids):
    """User + system processor time used so far by these processes (seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def run(port, paths_per_client, server_pids=()):
    """Requests/s, median and p95 of the paths asked by parallel clients; with server_pids, the
    processor time per request of those processes and of their PostgreSQL backends."""
    durations, errors, threads = [], [], []
    pids = [*server_pids, *database_backends(server_pids)] if server_pids else []
    cpu_before = cpu_seconds(pids)
    started = time.perf_counter()
    for paths in paths_per_client:
        thread = threading.Thread(target=client, args=(port, paths, durations, errors))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"erreurs : {errors[:3]}")
    cpu = (cpu_seconds(pids) - cpu_before) / len(durations) * 1000 if pids else None
    return {"rps": len(durations) / elapsed, **median_p95_ms(durations), "count": len(durations),
            "cpu": cpu}


def machine():
    from importlib.metadata import version

    mapserver = subprocess.run(["mapserv", "-v"], capture_output=True, text=True).stdout.split()
    return {**common.machine(), "mapnik": version("mapnik"),
            "mapserver": mapserver[2] if len(mapserver) > 2 else "?"}


# --- the boxes asked for --------------------------------------------------------------------------
WORLD = 2 * 20037508.342789244  # width of the Web Mercator square


def outline_3857():
    import shapely
    from django.contrib.gis.geos import Polygon

    outline = Polygon([*FRANCE_OUTLINE, FRANCE_OUTLINE[0]], srid=2154)
    outline.transform(3857)
    return shapely.from_wkb(bytes(outline.wkb))


def mercator_tiles(zoom, count, seed):
    """Up to `count` Web Mercator tiles of `zoom` (XYZ grid) lying wholly inside the communes'
    outline, in a fixed random order: boxes full of polygons, as a web map over France asks."""
    import shapely

    outline, size = outline_3857(), WORLD / 2 ** zoom
    minx, miny, maxx, maxy = outline.bounds
    columns = range(int((minx + WORLD / 2) // size), int((maxx + WORLD / 2) // size) + 1)
    rows = range(int((WORLD / 2 - maxy) // size), int((WORLD / 2 - miny) // size) + 1)
    tiles = [(-WORLD / 2 + i * size, WORLD / 2 - (j + 1) * size,
              -WORLD / 2 + (i + 1) * size, WORLD / 2 - j * size) for i in columns for j in rows]
    if len(tiles) > 20 * count:  # high zooms: sample before testing each tile
        tiles = random.Random(seed).sample(tiles, 20 * count)
    tiles = [tile for tile in tiles if outline.contains(shapely.box(*tile))]
    random.Random(seed).shuffle(tiles)
    return tiles[:count]


def lambert_boxes(tiles):
    """The same places in Lambert-93: square boxes of the same ground area around each tile's
    centre (a Web Mercator tile is not square in Lambert-93)."""
    from django.contrib.gis.geos import Polygon

    boxes = []
    for tile in tiles:
        polygon = Polygon.from_bbox(tile)
        polygon.srid = 3857
        polygon.transform(2154)
        centre, half = polygon.centroid, polygon.area ** 0.5 / 2
        boxes.append((centre.x - half, centre.y - half, centre.x + half, centre.y + half))
    return boxes


def small_cases(extent, dense_runs, sparse_runs):
    generator = random.Random(2154)
    minx, miny, maxx, maxy = extent
    sparse = []
    for _ in range(200):
        x = generator.uniform(minx, maxx - SPARSE_SPAN)
        y = generator.uniform(miny, maxy - SPARSE_SPAN)
        sparse.append((x, y, x + SPARSE_SPAN, y + SPARSE_SPAN))
    return [("petits", "dense : toute l'emprise", LAYER_NAME, 2154, [extent], dense_runs),
            ("petits", "clairsemé : ~600 m", LAYER_NAME, 2154, sparse, sparse_runs)]


def commune_cases(z8_runs, z12_runs):
    z8, z12 = mercator_tiles(8, 40, 8), mercator_tiles(12, 200, 12)
    return [("communes", "EPSG:3857, z8", COMMUNES_NAME, 3857, z8, z8_runs),
            ("communes", "EPSG:3857, z12", COMMUNES_NAME, 3857, z12, z12_runs),
            ("communes", "EPSG:2154, z8 (mêmes lieux)", COMMUNES_NAME, 2154, lambert_boxes(z8),
             z8_runs),
            ("communes", "EPSG:2154, z12 (mêmes lieux)", COMMUNES_NAME, 2154, lambert_boxes(z12),
             z12_runs)]


def polygons_per_box(name, srid, boxes):
    """Mean number of polygons a box of the list intersects (read in PostGIS)."""
    with connection.cursor() as cursor:
        counts = []
        for box in boxes[:20]:
            cursor.execute(
                f"SELECT count(*) FROM {qualified(DATA_SCHEMA, name)} WHERE ST_Intersects(geom, "
                f"ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s), 2154))",
                [*box, srid, (box[2] - box[0]) / 32])
            counts.append(cursor.fetchone()[0])
    return sum(counts) / len(counts)


# --- docs/benchmarks.md ---------------------------------------------------------------------------
AIMS = {"petits": 1.0, "communes": 1.2}


def table(results, dataset):
    rows = []
    for case in results:
        if case["dataset"] != dataset:
            continue
        ours, theirs = case["capgeo"], case["mapserver"]
        label = f"{case['label']} (~{fr(case['polygons'], 0)} polygones par image)"
        for name, result in (("C@p Géo (Mapnik)", ours), ("MapServer", theirs)):
            rows.append(f"| {label} | {name} | {result['count']} | **{fr(result['rps'])}** | "
                        f"{fr(result['median'])} ms | {fr(result['p95'])} ms | "
                        f"{fr(result['cpu'], 2)} ms |")
        ratio = ours["rps"] / theirs["rps"]
        mark = "atteint" if ratio >= AIMS[dataset] else "manqué"
        rows.append(f"| {label} | rapport C@p Géo / MapServer | | "
                    f"**{fr(ratio, 2)}** ({mark}) | | | {fr(ours['cpu'] / theirs['cpu'], 2)} |")
    return ("| Cas | Serveur | requêtes | requêtes/s | médiane | p95 | processeur par requête |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def write_doc(polygons, communes, results, info):
    section = (
        f"{SECTION}\n\n"
        f"Mesuré le {datetime.date.today():%d/%m/%Y} par `bench/bench_wms.py` (à relancer pour "
        f"mettre à jour ; il lui faut `apt-get install -y --no-install-recommends mapserver-bin "
        f"cgi-mapserver spawn-fcgi nginx`), les deux tableaux dans la même exécution.\n\n"
        f"- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; "
        f"charge moyenne sur 1 min (`uptime`) relevée pendant la mesure : {fr(info['load'][0])} à "
        f"{fr(info['load'][1])} (machine partagée avec d'autres travaux : au-delà du nombre de "
        f"cœurs, les processus attendent le processeur et les durées s'allongent pour les deux "
        f"serveurs ; seul le rapport mesuré dans la même exécution compte) ; "
        f"PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, Python {info['python']}, "
        f"Mapnik {info['mapnik']}, MapServer {info['mapserver']}.\n"
        f"- C@p Géo : gunicorn, 2 workers synchrones, `/ows?SERVICE=WMS` avec son style par défaut "
        f"(remplissage #3a87c8 à 80 %, contour #1d4f7a de 1 px), carte Mapnik construite une fois "
        f"par worker, source PostGIS filtrée par `!bbox!`. MapServer 8 : `mapserv` en FastCGI "
        f"(2 processus lancés par spawn-fcgi derrière nginx, connexion FastCGI et connexion "
        f"PostGIS gardées ouvertes : `fastcgi_keep_conn`, `CLOSE_CONNECTION=DEFER`), la même "
        f"table (colonne `geom` en Lambert-93, reprojetée par MapServer en EPSG:3857), mêmes "
        f"couleurs, AGG, PNG 32 bits.\n"
        f"- 2 clients simultanés, chacun sur sa connexion HTTP gardée ouverte ; GetMap WMS 1.3.0 "
        f"256×256 `image/png`, la même liste de cases pour les deux serveurs, après 10 requêtes "
        f"de mise en route. « Processeur par requête » : temps processeur (utilisateur + "
        f"système, lu dans /proc) des processus de chaque serveur (maître et workers gunicorn ; "
        f"nginx et `mapserv`) et de leurs connexions PostgreSQL, divisé par le nombre de "
        f"requêtes : moins sensible que le débit à la charge des autres travaux.\n\n"
        f"### {fr(communes, 0)} communes de forme réelle, EPSG:3857 et EPSG:2154\n\n"
        f"Couche publique de {fr(communes, 0)} polygones qui pavent la France métropolitaine "
        f"comme des communes (~15 km², ~265 sommets chacun, limites sinueuses partagées entre "
        f"voisines : cellules de Voronoï densifiées d'un sommet tous les 60 m puis déformées, "
        f"générées par le script). EPSG:3857 : tuiles du quadrillage XYZ entièrement en France "
        f"(z8 : 40 tuiles de ~110 km ; z12 : 200 tuiles de ~7 km). EPSG:2154 : les mêmes lieux, "
        f"cases carrées de même surface. Objectif : au moins 1,2 fois le débit de MapServer.\n\n"
        + table(results, "communes") +
        f"\n### {fr(polygons, 0)} petits polygones, EPSG:2154\n\n"
        f"Couche publique de {fr(polygons, 0)} petits polygones (8 à 24 sommets, 15 à 60 m) tirés "
        f"au hasard dans l'emprise de Cap Atlantique, générés en SQL. Zoom dense : toute "
        f"l'emprise (tous les polygones) ; zoom clairsemé : cases de ~600 m à des endroits tirés "
        f"au hasard. Objectif : au moins le débit de MapServer.\n\n"
        + table(results, "petits") + "\n" + READING
    )
    write_section(SECTION, section)


READING = (
    "Lecture : les communes (des centaines de sommets chacune) sont lues par Mapnik généralisées "
    "au huitième du pixel demandé, avant leur reprojection par PostGIS (section suivante : coût "
    "avant et après, écarts de pixels) ; MapServer lit et reprojette tous les sommets. Aux grandes "
    "échelles (z12), une image ne tient que quelques polygones et le coût fixe d'une requête "
    "domine : pile Python et Django, deux allers-retours PostgreSQL (compteur du catalogue, puis "
    "requête de Mapnik) contre un pour MapServer. Au zoom dense des petits polygones, le coût "
    "est le dessin de chaque polygone ; deux "
    "réglages du style l'ont divisé par trois : pas de `gamma` sur les polygones (AGG recalcule sa "
    "table pour chaque objet) et des jointures `miter` plutôt que `round`. Au zoom clairsemé, "
    "la requête PostGIS ne dure que quelques millisecondes et le surcoût fixe de la pile Python "
    "domine. Chaque processus garde en cache ce que la politique d'accès a décidé pour une couche "
    "(la couche, ses styles, le filtre de lignes du droit, par public) : un GetMap ne fait plus "
    "qu'une toute petite requête, la lecture du compteur `wms_catalogue_version` que des "
    "déclencheurs PostgreSQL augmentent dans la transaction même de toute modification des "
    "couches, règles d'accès et styles. Le PNG est écrit par `maps/png.py` (mêmes pixels que "
    "l'encodeur de Mapnik, sans filtre de ligne, ISA-L). MapServer en FastCGI n'a ni politique "
    "d'accès ni styles en base.\n"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--dense-runs", type=int, default=60, help="requêtes par client")
    parser.add_argument("--sparse-runs", type=int, default=400, help="requêtes par client")
    parser.add_argument("--z8-runs", type=int, default=100, help="requêtes par client")
    parser.add_argument("--z12-runs", type=int, default=400, help="requêtes par client")
    parser.add_argument("--only", choices=("petits", "communes"),
                        help="un seul jeu de données (pas d'écriture dans docs/benchmarks.md)")
    parser.add_argument("--keep", action="store_true",
                        help="garder les couches après la mesure et les reprendre si elles "
                             "existent (mise au point)")
    parser.add_argument("--case", help="seulement les cas dont le libellé contient ce texte "
                                       "(pas d'écriture dans docs/benchmarks.md)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    datasets = [args.only] if args.only else ["communes", "petits"]
    layers = {}
    for dataset, name, create, count in (
            ("petits", LAYER_NAME, create_layer, args.polygons),
            ("communes", COMMUNES_NAME, create_commune_layer, args.communes)):
        if dataset not in datasets:
            continue
        existing = Layer.objects.filter(name=name).first()
        if args.keep and existing is not None and existing.feature_count:
            layers[dataset] = existing
            continue
        drop_layer(name)
        print(f"Création de {count} polygones ({dataset})…")
        layers[dataset] = create(count)
    extent = layers.get("petits", layers.get("communes")).extent.extent
    processes, workdir = [], Path(tempfile.mkdtemp(prefix="bench_wms_"))
    try:
        ours, theirs = free_port(), free_port()
        processes.append(common.start_gunicorn(ours, "--workers", "2",
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes += start_mapserver(theirs, workdir, extent,
                                     [layer.name for layer in layers.values()])
        prefixes = {"capgeo": (ours, "/ows?"), "mapserver": (theirs, "/?")}
        server_pids = {"capgeo": descendants(processes[0].pid),
                       "mapserver": [*descendants(processes[1].pid),
                                     *(process.pid for process in processes[2:])]}
        cases = []
        if "communes" in layers:
            cases += commune_cases(args.z8_runs, args.z12_runs)
        if "petits" in layers:
            cases += small_cases(layers["petits"].extent.extent, args.dense_runs, args.sparse_runs)
        cases = [case for case in cases if not args.case or args.case in case[1]]
        results, loads = [], [os.getloadavg()[0]]
        for dataset, label, name, srid, boxes, runs in cases:
            case = {"dataset": dataset, "label": label,
                    "polygons": polygons_per_box(name, srid, boxes)}
            for server, (port, prefix) in prefixes.items():
                warm = [getmap_path(prefix, name, srid, boxes[i % len(boxes)]) for i in range(10)]
                run(port, [warm[:5], warm[5:]])
                per_client = [[getmap_path(prefix, name, srid, boxes[(c * 7919 + i) % len(boxes)])
                               for i in range(runs)] for c in range(CLIENTS)]
                result = run(port, per_client, server_pids[server])
                case[server] = result
                loads.append(os.getloadavg()[0])
                print(f"{dataset} {label:30} {server:9} {result['count']} requêtes : "
                      f"{result['rps']:.1f} req/s, médiane {result['median']:.1f} ms, "
                      f"p95 {result['p95']:.1f} ms, processeur {result['cpu']:.2f} ms/requête "
                      f"(charge {loads[-1]:.1f})")
            ratio = case["capgeo"]["rps"] / case["mapserver"]["rps"]
            print(f"{dataset} {label:30} débit C@p Géo / MapServer : {ratio:.2f}")
            results.append(case)
        if not args.no_doc and not args.only and not args.case:
            write_doc(args.polygons, args.communes, results,
                      {**machine(), "load": (min(loads), max(loads))})
            print("docs/benchmarks.md mis à jour.")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            for layer in layers.values():
                drop_layer(layer.name)


if __name__ == "__main__":
    main()
