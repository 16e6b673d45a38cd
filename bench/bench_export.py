"""Benchmark: GeoJSON export of 100,000 polygons through the real HTTP stack vs the bare SQL floor.

    .venv/bin/python bench/bench_export.py [--polygons 100000] [--runs 3] [--no-doc]

Creates a layer of squares (generate_series, inside Cap Atlantique's extent, three attributes)
in the platform's database with a public download rule, starts gunicorn (one sync worker, the
project's settings) on a free port of 127.0.0.1, then times in the same run:
  (a) the floor: PostgreSQL encoding the same features, `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 7)
      FROM (SELECT …, ST_Transform(geom, 4326) …) t ORDER BY fid) TO STDOUT` read by psycopg2;
  (b) GET /api/layers/<name>/features?f=geojson over HTTP, the body read to the end;
and reads the worker's peak memory (VmHWM in /proc/<pid>/status) before and after the exports.
Prints the figures and their ratio, writes them with the machine's description into
docs/benchmarks.md (section "Export GeoJSON de 100 000 polygones"), and removes the layer and
stops gunicorn. Not a test: run it by hand on a quiet machine.
"""
import argparse
import datetime
import json
import os

import common
from common import (drop_layer, fr, free_port, http_get, peak_rss_kib, territory_extent, timed_copy,
                    timed_get, worker_pid, write_section)

common.setup_django()

from django.db import connection  # noqa: E402

from layers.models import AccessRule, Audience, Layer, Permission  # noqa: E402
from layers.tables import (  # noqa: E402
    DATA_SCHEMA, create_table, finish_table, qualified, refresh_layer_metadata,
)

LAYER_NAME = "bench_export_polygones"
SECTION = "## Export GeoJSON de 100 000 polygones"


def remove_layer():
    drop_layer(LAYER_NAME)  # LAYER_NAME read at call time: bench_wfs.py sets its own


def make_layer(count):
    """`count` squares of 20 m on a regular grid covering the territory's extent."""
    remove_layer()
    xmin, ymin, xmax, ymax = territory_extent()
    columns = int((count * (xmax - xmin) / (ymax - ymin)) ** 0.5) + 1
    step_x = (xmax - xmin) / columns
    step_y = (ymax - ymin) / (count // columns + 1)
    create_table(DATA_SCHEMA, LAYER_NAME, [("numero", "integer"), ("libelle", "text"),
                                           ("surface", "double precision")], "POLYGON")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {qualified(DATA_SCHEMA, LAYER_NAME)} (numero, libelle, surface, geom)
            SELECT i, 'parcelle n° ' || i, 400.0,
                   ST_MakeEnvelope(x, y, x + 20, y + 20, 2154)
            FROM (SELECT i, %s + (i %% %s) * %s AS x, %s + (i / %s) * %s AS y
                  FROM generate_series(0, %s - 1) AS i) g
            """,
            [xmin, columns, step_x, ymin, columns, step_y, count],
        )
        finish_table(cursor, DATA_SCHEMA, LAYER_NAME)
    layer = Layer.objects.create(name=LAYER_NAME, title="Banc d'essai : export de polygones",
                                 lineage="bench/bench_export.py (supprimée à la fin du banc)")
    refresh_layer_metadata(layer)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.DOWNLOAD)
    return layer


def floor_copy():
    """Seconds and bytes of PostgreSQL encoding the same features, read by psycopg2."""
    return timed_copy(
        "SELECT ST_AsGeoJSON(t.*, 'geom', 7) FROM (SELECT fid, numero, libelle, surface, "
        f"ST_Transform(geom, 4326) AS geom FROM {qualified(DATA_SCHEMA, LAYER_NAME)} ORDER BY fid) t")


def start_gunicorn(port):
    """One sync worker (its memory is read), a timeout long enough for a whole export."""
    return common.start_gunicorn(
        port, "--workers", "1", "--timeout", "600", timeout=60, ready_path="/healthz",
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="capgeo.settings", LOG_LEVEL="WARNING"))


def http_export(port):
    return timed_get(port, f"/api/layers/{LAYER_NAME}/features?f=geojson")


def machine():
    """The machine as one line, PostgreSQL with its build (shared with bench_wfs.py)."""
    info = common.machine()
    return (f"{info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; "
            f"{info['postgres_build']}, PostGIS {info['postgis']}, Python {info['python']}")


def write_doc(figures):
    f = figures
    section = f"""{SECTION}

Mesuré le {f['date']} par `bench/bench_export.py` (à relancer pour mettre à jour).

- Machine : {f['machine']}.
- Données : {fr(f['count'], 0)} carrés de 20 m (3 attributs : entier, texte, réel) répartis sur
  l'emprise de Cap Atlantique, en Lambert-93 ; export en WGS 84 (7 décimales), ordre des fid.
- Serveur : gunicorn, 1 processus de travail synchrone, réglages du projet, base principale ;
  client HTTP dans le processus du banc (même machine). Meilleure de {f['runs']} exécutions.

| Opération | Durée | Octets |
|---|---|---|
| (a) plancher SQL : `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 7) …) TO STDOUT` lu par psycopg2 | {fr(f['floor'], 2)} s | {fr(f['floor_bytes'] / 1024 ** 2, 1)} Mio |
| (b) `GET /api/layers/…/features?f=geojson` par HTTP (politique d'accès, curseur côté serveur, flux) | {fr(f['http'], 2)} s | {fr(f['http_bytes'] / 1024 ** 2, 1)} Mio |
| Rapport (b) / (a) | **{fr(f['ratio'], 2)}** (objectif : 1,3 au plus) | |

- Mémoire du processus de travail gunicorn (VmHWM, pic depuis son démarrage) : {fr(f['rss_before'] / 1024, 0)} Mio
  après une première requête, **{fr(f['rss_after'] / 1024, 0)} Mio** après les exports : l'export ne
  garde en mémoire qu'un lot de lignes (`CAPGEO_EXPORT_FETCH_ROWS`, 2 000 par défaut).
- Les octets diffèrent un peu : (a) met le fid dans les propriétés et ajoute des espaces, (b)
  le donne en `"id"` de l'objet et ajoute l'enveloppe `FeatureCollection`. Durées de toutes les
  exécutions : (a) {f['floor_all']} s ; (b) {f['http_all']} s.
"""
    write_section(SECTION, section)


def parse_args(doc):
    """The command line, the same for bench_wfs.py (which reuses this layer and server)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    return parser.parse_args()


def main():
    args = parse_args(__doc__)
    print(f"Couche de {args.polygons} polygones…", flush=True)
    layer = make_layer(args.polygons)
    print(f"  {layer.feature_count} objets, {layer.geometry_type}", flush=True)
    port = free_port()
    server = start_gunicorn(port)
    try:
        worker = worker_pid(server.pid)
        http_get(port, f"/api/layers/{LAYER_NAME}/features?limit=10")  # warm the worker up
        rss_before = peak_rss_kib(worker)
        floors, https = [], []
        for run in range(args.runs):
            floors.append(floor_copy())
            https.append(http_export(port))
            print(f"  exécution {run + 1} : plancher {floors[-1][0]:.2f} s ({floors[-1][1]} o), "
                  f"HTTP {https[-1][0]:.2f} s ({https[-1][1]} o)", flush=True)
        rss_after = peak_rss_kib(worker)
    finally:
        server.terminate()
        server.wait(30)
        remove_layer()
    floor, floor_bytes = min(floors)
    http_time, http_bytes = min(https)
    figures = {
        "date": datetime.date.today().strftime("%d/%m/%Y"), "machine": machine(),
        "count": layer.feature_count, "runs": args.runs,
        "floor": floor, "floor_bytes": floor_bytes, "http": http_time, "http_bytes": http_bytes,
        "ratio": http_time / floor, "rss_before": rss_before, "rss_after": rss_after,
        "floor_all": " ; ".join(fr(t, 2) for t, _ in floors),
        "http_all": " ; ".join(fr(t, 2) for t, _ in https),
    }
    print(json.dumps({k: v for k, v in figures.items()}, ensure_ascii=False, indent=1))
    print(f"Plancher SQL {floor:.2f} s, HTTP {http_time:.2f} s, rapport {http_time / floor:.2f} ; "
          f"pic mémoire du processus {rss_before / 1024:.0f} → {rss_after / 1024:.0f} Mio")
    if not args.no_doc:
        write_doc(figures)
        print("docs/benchmarks.md mis à jour.")


if __name__ == "__main__":
    main()
