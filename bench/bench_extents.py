"""Cost of measuring a layer's count and extents (layers.extents.measure_sql), run at every
publication, restore, WFS-T transaction and field sync batch, side by side with the measure it
replaced (Lambert-93 box only) and with the plain exact one (every row transformed to WGS 84).

    .venv/bin/python bench/bench_extents.py [--features 35000] [--vertices 121] [--runs 3]

The layer is a temporary table of polygons shaped like communes (a ring of `vertices` points),
spread over metropolitan France with one in ten overseas (five islands half a degree wide). Nothing is written in the database.
"""
import argparse
import statistics
import sys
import time
from datetime import date

import common

TABLE = "bench_extents_layer"


def build(cursor, features, vertices):
    quad = max(1, (vertices - 1) // 4)
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cursor.execute(f"""
        CREATE TEMP TABLE {TABLE} AS
        SELECT i AS fid, 'c' || i AS code, ST_Transform(ST_Buffer(ST_SetSRID(ST_MakePoint(
                   CASE WHEN mod(i, 10) = 0 THEN (ARRAY[55.5, -61.5, -52.3, 45.2, -61.0])[1 + mod(i / 10, 5)]
                        ELSE -4.5 + mod(i * 7919, 1250) / 100.0 END + mod(i * 31, 53) / 100.0,
                   CASE WHEN mod(i, 10) = 0 THEN (ARRAY[-21.1, 16.2, 4.9, -12.8, 14.6])[1 + mod(i / 10, 5)]
                        ELSE 42.5 + mod(i * 104729, 850) / 100.0 END + mod(i * 17, 47) / 100.0), 4326),
                   0.02, {quad}), 2154) AS geom
        FROM generate_series(1::bigint, {features}) i
    """)
    cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (fid)")
    cursor.execute(f"ANALYZE {TABLE}")
    cursor.execute(f"SELECT sum(ST_NPoints(geom)) FROM {TABLE}")
    return cursor.fetchone()[0]


def variants():
    from layers.extents import measure_sql

    types = "array_agg(DISTINCT upper(GeometryType(t.geom))) FILTER (WHERE t.geom IS NOT NULL)"
    return [
        ("avant : nombre et boîte Lambert-93 seulement",
         f"SELECT count(*), ST_Extent(t.geom), {types} FROM {TABLE} t", False),
        ("exact simple : + ST_Extent(ST_Transform(geom, 4326)) sur toutes les lignes",
         f"SELECT count(*), ST_Extent(t.geom), ST_Extent(ST_Transform(t.geom, 4326)), "
         f"{types} FROM {TABLE} t", False),
        ("exact simple, sans JIT",
         f"SELECT count(*), ST_Extent(t.geom), ST_Extent(ST_Transform(t.geom, 4326)), "
         f"{types} FROM {TABLE} t", True),
        ("measure_sql avec JIT", measure_sql(TABLE, with_types=True)[0], False),
        ("**maintenant** : measure_sql sans JIT (layers.extents.run_measure)",
         measure_sql(TABLE, with_types=True)[0], True),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=35000)
    parser.add_argument("--vertices", type=int, default=121)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()
    common.setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        points = build(cursor, args.features, args.vertices)
        results, answers = [], {}
        for label, sql, jit_off in variants():
            cursor.execute(f"SET jit = {'off' if jit_off else 'on'}")
            durations = []
            for _run in range(args.runs):
                started = time.perf_counter()
                cursor.execute(sql)
                answers[label] = cursor.fetchone()
                durations.append(time.perf_counter() - started)
            results.append((label, statistics.median(durations)))
            print(f"{label}: {statistics.median(durations) * 1000:.0f} ms", file=sys.stderr)
        cursor.execute("RESET jit")
        cursor.execute(f"DROP TABLE {TABLE}")
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    info = common.machine()
    base = results[0][1]
    rows = "\n".join(f"| {label} | {common.fr(seconds * 1000, 0)} ms | "
                     f"{common.fr(seconds / base, 2)} × |" for label, seconds in results)
    section = f"""## Mesure des emprises d'une couche (`bench/bench_extents.py`)

Ce que coûte, à chaque publication, restauration, transaction WFS-T ou lot de synchronisation, le
calcul du nombre d'objets et des emprises de la couche dans chaque système annoncé
(`layers.extents`, issue 12) : {common.fr(args.features, 0)} polygones de
{args.vertices} sommets ({common.fr(points, 0)} sommets), métropole et un sur dix outre-mer ;
médiane de {args.runs} passages, dans PostgreSQL.

```
.venv/bin/python bench/bench_extents.py --features {args.features} --vertices {args.vertices} --runs {args.runs}
```

Machine : {info['cpu']}, {info['nproc']} processeurs, {info['ram']}, PostgreSQL {info['postgres']}
+ PostGIS {info['postgis']} — {date.today().strftime('%d/%m/%Y')}, charge moyenne
{' / '.join(load)} (machine partagée, chiffres bruités).

| calcul | durée | rapport à avant |
|---|---|---|
{rows}

La mesure exacte simple transforme chaque sommet de chaque ligne ; `measure_sql` groupe les
lignes par cellules (1/64 du plus grand côté de la couche, estimé par les statistiques de la
table, 20 km au plus ; boîtes lues dans l'en-tête des géométries, agrégées en nombres par les
processus parallèles, sans tri), ne transforme que les coins de la boîte de chaque cellule, en
déduit les cellules qui peuvent porter un bord de l'emprise WGS 84 (quelques-unes par côté) et ne
transforme exactement que leurs lignes, trouvées par l'index spatial : même résultat, vérifié par
`layers/tests/test_extents.py`. Le coût de ces requêtes est estimé assez haut pour que PostgreSQL
les compile (JIT), ce qui prend plus de temps que la requête : la mesure est faite sans JIT. Sur
le million de parcelles de `bench/bench_large.py` (emprise de 30 km), les cellules de 20 km
faisaient transformer toutes les lignes (10 s) ; celles de 460 m, 2 540 lignes (0,05 s).
"""
    if not args.no_doc:
        print(common.write_section(section.splitlines()[0], section), file=sys.stderr)
    else:
        print(section)
    exact = [answer for label, answer in answers.items() if "exact" in label][0]
    now = answers[results[-1][0]]
    print(f"WGS 84, exact simple: {exact[2]}; measure_sql: {now[5:9]}", file=sys.stderr)


if __name__ == "__main__":
    main()
