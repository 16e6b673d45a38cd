"""A cadastre-like GeoPackage of parcels cut out of the real communes of Cap Atlantique, for the
large-layer benchmarks (bench/bench_large.py). Not a benchmark itself.

    .venv/bin/python bench/parcel_dataset.py [--parcels 1000000] [--force]

Writes var/bench/parcelles_<N>.gpkg (kept out of git; reused when present, unless --force),
deterministically (same seed, same file content) from fixtures/communes_cap_atlantique.geojson:
  - each of the 15 communes (IGN ADMIN EXPRESS, generalised) gets a share of the parcels in
    proportion to its area; parcel seeds are drawn inside it, denser near its town hall
    (for a million: 45 to 1,200 m² for 90 % of them, 230 m² median), as parcels are in towns;
  - the parcels are the Voronoi cells of the seeds clipped to the commune, with a vertex every
    4 m along their boundaries, then every vertex moved by a smooth displacement field
    (wavelengths of 37 m and 11 m, ~1 m): crooked boundaries shared between neighbours, tens of
    vertices a parcel (22 on average, 6 to 74), valid MultiPolygons in Lambert-93 (EPSG:2154);
  - attributes as in the cadastre (PCI vecteur / Etalab): idu (14 characters), commune (INSEE),
    prefixe, section (a 400 m grid of the commune, 2 letters), numero (numbered along the
    section), contenance (m²), nature, arpente (boolean), created (date), updated (timestamp);
    fids follow the sections, as a cadastre file does.
The rows go through a scratch PostGIS table (COPY) and `ogr2ogr -f GPKG` (spatial index
included), then the table is dropped.
"""
import argparse
import io
import json
import subprocess
import sys
import time

import common
from common import ROOT

common.setup_django()

import numpy  # noqa: E402
import shapely  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from layers.publishing.ogr import connection_string, environment  # noqa: E402

FIXTURE = ROOT / "fixtures" / "communes_cap_atlantique.geojson"
SCRATCH = "bench_parcel_dataset"
SEED = 2154
VERTEX_SPACING = 4.0
SECTION_SIZE = 400.0
NATURES = ["sol", "terres", "prés", "jardins", "bois", "landes", "eaux", "vergers"]


def bench_dir():
    directory = settings.VAR_DIR / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def dataset_path(parcels):
    return bench_dir() / f"parcelles_{parcels}.gpkg"


def communes():
    """[(insee, commune polygon in Lambert-93, town hall point in Lambert-93)] from the fixture."""
    features = json.loads(FIXTURE.read_text(encoding="utf-8"))["features"]
    found = []
    with connection.cursor() as cursor:
        for feature in sorted(features, key=lambda f: f["properties"]["insee"]):
            properties = feature["properties"]
            cursor.execute(
                "SELECT ST_AsBinary(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), 2154)), "
                "ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 2154) p",
                [json.dumps(feature["geometry"]), properties["mairie_lon"], properties["mairie_lat"]],
            )
            wkb, x, y = cursor.fetchone()
            found.append((properties["insee"], shapely.from_wkb(bytes(wkb)), (x, y)))
    return found


def wiggle(coords):
    """A smooth displacement depending only on the position: shared boundaries stay shared."""
    x, y = coords[:, 0], coords[:, 1]
    tau = 2 * numpy.pi
    dx = 0.8 * numpy.sin((x * 0.8 + y * 0.6) / 37 * tau) + 0.3 * numpy.sin(y / 11 * tau)
    dy = 0.8 * numpy.cos((x * 0.6 - y * 0.8) / 37 * tau) + 0.3 * numpy.cos(x / 11 * tau)
    return numpy.column_stack([x + dx, y + dy])


def seeds(generator, commune, town_hall, count):
    """`count` points inside the commune, ~60 times denser at its town hall than far from it."""
    minx, miny, maxx, maxy = commune.bounds
    shapely.prepare(commune)
    found, total = [], 0
    while total < count:
        xy = generator.uniform((minx, miny), (maxx, maxy), (max(count, 50000), 2))
        distance = numpy.hypot(xy[:, 0] - town_hall[0], xy[:, 1] - town_hall[1])
        density = 0.016 + numpy.exp(-distance / 1200.0)
        keep = (generator.uniform(size=len(xy)) < density) & shapely.contains_xy(commune, xy[:, 0], xy[:, 1])
        found.append(xy[keep])
        total += int(keep.sum())
    return numpy.concatenate(found)[:count]


def commune_parcels(generator, insee, commune, town_hall, count):
    """Rows (idu, commune, prefixe, section, numero, contenance, nature, arpente, created,
    updated, hex EWKB) of one commune's parcels, in section order."""
    xy = seeds(generator, commune, town_hall, count)
    # ordered: the n-th cell is the n-th seed's, so the order stays stable.
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=commune,
                                                       ordered=True))
    cells = shapely.intersection(cells, commune)
    cells = shapely.transform(shapely.segmentize(cells, VERTEX_SPACING), wiggle)
    keep = (~shapely.is_empty(cells)) & shapely.is_valid(cells) & (shapely.area(cells) > 1)
    cells, xy = cells[keep], xy[keep]
    minx, miny = commune.bounds[:2]
    column = ((xy[:, 0] - minx) // SECTION_SIZE).astype(int)
    row = ((xy[:, 1] - miny) // SECTION_SIZE).astype(int)
    section_key = row * 1000 + column
    # Sections in grid order, parcels numbered along each section from north-west.
    order = numpy.lexsort((xy[:, 0], -xy[:, 1], section_key))
    cells, section_key = cells[order], section_key[order]
    sections = {key: number for number, key in enumerate(sorted(set(section_key.tolist())))}
    polygons = shapely.get_type_id(cells) == 3
    if polygons.any():
        cells[polygons] = shapely.multipolygons(cells[polygons][:, numpy.newaxis])
    cells = shapely.set_srid(cells, 2154)
    wkbs = shapely.to_wkb(cells, hex=True, include_srid=True)
    areas = shapely.area(cells)
    rows, numero, previous = [], 0, None
    for index in range(len(cells)):
        if shapely.get_type_id(cells[index]) not in (3, 6):
            continue  # a clipped cell that became a collection: rare, dropped
        section_number = sections[int(section_key[index])]
        if section_number != previous:
            numero, previous = 0, section_number
        numero += 1
        section = (chr(65 + section_number // 26 % 26) if section_number >= 26 else "0") \
            + chr(65 + section_number % 26)
        serial = len(rows)
        rows.append((f"{insee}000{section}{numero:04d}", insee, "000", section, numero,
                     int(round(areas[index])), NATURES[(serial * 7 + numero) % len(NATURES)],
                     "t" if serial % 13 == 0 else "f",
                     f"{1950 + serial % 70}-{1 + serial % 12:02d}-{1 + serial % 28:02d}",
                     f"2024-{1 + serial % 12:02d}-{1 + serial % 28:02d} 10:{serial % 60:02d}:00",
                     wkbs[index]))
    return rows


def generate(parcels, path):
    generator = numpy.random.default_rng(SEED)
    found = communes()
    areas = numpy.array([commune.area for _insee, commune, _hall in found])
    # A few percent more seeds than asked: cells lost to clipping are made up, then trimmed.
    shares = numpy.ceil(areas / areas.sum() * parcels * 1.01).astype(int)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS public.{SCRATCH}")
        cursor.execute(
            f"CREATE UNLOGGED TABLE public.{SCRATCH} (fid bigserial PRIMARY KEY, idu text, "
            "commune text, prefixe text, section text, numero integer, contenance integer, "
            "nature text, arpente boolean, created date, updated timestamp, "
            "geom geometry(MultiPolygon, 2154))")
    written = 0
    try:
        for (insee, commune, town_hall), share in zip(found, shares):
            rows = commune_parcels(generator, insee, commune, town_hall, int(share))
            rows = rows[:max(0, parcels - written)] if insee == found[-1][0] else rows
            buffer = io.StringIO()
            for values in rows:
                buffer.write("\t".join(str(value) for value in values) + "\n")
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY public.{SCRATCH} (idu, commune, prefixe, section, numero, "
                                   "contenance, nature, arpente, created, updated, geom) FROM STDIN",
                                   buffer)
            written += len(rows)
            print(f"  {insee} : {len(rows)} parcelles", file=sys.stderr)
        if written < parcels:
            raise SystemExit(f"{written} parcelles seulement (au lieu de {parcels})")
        partial = path.with_suffix(".partial.gpkg")
        partial.unlink(missing_ok=True)
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(partial), connection_string(),
                        "-sql", f"SELECT * FROM public.{SCRATCH} ORDER BY fid",
                        "-nln", "parcelles", "-nlt", "MULTIPOLYGON", "-a_srs", "EPSG:2154",
                        "-gt", "65536"], check=True, env=environment())
        partial.rename(path)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS public.{SCRATCH}")
    return written


def ensure_dataset(parcels=1_000_000, force=False):
    """Path of the GeoPackage of `parcels` parcels, generated first if missing (or forced)."""
    path = dataset_path(parcels)
    if force or not path.exists():
        started = time.perf_counter()
        written = generate(parcels, path)
        print(f"{written} parcelles écrites dans {path} en {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--force", action="store_true", help="generate again even if present")
    args = parser.parse_args()
    print(ensure_dataset(args.parcels, args.force))


if __name__ == "__main__":
    main()
