"""Benchmark of the reports (issue 16, Performance): 10,000 reports with photos in the database.

On a PostGIS database of its own (default capgeo_bench_signalements, created by migrations the
first time and kept), the reports set up afresh each run:

1. Creating a report through the real HTTP stack (Django test client: middleware, CSRF-free form
   post, rate limits counted in PostgreSQL, routing through the zone layer, duplicate-free key,
   audit trail, publication of both layers in the transaction): N reports without photo, then N
   with one 12-megapixel phone photo (Pillow re-encoding). Server time, median and p95.
2. The possible duplicates of a point (the form's JSON endpoint: radius, related types,
   pg_trgm similarity) among the 10,000 reports.
3. The public layer drawn by the WMS (GetMap 512×512 in EPSG:3857 over Guérande, then over the
   whole territory) side by side with the same rows published as an ordinary catalogue layer
   (a copy made by the catalogue's own table code): "as fast as any catalogue layer".

    .venv/bin/python bench/bench_signalements.py                  # prints the figures
    .venv/bin/python bench/bench_signalements.py --write          # … and writes its section of
                                                                  #     docs/benchmarks.md
"""
import argparse
import io
import os
import random
import time

import common  # the project on sys.path, its settings; Django is set up in main()

SECTION = "## Signalements (`bench/bench_signalements.py`)"
COPY = "bench_signalements_copie"
NOTES = """Lecture (3 décembre 2026, machine calme, aucune autre tâche) :

- Création d'un signalement : **objectif atteint**, p95 de 29 à 31 ms pour 100 ms sur deux
  exécutions (médiane ≈ 24 ms), recherche de doublons comprise (≈ 8 ms de médiane parmi les
  10 000). Le 2 décembre, sous une charge de 9 à 12 pour 2 cœurs, la même mesure donnait
  164 / 576 ms : la machine, pas le code. La publication des deux couches ne remesure plus
  toute la table (compte et emprises) à chaque changement : seulement quand une ligne sort d'une
  couche ou qu'un point tombe hors de l'emprise connue (`signalements/publication.py`).
- La couche publique se dessine comme la même couche publiée de façon ordinaire : c'est une
  table `layers_data` comme les autres (mêmes index, même rendu) ; les écarts du tableau sont du
  bruit.
- La photo d'un téléphone (12 Mpx) coûte surtout son décodage et son ré-encodage par Pillow
  (réduction à 1 600 px et suppression des métadonnées), hors de l'objectif."""


def phone_photo(size=(4000, 3000)):
    from PIL import Image

    image = Image.effect_noise(size, 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def fill(total, seed=16):
    """`total` reports spread over the communes, types and states of the demo, each with a small
    photo, created in one set-based statement per table, then both layers rebuilt."""
    from django.db import connection

    from signalements import publication
    from signalements.models import Category, Report, ReportEvent, ReportPhoto, Service
    from signalements.routing import categories_for

    ReportEvent.objects.all().delete()
    ReportPhoto.objects.all().delete()
    Report.objects.all().delete()
    random.seed(seed)
    leaves = [c.pk for c in categories_for() if c.code != "zone-activite"]
    services = list(Service.objects.values_list("pk", flat=True))
    photo = phone_photo((320, 240))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO signalements_report (uuid, tracking_token, category_id, service_id,
                commune_id, location, address, description, attributes, status, status_reason,
                contact_name, contact_email, contact_phone, source, device_id, client_key,
                supports, version, created_at, updated_at)
            SELECT md5(random()::text || n)::uuid, md5('t' || n || random()),
                   (%(leaves)s)[1 + n %% cardinality(%(leaves)s)],
                   (%(services)s)[1 + n %% cardinality(%(services)s)], c.id, p.geom, '',
                   (ARRAY['Nid de poule dans la chaussée', 'Lampadaire éteint depuis hier',
                          'Dépôt de gravats sur le bas-côté', 'Tag sur le mur de la salle',
                          'Panneau couché par le vent', 'Trottoir défoncé devant l''école'])
                       [1 + n %% 6] || ' n° ' || n, '{}'::jsonb,
                   (ARRAY['nouveau', 'pris_en_compte', 'en_cours', 'resolu', 'rejete'])
                       [1 + (n * 7) %% 5], '', '', '', '', 'web', '', '', 0, 1,
                   now() - (n %% 120) * interval '1 day', now()
            FROM (SELECT row_number() OVER () AS n, d.geom
                  FROM ST_Dump(ST_GeneratePoints((SELECT ST_Union(geom) FROM territory_commune),
                                                 %(total)s, %(seed)s)) d) p
            JOIN territory_commune c ON ST_Intersects(c.geom, p.geom)
            """, {"leaves": leaves, "services": services, "total": total, "seed": seed})
        cursor.execute(
            "INSERT INTO signalements_reportphoto (report_id, token, data, width, height, public,"
            " created_at) SELECT id, md5('p' || id || random()), %s, 320, 240, true, now()"
            " FROM signalements_report", [photo])
        cursor.execute("ANALYZE signalements_report")
    publication.rebuild()
    return Report.objects.count(), Category.objects.count()


def copy_as_catalogue_layer():
    """The public layer's rows as an ordinary catalogue layer (same columns, same rows, table made
    by layers.tables like any published layer, public rule)."""
    from django.db import connection

    from layers.models import AccessRule, Audience, Layer, Permission
    from layers.tables import DATA_SCHEMA, copy_table, refresh_layer_metadata

    common.drop_layer(COPY)
    with connection.cursor() as cursor:
        copy_table(DATA_SCHEMA, "signalements", DATA_SCHEMA, COPY)
    source = Layer.objects.get(name="signalements")
    layer = Layer.objects.create(name=COPY, title="Copie des signalements (banc)",
                                 theme=source.theme, licence=source.licence)
    AccessRule.objects.create(layer=layer, audience=Audience.PUBLIC,
                              permission=Permission.DOWNLOAD)
    refresh_layer_metadata(layer)
    return layer


def timed(function, runs):
    durations = []
    for index in range(runs):
        started = time.perf_counter()
        function(index)
        durations.append(time.perf_counter() - started)
    return common.median_p95_ms(durations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="capgeo_bench_signalements")
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    from django.conf import settings
    os.environ["CAPGEO_TEST_DB_NAME"] = args.database
    common.setup_django()
    settings.ALLOWED_HOSTS = ["testserver"]
    from django.test.utils import setup_test_environment
    setup_test_environment()  # e-mails to Django's in-memory outbox
    from django.db import connection
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    settings.CAPGEO_REPORT_RATE_IP = "1000000/h"

    from django.test import Client

    from capgeo.demo import load_demo
    from signalements.demo import load_services_and_types
    from signalements.models import Category

    load_demo()
    load_services_and_types()
    started = time.perf_counter()
    total, _ = fill(args.reports)
    fill_seconds = time.perf_counter() - started
    print(f"{total} signalements avec photo créés en {fill_seconds:.1f} s")

    client = Client()
    pothole = Category.objects.get(code="nid-de-poule")
    random.seed(7)

    def post(index, photo=None):
        lon, lat = -2.4286 + random.uniform(-0.01, 0.01), 47.3281 + random.uniform(-0.01, 0.01)
        data = {"categorie": pothole.pk, "longitude": f"{lon:.6f}", "latitude": f"{lat:.6f}",
                "description": f"Nid de poule profond n° {index} {random.random()}",
                f"champ_{pothole.pk}_taille": "moyen"}
        if photo:
            data["photos"] = [io.BytesIO(photo)]
            data["photos"][0].name = "IMG.jpg"
        response = client.post("/signalements/nouveau/", data)
        assert response.status_code == 302, response.content[:500]

    def duplicates(index):
        lon, lat = -2.4286 + random.uniform(-0.01, 0.01), 47.3281 + random.uniform(-0.01, 0.01)
        response = client.get("/signalements/doublons.json", {
            "categorie": pothole.pk, "longitude": lon, "latitude": lat,
            "texte": "nid de poule profond"})
        assert response.status_code == 200

    post(-1)  # warm-up: first request, caches of the process
    figures = {"create": timed(post, args.runs)}
    big = phone_photo()
    figures["create_photo"] = timed(lambda i: post(i, big), max(10, args.runs // 4))
    figures["duplicates"] = timed(duplicates, args.runs)

    copy_as_catalogue_layer()
    from pyproj import Transformer

    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)

    def box(lon1, lat1, lon2, lat2):
        (x1, x2), (y1, y2) = to_3857.transform([lon1, lon2], [lat1, lat2])
        return f"{x1:.0f},{y1:.0f},{x2:.0f},{y2:.0f}"

    boxes = {"Guérande, 1,2 km": box(-2.437, 47.323, -2.421, 47.334),
             "territoire, 45 km": box(-2.65, 47.20, -2.15, 47.52)}

    def getmap(layer, box):
        def run(index):
            response = client.get("/ows", {
                "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer,
                "STYLES": "", "CRS": "EPSG:3857", "BBOX": box, "WIDTH": 512, "HEIGHT": 512,
                "FORMAT": "image/png"})
            assert response.status_code == 200 and response["Content-Type"] == "image/png", \
                response.content[:300]
        return run

    wms = {}
    for label, box in boxes.items():
        for layer in ("signalements", COPY):
            getmap(layer, box)(0)
            wms[(label, layer)] = timed(getmap(layer, box), args.runs)
    common.drop_layer(COPY)

    machine = common.machine()
    load = os.getloadavg()
    lines = [
        SECTION, "",
        f"Mesuré le {time.strftime('%Y-%m-%d')} sur {machine['cpu']} ({machine['nproc']} cœurs, "
        f"{machine['ram']}), PostgreSQL {machine['postgres']}, PostGIS {machine['postgis']} ; "
        f"charge moyenne {common.fr(load[0], 1)} (les autres tâches de la machine comprises). "
        f"{common.fr(total, 0)} signalements avec photo dans la base ; temps serveur dans le "
        "processus (client de test de Django : intergiciels, limites comptées dans PostgreSQL, "
        "aiguillage, journal, publication des deux couches dans la transaction).",
        "", "| Opération | Médiane (ms) | p95 (ms) | Objectif |", "|---|---|---|---|",
        f"| Créer un signalement sans photo ({args.runs} fois) | "
        f"{common.fr(figures['create']['median'])} | {common.fr(figures['create']['p95'])} | "
        "p95 ≤ 100 ms |",
        f"| Créer un signalement avec une photo de 12 Mpx ({max(10, args.runs // 4)} fois) | "
        f"{common.fr(figures['create_photo']['median'])} | "
        f"{common.fr(figures['create_photo']['p95'])} | — (ré-encodage Pillow) |",
        f"| Doublons possibles d’un point ({args.runs} fois) | "
        f"{common.fr(figures['duplicates']['median'])} | "
        f"{common.fr(figures['duplicates']['p95'])} | compris dans la création |",
        "", "WMS GetMap 512×512 (EPSG:3857), la couche publique `signalements` et la même couche "
        "publiée comme une couche ordinaire du catalogue, côte à côte :", "",
        "| Emprise | `signalements` médiane / p95 (ms) | copie ordinaire médiane / p95 (ms) |",
        "|---|---|---|",
    ]
    for label in boxes:
        a, b = wms[(label, "signalements")], wms[(label, COPY)]
        lines.append(f"| {label} | {common.fr(a['median'])} / {common.fr(a['p95'])} | "
                     f"{common.fr(b['median'])} / {common.fr(b['p95'])} |")
    lines += ["", NOTES]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        print(f"written: {common.write_section(SECTION, section)}")


if __name__ == "__main__":
    main()
