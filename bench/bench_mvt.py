"""Benchmark: a vector tile (MVT) through the whole HTTP stack versus the bare SQL query.

    .venv/bin/python bench/bench_mvt.py [--polygons 100000] [--runs 200] [--no-doc]
                                        [--json out.json] [--before before.json]

Creates a public catalogue layer of N small polygons (generated in SQL, random in Cap Atlantique's
extent), starts gunicorn on a free port, and times in the same run, for the tile holding the
territory's centre at z10, z12, z14 and z16 (a light tile: the fixed cost):
  (a) the bare query: the exact SQL the server runs (ST_TileEnvelope, ST_AsMVTGeom, ST_AsMVT), on
      one open connection;
  (b) GET /tiles/<layer>/<z>/<x>/<y>.mvt over HTTP (one kept-alive connection: Django
      middlewares, access policy, the same query, headers).
Prints medians, p95, the overhead (b) − (a) and the ratio (b)/(a), writes them with the machine
into docs/benchmarks.md
(section "Tuiles vectorielles MVT") and removes the layer. --json keeps the figures in a file;
--before adds the overhead of an earlier run (e.g. the previous code, run from another worktree)
to the table for comparison. Not a test: run it on a quiet machine.
"""
import argparse
import datetime
import http.client
import json
import math
import os
import subprocess
import time

from common import (drop_layer, fr, free_port, machine, median_p95_ms, setup_django,
                    start_gunicorn, territory_extent, write_section)

setup_django()

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import connection  # noqa: E402

from layers.access import AccessPolicy  # noqa: E402
from layers.models import AccessRule, Audience, Layer, Permission, Theme  # noqa: E402
from layers.tables import DATA_SCHEMA, create_table, finish_table, qualified, refresh_layer_metadata  # noqa: E402
from wms.tiles.mvt import tile_sql  # noqa: E402

LAYER_NAME = "bench_mvt_polygones"
SECTION = "## Tuiles vectorielles MVT"


def clean_up():
    drop_layer(LAYER_NAME)


def create_layer(polygons):
    """N irregular polygons (8 to 24 vertices, 15 to 60 m across) with three attributes."""
    xmin, ymin, xmax, ymax = territory_extent()
    layer = Layer.objects.create(name=LAYER_NAME, title="Banc MVT", theme=Theme.objects.first())
    create_table(DATA_SCHEMA, LAYER_NAME, [("numero", "integer"), ("nature", "text"),
                                           ("surface", "double precision")], "POLYGON")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {qualified(DATA_SCHEMA, LAYER_NAME)} (numero, nature, surface, geom)
            SELECT i, (ARRAY['bâti', 'jardin', 'voirie', 'eau'])[1 + i %% 4], ST_Area(g), g
            FROM (
                SELECT i, ST_SetSRID(ST_Buffer(ST_MakePoint(%s + random() * %s, %s + random() * %s),
                                               7.5 + random() * 22.5, 2 + (i %% 5)), 2154) AS g
                FROM generate_series(1, %s) AS i
            ) s
            """,
            [xmin, xmax - xmin, ymin, ymax - ymin, polygons],
        )
        finish_table(cursor, DATA_SCHEMA, LAYER_NAME)
    refresh_layer_metadata(layer)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC, permission=Permission.VIEW)
    return layer


def centre_tile(z):
    xmin, ymin, xmax, ymax = territory_extent()
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), "
                       "2154), 4326) p", [(xmin + xmax) / 2, (ymin + ymax) / 2])
        lon, lat = cursor.fetchone()
    n = 1 << z
    return (z, int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def time_sql(grant, tile, runs):
    sql, params = tile_sql(grant, *tile)
    durations, size = [], 0
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            size = len(bytes(cursor.fetchone()[0]))
            durations.append(time.perf_counter() - started)
    return durations, size


def time_http(port, tile, runs):
    path = f"/tiles/{LAYER_NAME}/{tile[0]}/{tile[1]}/{tile[2]}.mvt"
    conn = http.client.HTTPConnection("127.0.0.1", port)
    durations, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        durations.append(time.perf_counter() - started)
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status} {body[:200]!r}")
        size = len(body)
    conn.close()
    return durations, size


def write_doc(polygons, results, info, runs, load, before=None):
    before_by_zoom = {r["tile"][0]: r for r in (before or {}).get("results", [])}
    rows = []
    for r in results:
        earlier = before_by_zoom.get(r["tile"][0])
        rows.append(
            f"| z{r['tile'][0]} ({r['tile'][1]}/{r['tile'][2]}) | {fr(r['features'], 0)} | "
            f"{fr(r['size'] / 1024)} Kio | {fr(r['sql']['median'], 2)} ms ({fr(r['sql']['p95'], 2)}) | "
            f"{fr(r['http']['median'], 2)} ms ({fr(r['http']['p95'], 2)}) | "
            f"**{fr(r['overhead'], 2)} ms** | {fr(r['ratio'], 2)} |"
            + (f" {fr(earlier['overhead'], 2)} ms |" if earlier else (" – |" if before else "")))
    before_head = " surcoût avant |" if before else ""
    before_note = (
        f" La dernière colonne est le surcoût (b) − (a) mesuré juste avant, sur la même "
        f"machine "
        f"(charge {before['load'][0]} puis {before['load'][1]}), avec {before['label']}."
        if before else "")
    section = (
        f"{SECTION}\n\n"
        f"Mesuré le {datetime.date.today():%d/%m/%Y} par `bench/bench_mvt.py` (à relancer pour "
        f"mettre à jour).\n\n"
        f"- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; "
        f"PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, Python {info['python']}. "
        f"Charge (uptime, moyenne sur 1 min) au début et à la fin du banc : {load[0]} et "
        f"{load[1]} : la machine est partagée, les durées absolues en dépendent, le surcoût "
        f"(b) − (a) mesuré dans la même exécution beaucoup moins.\n"
        f"- Données : couche publique de {fr(polygons, 0)} petits polygones (8 à 24 sommets, "
        f"15 à 60 m) tirés au hasard dans l'emprise de Cap Atlantique, générés en SQL.\n"
        f"- (a) la requête SQL seule, celle que le serveur exécute (ST_TileEnvelope, "
        f"ST_Simplify, ST_AsMVTGeom, ST_AsMVT) sur une connexion ouverte ; (b) "
        f"`GET /tiles/<couche>/<z>/<x>/<y>.mvt` par HTTP (gunicorn, 2 workers, connexion "
        f"gardée ouverte, client séquentiel, anonyme) : intergiciels Django, politique d'accès, "
        f"même requête, en-têtes. Médiane (p95) sur {runs} requêtes à z12, z14 et z16, "
        f"{max(10, runs // 5)} à z10, après 5 de mise en route, (a) et (b) alternés par "
        f"tranches de 10.\n\n"
        f"| Tuile | objets | taille | (a) SQL seul | (b) HTTP | surcoût (b) − (a) | (b)/(a) |"
        f"{before_head}\n"
        f"|---|---|---|---|---|---|---|{'---|' if before else ''}\n" + "\n".join(rows) + "\n\n"
        f"Objectifs : surcoût fixe ≤ 3 ms, (b)/(a) ≤ 1,5.{before_note} La politique d'accès "
        f"est lue dans le cache de décisions du processus (`maps/decisions.py`, une petite "
        f"requête du compteur de version du catalogue par tuile au lieu de la couche et de ses "
        f"règles) ; le reste du surcoût est la pile WSGI et Django (intergiciels, en-têtes, "
        f"ETag) et l'aller-retour HTTP local. Sur les tuiles lourdes (z10, z12), l'écart "
        f"(b) − (a) se perd dans les variations de la requête elle-même quand la machine est "
        f"chargée ; c'est la tuile légère (z16) qui mesure le coût fixe.\n"
    )
    write_section(SECTION, section)


def load_average():
    return fr(os.getloadavg()[0], 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--before", help="figures of an earlier run (--json), shown side by side")
    parser.add_argument("--label", default="ce code", help="what this run measures (for --json)")
    args = parser.parse_args()
    load = [load_average()]
    clean_up()
    print(f"Création de {args.polygons} polygones…")
    layer = create_layer(args.polygons)
    server = None
    try:
        grant = AccessPolicy.for_user(AnonymousUser()).source(layer, Permission.VIEW)
        port = free_port()
        server = start_gunicorn(port, "--workers", "2",
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = []
        for z in (10, 12, 14, 16):
            tile = centre_tile(z)
            runs = args.runs if z != 10 else max(10, args.runs // 5)
            time_sql(grant, tile, 5)
            time_http(port, tile, 5)
            sql, web = [], []
            while len(sql) < runs:  # interleaved by tens: both see the same load
                durations, size = time_sql(grant, tile, min(10, runs - len(sql)))
                sql += durations
                durations, web_size = time_http(port, tile, min(10, runs - len(web)))
                web += durations
            # Same tile; its bytes may differ slightly with row order (parallel scans).
            assert abs(size - web_size) <= 0.02 * size, (size, web_size)
            import mapbox_vector_tile

            sql_text, params = tile_sql(grant, *tile)
            with connection.cursor() as cursor:
                cursor.execute(sql_text, params)
                features = len(mapbox_vector_tile.decode(bytes(cursor.fetchone()[0]))
                               [LAYER_NAME]["features"])
            result = {"tile": tile, "size": size, "features": features, "sql": median_p95_ms(sql),
                      "http": median_p95_ms(web)}
            result["ratio"] = result["http"]["median"] / result["sql"]["median"]
            result["overhead"] = result["http"]["median"] - result["sql"]["median"]
            results.append(result)
            print(f"z{z} {tile}: {features} objets, {size} octets ; SQL {result['sql']['median']:.2f} ms "
                  f"(p95 {result['sql']['p95']:.2f}) ; HTTP {result['http']['median']:.2f} ms "
                  f"(p95 {result['http']['p95']:.2f}) ; surcoût {result['overhead']:.2f} ms ; "
                  f"rapport {result['ratio']:.2f}")
        load.append(load_average())
        print(f"Charge : {load[0]} puis {load[1]}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"label": args.label, "load": load, "results": results}, out)
        if not args.no_doc:
            before = None
            if args.before:
                with open(args.before) as source:
                    before = json.load(source)
            write_doc(args.polygons, results, machine(), args.runs, load, before)
            print("docs/benchmarks.md mis à jour.")
    finally:
        if server:
            server.terminate()
            server.wait(10)
        clean_up()


if __name__ == "__main__":
    main()
