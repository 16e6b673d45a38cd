"""Benchmark: all 100,000 polygons of a layer as GeoJSON through OGC API – Features /items, paged
at the maximum limit and following the next links, against the bare SQL floor.

    .venv/bin/python bench/bench_ogcapi.py [--polygons 100000] [--runs 3] [--no-doc]

Creates a public layer of squares (bench/bench_export.py's generator), starts gunicorn (one sync
worker, the project's settings) and times in the same run:
  (a) the floor: `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 7) FROM (… ST_Transform(geom, 4326) …
      ORDER BY fid) t) TO STDOUT` read by psycopg2 (CRS84, 7 decimals, like /items);
  (b) GET /ogc/collections/<layer>/items?limit=10000, then every `next` link to the end (keyset
      pages), each body read to the end, the times added up;
  (c) the same with limit=1000 (what a client asking smaller pages pays);
and checks that every feature came exactly once. Writes docs/benchmarks.md, section
"OGC API – Features : 100 000 polygones par /items", then removes the layer and stops gunicorn.
Not a test: run it by hand on a quiet machine.
"""
import datetime
import http.client
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_export as base  # noqa: E402  (django.setup() happens there)
from common import fr, free_port, timed_copy, write_section  # noqa: E402

from layers.tables import DATA_SCHEMA, qualified  # noqa: E402

base.LAYER_NAME = LAYER_NAME = "bench_ogcapi_polygones"
SECTION = "## OGC API – Features : 100 000 polygones par /items"
NOTES = """Lecture (03/12/2026, machine calme) : **objectif atteint**. Le coût par page venait de la
pile Python, pas de PostgreSQL : les mêmes dix requêtes lues par un curseur serveur sans Django
prennent 0,335 s, autant que le plancher. Deux changements (`ogcapi/views.py`,
`layers/features/encoders.py`) : chaque page prend la source du lecteur dans le cache des
décisions d'accès du processus (`maps/decisions.py` : une petite requête au lieu de celles de la
couche et de ses règles ; `numberMatched` relu à chaque page, une modification des lignes ne
vide pas ce cache) ; les objets GeoJSON partent tels que PostgreSQL les a encodés en UTF-8, sans
décodage puis ré-encodage (exports REST compris). Côte à côte, mêmes minutes, même banc (7
exécutions, meilleures durées) : avant 0,45 s pour (b), rapport 1,35 (médiane 1,30), (c) 0,72 s ;
après 0,42 s, rapport 1,24 (médiane 1,20), (c) 0,56 s (le tableau, de l'exécution suivante :
1,17) ; requête d'une page d'un objet par
gunicorn : 4,1 → 3,0 ms. La mesure précédente (1,42, 03/12 à 4 h) avait été prise avant ces
changements, dans un moment plus lent de la machine (plancher égal, pages plus lentes)."""


def floor():
    return timed_copy(
        "SELECT ST_AsGeoJSON(t.*, 'geom', 7) FROM (SELECT fid, numero, libelle, surface, "
        f"ST_Transform(geom, 4326) AS geom FROM {qualified(DATA_SCHEMA, LAYER_NAME)} "
        "ORDER BY fid) t")


def every_page(port, limit):
    """(seconds, bytes, pages, ids) of reading /items from the first page to the last."""
    path = f"/ogc/collections/{LAYER_NAME}/items?limit={limit}"
    seconds, size, pages, ids = 0.0, 0, 0, []
    while path:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        seconds += time.perf_counter() - started
        connection.close()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
        size += len(body)
        pages += 1
        page = json.loads(body)
        ids += [feature["id"] for feature in page["features"]]
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        path = None
        if following:
            parts = urlsplit(following[0])
            path = f"{parts.path}?{parts.query}"
    return seconds, size, pages, ids


def write_doc(f):
    mib = lambda n: fr(n / 1024 ** 2, 1)  # noqa: E731
    section = f"""{SECTION}

Mesuré le {f['date']} par `bench/bench_ogcapi.py` (à relancer pour mettre à jour).

- Machine : {f['machine']} ; charge moyenne pendant la mesure : {f['load']} (d'autres
  processus tournaient : les rapports comptent plus que les durées).
- Données : {fr(f['count'], 0)} carrés de 20 m (3 attributs) en Lambert-93, couche publique.
- C@p Géo : gunicorn, 1 processus de travail synchrone ; chaque page passe par la source
  d'objets (`layers/features`), PostgreSQL encode les objets (GeoJSON en CRS84, 7 décimales) et la
  page est diffusée en flux ; les liens `next` paginent par clé (`after=<fid>`), donc chaque page
  coûte pareil ; `numberMatched` est le nombre d'objets de la couche tenu par le catalogue (aucun
  `count(*)` quand rien ne filtre). Client : le banc, même machine, une connexion par page.
  Meilleure de {f['runs']} exécutions ; chaque objet reçu une fois et une seule (vérifié).

| Opération | Durée | Octets | Pages |
|---|---|---|---|
| (a) plancher SQL : `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 7) …) TO STDOUT` (WGS 84) | {fr(f['floor'], 2)} s | {mib(f['floor_bytes'])} Mio | |
| (b) `/items?limit=10000` puis les liens `next` | {fr(f['max'], 2)} s | {mib(f['max_bytes'])} Mio | {f['max_pages']} |
| Rapport (b) / (a) des meilleures durées | **{fr(f['max'] / f['floor'], 2)}** (objectif : 1,3 au plus) | | |
| Rapport (b) / (a) exécution par exécution, médiane | {fr(f['ratio_median'], 2)} ({f['ratios']}) | | |
| (c) `/items?limit=1000` puis les liens `next` | {fr(f['small'], 2)} s | {mib(f['small_bytes'])} Mio | {f['small_pages']} |
| Rapport (c) / (a) | {fr(f['small'] / f['floor'], 2)} | | |

- Toutes les exécutions : (a) {f['all']['floor']} ; (b) {f['all']['max']} ; (c) {f['all']['small']}
  (secondes).
- Pas de réponse unique de toute la couche par `/items` (limite 10 000 par page) : l'export
  GeoJSON de l'API REST la donne d'un bloc (section « Export GeoJSON de 100 000 polygones »).

{NOTES}
"""
    write_section(SECTION, section)


def main():
    import os

    args = base.parse_args(__doc__)
    print(f"Couche de {args.polygons} polygones…", flush=True)
    layer = base.make_layer(args.polygons)
    port = free_port()
    server = base.start_gunicorn(port)
    results = {"floor": [], "max": [], "small": []}
    pages = {}
    loads = []
    try:
        every_page(port, 10)  # warm the worker up
        for run in range(args.runs):
            loads.append(os.getloadavg()[0])
            results["floor"].append(floor())
            for key, limit in (("max", 10000), ("small", 1000)):
                seconds, size, count, ids = every_page(port, limit)
                if len(ids) != len(set(ids)) or len(ids) != layer.feature_count:
                    raise SystemExit(f"limit={limit}: {len(ids)} objets, "
                                     f"{len(set(ids))} distincts, {layer.feature_count} attendus")
                results[key].append((seconds, size))
                pages[key] = count
            print(f"  exécution {run + 1} : " + ", ".join(
                f"{key} {values[-1][0]:.2f} s" for key, values in results.items()), flush=True)
    finally:
        server.terminate()
        server.wait(30)
        base.remove_layer()
    figures = {"date": datetime.date.today().strftime("%d/%m/%Y"), "machine": base.machine(),
               "count": layer.feature_count, "runs": args.runs,
               "load": " – ".join(fr(v, 1) for v in (min(loads), max(loads))),
               "max_pages": pages["max"], "small_pages": pages["small"],
               "all": {key: " ; ".join(fr(t, 2) for t, _ in values)
                       for key, values in results.items()}}
    for key, values in results.items():
        figures[key], figures[f"{key}_bytes"] = min(values)
    ratios = sorted(b[0] / a[0] for a, b in zip(results["floor"], results["max"]))
    figures["ratio_median"] = ratios[len(ratios) // 2]
    figures["ratios"] = " ; ".join(fr(r, 2) for r in ratios)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if not args.no_doc:
        write_doc(figures)
        print("docs/benchmarks.md mis à jour.")


if __name__ == "__main__":
    main()
