"""Benchmark: publishing a GeoPackage of 1,000,000 points versus a bare ogr2ogr of the same file.

    .venv/bin/python bench/bench_import.py [--points 1000000] [--no-doc]

Generates the GeoPackage (random points inside Cap Atlantique's extent, with an integer, a real,
a text and a date attribute) with ogr2ogr from a PostGIS generate_series query, then times in the
same run:
  (a) a bare `ogr2ogr -f PostgreSQL` of the file into a scratch schema (default options: COPY,
      spatial index built at the end),
  (b) `manage.py publish_layer` of the same file (ogr2ogr into staging + SHA-256, column and
      geometry checks, GiST index, ANALYZE, atomic swap, catalogue and publication records).
Prints both and their ratio, writes them with the machine's description into docs/benchmarks.md
(section "Import d'un GeoPackage d'un million de points"), and removes everything it created.
Not a test: run it by hand on a quiet machine.
"""
import argparse
import datetime
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from common import ROOT, drop_layer, fr, territory_extent, write_section

common.setup_django()

from django.db import connection  # noqa: E402

from layers.models import ImportJob  # noqa: E402
from layers.publishing.ogr import connection_string, environment  # noqa: E402

SCRATCH_SCHEMA = "bench_import_scratch"
LAYER_NAME = "bench_import_points"
SECTION = "## Import d'un GeoPackage d'un million de points"


def generate_geopackage(path, points):
    xmin, ymin, xmax, ymax = territory_extent()
    sql = (
        f"SELECT i AS numero, round((random() * 1000)::numeric, 2)::float8 AS mesure, "
        f"'point ' || i AS libelle, DATE '2020-01-01' + (i % 1500) AS releve_le, "
        f"ST_SetSRID(ST_MakePoint({xmin} + random() * {xmax - xmin}, "
        f"{ymin} + random() * {ymax - ymin}), 2154) AS geom "
        f"FROM generate_series(1, {int(points)}) AS i"
    )
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(path), connection_string(), "-sql", sql,
                    "-nln", "points", "-gt", "65536"], check=True, env=environment())


def timed(command, **kwargs):
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - started


def bare_ogr2ogr(path):
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SCRATCH_SCHEMA}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{SCRATCH_SCHEMA}"')
    return timed(["ogr2ogr", "-f", "PostgreSQL", connection_string(), str(path),
                  "-nln", "points", "-lco", f"SCHEMA={SCRATCH_SCHEMA}"],
                 env=environment(), stdout=subprocess.DEVNULL)


def publish(path):
    return timed([sys.executable, str(ROOT / "manage.py"), "publish_layer", str(path),
                  "--name", LAYER_NAME, "--no-progress"], cwd=ROOT, stdout=subprocess.DEVNULL)


def clean_up():
    drop_layer(LAYER_NAME)  # its tables (live and archived) go with it (layers.signals)
    ImportJob.objects.filter(layer_name=LAYER_NAME).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SCRATCH_SCHEMA}" CASCADE')


def machine():
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()
    return {**common.machine(), "gdal": gdal}


def write_doc(points, size, bare, published, info):
    ratio = published / bare
    section = (
        f"{SECTION}\n\n"
        f"Mesuré le {datetime.date.today():%d/%m/%Y} par `bench/bench_import.py` "
        f"(à relancer pour mettre à jour).\n\n"
        f"- Machine : {info['cpu']}, {info['nproc']} cœurs (nproc), {info['ram']} de mémoire ;\n"
        f"  PostgreSQL {info['postgres']}, PostGIS {info['postgis']}, {info['gdal']}.\n"
        f"- Données : GeoPackage de {points:,} points aléatoires dans l'emprise de Cap Atlantique\n"
        f"  (Lambert-93), 4 attributs (entier, réel, texte, date), {size / 1024 / 1024:.0f} Mio.\n\n"
        f"| Opération | Durée |\n|---|---|\n"
        f"| (a) `ogr2ogr -f PostgreSQL` nu (COPY, index spatial) vers un schéma de travail | "
        f"{fr(bare, thousands='')} s |\n"
        f"| (b) `manage.py publish_layer` : chargement, empreinte SHA-256, contrôle et typage des "
        f"géométries, index GiST, ANALYZE, bascule atomique, catalogue et publication | "
        f"{fr(published, thousands='')} s |\n"
        f"| Rapport (b) / (a) | **{fr(ratio, 2, thousands='')}** (objectif : 1,5 au plus) |\n\n"
        "En plus du chargement brut, la publication calcule l'empreinte du fichier, parcourt une "
        "fois les géométries\n(validité, type), construit l'index GiST et les statistiques, puis "
        "bascule la table et enregistre la\nversion. Machine partagée : d'une exécution à l'autre, "
        "les durées varient de quelques pour cent.\n"
    ).replace(f"{points:,}", f"{points:,}".replace(",", "\u202f"))
    return write_section(SECTION, section)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args()
    clean_up()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as directory:
        path = Path(directory) / "points.gpkg"
        try:
            started = time.perf_counter()
            generate_geopackage(path, args.points)
            print(f"GeoPackage de {args.points} points : {path.stat().st_size / 1024 / 1024:.0f} Mio "
                  f"générés en {time.perf_counter() - started:.1f} s")
            bare = bare_ogr2ogr(path)
            print(f"(a) ogr2ogr nu         : {bare:6.1f} s")
            published = publish(path)
            print(f"(b) publish_layer      : {published:6.1f} s")
            print(f"rapport (b)/(a)        : {published / bare:6.2f}")
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT count(*) FROM layers_data."{LAYER_NAME}"')
                assert cursor.fetchone()[0] == args.points
            if not args.no_doc:
                print(f"écrit dans {write_doc(args.points, path.stat().st_size, bare, published, machine())}")
        finally:
            clean_up()


if __name__ == "__main__":
    main()
