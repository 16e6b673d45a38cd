"""Benchmark: WFS 2.0 paging through a large layer, QGIS-style (1,000 features a page).

    .venv/bin/python bench/bench_wfs_paging.py [--polygons 300000] [--runs 5] [--no-doc]

Creates a public layer of N small polygons (generated in SQL), starts gunicorn on a free port and
times, in the same run, a page of 1,000 features (GML, STARTINDEX/COUNT, as the `next` links
give them) at the start, the middle and the end of the layer, next to the bare SQL of that page:
  (a) LIMIT 1000 OFFSET k over the fid order: what django-gisserver asks today;
  (b) WHERE fid > last ORDER BY fid LIMIT 1000: the keyset page a `next` link could carry;
  (c) GET /ows?...&COUNT=1000&STARTINDEX=k over HTTP (whole GML page read).
Writes the medians into docs/benchmarks.md (section "Pagination WFS d'une grande couche") and
removes the layer. Not a test: run it on a quiet machine.
"""
import argparse
import datetime
import os
import statistics
import subprocess
import time

from common import (drop_layer, fr, free_port, http_get, machine, setup_django, start_gunicorn,
                    territory_extent, write_section)

setup_django()

from django.db import connection  # noqa: E402

from layers.models import AccessRule, Audience, Layer, Permission, Theme  # noqa: E402
from layers.tables import (DATA_SCHEMA, create_table, finish_table, qualified,  # noqa: E402
                           refresh_layer_metadata)

LAYER_NAME = "bench_wfs_pages"
SECTION = "## Pagination WFS d'une grande couche"
PAGE = 1000


def create_layer(polygons):
    """N irregular polygons (8 to 24 vertices, 15 to 60 m across) with three attributes."""
    xmin, ymin, xmax, ymax = territory_extent()
    layer = Layer.objects.create(name=LAYER_NAME, title="Banc pagination WFS",
                                 theme=Theme.objects.first())
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
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC,
                              permission=Permission.DOWNLOAD)
    return layer


def page_sql(keyset):
    """The bare page: every column and the GML geometry of 1,000 features, fid order."""
    table = qualified(DATA_SCHEMA, LAYER_NAME)
    where = "WHERE fid > %s " if keyset else ""
    tail = "LIMIT 1000" if keyset else "LIMIT 1000 OFFSET %s"
    # As django-gisserver's page: the rows are cut in a sub-query, the GML is written for the
    # page's rows only (a projection in the same SELECT would run on every skipped row).
    return (f"SELECT fid, numero, nature, surface, ST_AsGML(3, geom, 8, 1) FROM (SELECT * FROM "
            f"{table} {where}ORDER BY fid {tail}) q")


def time_sql(sql, param, runs):
    durations = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, [param])
            rows = cursor.fetchall()
            durations.append(time.perf_counter() - started)
    assert len(rows) == PAGE, len(rows)
    return statistics.median(durations) * 1000


def time_http(port, start, runs):
    path = (f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=capgeo:{LAYER_NAME}"
            f"&COUNT={PAGE}&STARTINDEX={start}")
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _size = http_get(port, path)
        durations.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}")
    return statistics.median(durations) * 1000


def write_doc(polygons, results, info, runs, load):
    rows = "\n".join(
        f"| {r['where']} (STARTINDEX={fr(r['start'], 0)}) | {fr(r['offset'], 1)} ms | "
        f"{fr(r['keyset'], 1)} ms | {fr(r['http'], 1)} ms |" for r in results)
    first, last = results[0], results[-1]
    section = (
        f"{SECTION}\n\n"
        f"Mesuré le {datetime.date.today():%d/%m/%Y} par `bench/bench_wfs_paging.py` (à relancer "
        f"pour mettre à jour).\n\n"
        f"- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ; "
        f"PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, Python {info['python']}. "
        f"Charge (uptime, moyenne sur 1 min) au début et à la fin : {load[0]} et {load[1]} "
        f"(machine partagée).\n"
        f"- Données : couche publique de {fr(polygons, 0)} petits polygones (8 à 24 sommets), "
        f"générés en SQL. Une page = {PAGE} objets, comme QGIS les demande.\n"
        f"- (a) SQL seul, `ORDER BY fid LIMIT 1000 OFFSET k` : ce que django-gisserver demande "
        f"pour un saut (`wms/tests/test_wfs_large_paging.py` le vérifie) ; (b) SQL seul, page par "
        f"clé (`WHERE fid > dernier ORDER BY fid LIMIT 1000`) ; (c) la page GML par HTTP "
        f"(gunicorn, 1 worker, `COUNT=1000&STARTINDEX=k`, réponse lue en entier ; elle "
        f"comprend aussi le comptage de toute la couche pour `numberMatched`). "
        f"Médianes de {runs} requêtes.\n\n"
        f"| Page | (a) SQL OFFSET | (b) SQL par clé | (c) HTTP |\n|---|---|---|---|\n{rows}\n\n"
        f"Lecture complète sans trou ni doublon, par les liens `next` (WFS 2.0) ou STARTINDEX "
        f"(WFS 1.1.0), y compris quand des objets sont modifiés ou ajoutés entre deux pages : "
        f"testé sur 10 000 objets (`wms/tests/test_wfs_large_paging.py`). Ce banc demande chaque "
        f"page directement (un saut : aucune page ne s'est arrêtée là) : elle est découpée par "
        f"OFFSET sur l'ordre des fid, et la dernière coûte "
        f"{fr(last['http'] - first['http'], 1)} ms de plus que la première par HTTP "
        f"({fr(last['offset'] - first['offset'], 1)} ms en SQL). Les pages qui se suivent, comme "
        f"QGIS les demande, reprennent après le dernier fid servi (`wms/wfs/paging.py`) : temps "
        f"plat et aucun objet sauté quand un objet d'une page déjà lue est supprimé, mesuré sur "
        f"un million de parcelles par `bench/bench_large.py` (section « Grande couche »).\n"
    )
    write_section(SECTION, section)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    load = [fr(os.getloadavg()[0], 2)]
    drop_layer(LAYER_NAME)
    print(f"Création de {args.polygons} polygones…")
    create_layer(args.polygons)
    server = None
    try:
        port = free_port()
        server = start_gunicorn(port, "--workers", "1", "--timeout", "300",
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT fid FROM {qualified(DATA_SCHEMA, LAYER_NAME)} ORDER BY fid")
            fids = [row[0] for row in cursor.fetchall()]
        results = []
        for where, start in (("début", 0), ("milieu", (len(fids) // 2 // PAGE) * PAGE),
                             ("fin", len(fids) - PAGE)):
            last_before = fids[start - 1] if start else 0
            time_http(port, start, 1)  # warm-up
            result = {"where": where, "start": start,
                      "offset": time_sql(page_sql(False), start, args.runs),
                      "keyset": time_sql(page_sql(True), last_before, args.runs),
                      "http": time_http(port, start, args.runs)}
            results.append(result)
            print(f"{where} (STARTINDEX={start}) : SQL OFFSET {result['offset']:.1f} ms ; "
                  f"SQL par clé {result['keyset']:.1f} ms ; HTTP {result['http']:.1f} ms")
        load.append(fr(os.getloadavg()[0], 2))
        print(f"Charge : {load[0]} puis {load[1]}")
        if not args.no_doc:
            write_doc(args.polygons, results, machine(), args.runs, load)
            print("docs/benchmarks.md mis à jour.")
    finally:
        if server:
            server.terminate()
            server.wait(10)
        drop_layer(LAYER_NAME)


if __name__ == "__main__":
    main()
