"""Benchmark: WFS GetFeature of 100,000 polygons (GeoJSON and GML 3.2) through gunicorn, against
MapServer's WFS on the same table and the bare SQL floor.

    apt-get install -y mapserver-bin cgi-mapserver     # MapServer 8 (Debian 12), for (d)
    .venv/bin/python bench/bench_wfs.py [--polygons 100000] [--runs 3] [--no-doc]

Creates a public layer of squares (bench/bench_export.py's generator), starts gunicorn (one sync
worker, the project's settings) and times in the same run:
  (a) floor GeoJSON: `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 8) … ORDER BY fid) TO STDOUT`;
  (b) GET /ows?…GetFeature&OUTPUTFORMAT=geojson (EPSG:4326, 8 decimals, like the floor);
  (c) floor GML: `COPY (SELECT ST_AsGML(3, geom, 8, …) … ORDER BY fid) TO STDOUT`;
  (d) MapServer's WFS 2.0 GetFeature (GML 3.2, Lambert-93), `mapserv` run as a CGI on a mapfile
      over the same table (what a CGI/FastCGI deployment does per request);
  (e) GET /ows?…GetFeature (GML 3.2, Lambert-93) through gunicorn;
and the worker's peak memory (VmHWM). Writes docs/benchmarks.md, section
"WFS GetFeature de 100 000 polygones", then removes the layer and stops gunicorn.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_export as base  # noqa: E402  (django.setup() happens there)
from common import (fr, free_port, http_get, peak_rss_kib, timed_copy, timed_get,  # noqa: E402
                    worker_pid, write_section)
from django.db import connection  # noqa: E402

from layers.tables import DATA_SCHEMA, qualified  # noqa: E402

base.LAYER_NAME = LAYER_NAME = "bench_wfs_polygones"
SECTION = "## WFS GetFeature de 100 000 polygones"
TYPENAME = f"capgeo:{LAYER_NAME}"
GEOJSON_PATH = (f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={TYPENAME}"
                "&OUTPUTFORMAT=geojson&SRSNAME=urn:ogc:def:crs:EPSG::4326")
GML_PATH = (f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={TYPENAME}"
            "&SRSNAME=urn:ogc:def:crs:EPSG::2154")


def floor_geojson():
    return timed_copy(
        "SELECT ST_AsGeoJSON(t.*, 'geom', 8) FROM (SELECT fid, numero, libelle, surface, "
        f"ST_Transform(geom, 4326) AS geom FROM {qualified(DATA_SCHEMA, LAYER_NAME)} ORDER BY fid) t")


def floor_gml():
    return timed_copy(
        "SELECT fid, numero, libelle, surface, ST_AsGML(3, geom, 8, 1) "
        f"FROM {qualified(DATA_SCHEMA, LAYER_NAME)} ORDER BY fid")


# --- MapServer -------------------------------------------------------------------------------------
def mapfile(directory):
    settings = connection.settings_dict
    conninfo = (f"host={settings['HOST']} port={settings['PORT']} dbname={settings['NAME']} "
                f"user={settings['USER']} password={settings['PASSWORD']}")
    path = Path(directory) / "bench.map"
    path.write_text(f"""MAP
  NAME "bench"
  EXTENT 200000 6600000 400000 6800000
  PROJECTION "init=epsg:2154" END
  WEB
    METADATA
      "wfs_title" "bench"
      "wfs_onlineresource" "http://127.0.0.1/cgi-bin/mapserv?"
      "wfs_srs" "EPSG:2154 EPSG:4326"
      "wfs_enable_request" "*"
      "wfs_maxfeatures" "1000000"
    END
  END
  LAYER
    NAME "{LAYER_NAME}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{conninfo}"
    DATA "geom from (select fid, numero, libelle, surface, geom from layers_data.{LAYER_NAME} order by fid) as t using unique fid using srid=2154"
    PROJECTION "init=epsg:2154" END
    METADATA
      "wfs_title" "{LAYER_NAME}"
      "gml_include_items" "all"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "wfs_enable_request" "*"
    END
  END
END
""")
    config = Path(directory) / "mapserver.conf"
    config.write_text(f'CONFIG\n  ENV\n    MS_MAP_PATTERN "^{directory}"\n  END\nEND\n')
    return path, config


def mapserver(map_path, config):
    mapserv = shutil.which("mapserv") or "/usr/lib/cgi-bin/mapserv"
    query = (f"map={map_path}&SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={LAYER_NAME}"
             "&SRSNAME=urn:ogc:def:crs:EPSG::2154&COUNT=1000000")
    env = {"REQUEST_METHOD": "GET", "QUERY_STRING": query, "MAPSERVER_CONFIG_FILE": str(config),
           "PATH": os.environ.get("PATH", "")}
    started = time.perf_counter()
    process = subprocess.Popen([mapserv], env=env, stdout=subprocess.PIPE)
    size, head = 0, b""
    while chunk := process.stdout.read(65536):
        if len(head) < 4000:
            head += chunk[:4000]
        size += len(chunk)
    process.wait()
    elapsed = time.perf_counter() - started
    if b"ExceptionReport" in head[:3000] or process.returncode:
        raise SystemExit(f"mapserv failed: {head[:1500]!r}")
    return elapsed, size, head


def write_doc(f):
    mib = lambda n: fr(n / 1024 ** 2, 1)  # noqa: E731
    section = f"""{SECTION}

Mesuré le {f['date']} par `bench/bench_wfs.py` (à relancer pour mettre à jour ; MapServer :
`apt-get install -y mapserver-bin cgi-mapserver`, {f['mapserver_version']}).

- Machine : {f['machine']}.
- Données : {fr(f['count'], 0)} carrés de 20 m (3 attributs : entier, texte, réel) sur
  l'emprise de Cap Atlantique, en Lambert-93, couche publique ; toutes les réponses en une page,
  dans l'ordre des fid, coordonnées à 8 décimales.
- C@p Géo : gunicorn, 1 processus de travail synchrone, réglages du projet : django-gisserver
  construit la requête (filtre, droits, tri, pages), PostgreSQL encode chaque objet entier
  (`wms/wfs/renderers.py`), lu par lots d'un curseur côté serveur, réponse en flux. MapServer : `mapserv` en
  CGI sur un mapfile lisant la même table (connexion PostGIS, `gml_types auto`). Meilleure de
  {f['runs']} exécutions ; client dans le processus du banc (même machine).

| Opération | Durée | Octets |
|---|---|---|
| (a) plancher SQL GeoJSON : `COPY (SELECT ST_AsGeoJSON(t.*, 'geom', 8) …) TO STDOUT` (WGS 84) | {fr(f['floor_geojson'], 2)} s | {mib(f['floor_geojson_bytes'])} Mio |
| (b) C@p Géo `GetFeature&OUTPUTFORMAT=geojson&SRSNAME=…4326` | {fr(f['geojson'], 2)} s | {mib(f['geojson_bytes'])} Mio |
| Rapport (b) / (a) | **{fr(f['geojson'] / f['floor_geojson'], 2)}** (objectif : 1,3 au plus) | |
| (c) plancher SQL GML : `COPY (SELECT …, ST_AsGML(3, geom, 8, 1) …) TO STDOUT` (Lambert-93) | {fr(f['floor_gml'], 2)} s | {mib(f['floor_gml_bytes'])} Mio |
| (d) MapServer WFS 2.0 `GetFeature` GML 3.2 (Lambert-93) | {fr(f['mapserver'], 2)} s | {mib(f['mapserver_bytes'])} Mio |
| (e) C@p Géo `GetFeature` GML 3.2 (Lambert-93) | {fr(f['gml'], 2)} s | {mib(f['gml_bytes'])} Mio |
| Rapport (e) / (d) | **{fr(f['gml'] / f['mapserver'], 2)}** (objectif : 1 au plus) | |

- Mémoire du processus de travail gunicorn (VmHWM) : {fr(f['rss_before'] / 1024, 0)} Mio après
  une première requête, **{fr(f['rss_after'] / 1024, 0)} Mio** après toutes les réponses : le
  flux ne garde qu'un lot de lignes.
- Toutes les exécutions : (a) {f['all']['floor_geojson']} ; (b) {f['all']['geojson']} ;
  (c) {f['all']['floor_gml']} ; (d) {f['all']['mapserver']} ; (e) {f['all']['gml']} (secondes).
- Les deux GML portent un `gml:boundedBy` par objet ; le plancher GML n'a ni balises d'objet ni
  enveloppe `wfs:FeatureCollection`. La durée de MapServer comprend le lancement du CGI et sa
  connexion à PostgreSQL (quelques dizaines de millisecondes).
- Avant l'encodage des objets entiers par PostgreSQL (rendu de django-gisserver seul : une
  instance Django par objet, page GML lue en entier avant d'écrire) : GeoJSON 0,88 s (2,53 fois
  le plancher), GML 1,36 s (1,10 fois MapServer) et 336 Mio de pic mémoire.
"""
    write_section(SECTION, section)


def main():
    args = base.parse_args(__doc__)
    print(f"Couche de {args.polygons} polygones…", flush=True)
    layer = base.make_layer(args.polygons)
    layer.title = "Banc d'essai : WFS"
    layer.save(update_fields=["title"])
    port = free_port()
    server = base.start_gunicorn(port)
    directory = tempfile.mkdtemp(prefix="bench_wfs_")
    results = {key: [] for key in ("floor_geojson", "geojson", "floor_gml", "mapserver", "gml")}
    try:
        map_path, config = mapfile(directory)
        version = subprocess.run(["mapserv", "-v"], capture_output=True, text=True).stdout.strip()
        worker = worker_pid(server.pid)
        http_get(port, GML_PATH + "&COUNT=10")  # warm the worker up
        rss_before = peak_rss_kib(worker)
        for run in range(args.runs):
            results["floor_geojson"].append(floor_geojson())
            results["geojson"].append(timed_get(port, GEOJSON_PATH))
            results["floor_gml"].append(floor_gml())
            results["mapserver"].append(mapserver(map_path, config)[:2])
            results["gml"].append(timed_get(port, GML_PATH))
            print(f"  exécution {run + 1} : " + ", ".join(
                f"{key} {values[-1][0]:.2f} s ({values[-1][1]} o)" for key, values in results.items()),
                flush=True)
        rss_after = peak_rss_kib(worker)
    finally:
        server.terminate()
        server.wait(30)
        base.remove_layer()
        shutil.rmtree(directory, ignore_errors=True)
    figures = {"date": datetime.date.today().strftime("%d/%m/%Y"), "machine": base.machine(),
               "count": layer.feature_count, "runs": args.runs, "rss_before": rss_before,
               "rss_after": rss_after, "mapserver_version": " ".join(version.split()[:3]),
               "all": {key: " ; ".join(fr(t, 2) for t, _ in values)
                       for key, values in results.items()}}
    for key, values in results.items():
        figures[key], figures[f"{key}_bytes"] = min(values)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if not args.no_doc:
        write_doc(figures)
        print("docs/benchmarks.md mis à jour.")


if __name__ == "__main__":
    main()
