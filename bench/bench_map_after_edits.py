"""What an edit of a layer's rows costs the maps drawn next (issue 11: WMS latency while tablets
sync; wms migration 0005).

Every edit of a layer's rows (a sync push, a WFS-T transaction, a report) ends with
refresh_layer_metadata (count, extents, data date). This script draws the same GetMap of a
layer (512×512 PNG, the layer's whole extent, in-process through the whole Django stack, as a
GIS administrator) 20 times warm, then 20 times each right after such a refresh, five rounds,
and prints the medians. Run it against two databases migrated by two codes to compare them:

    .venv/bin/python bench/bench_map_after_edits.py [--layer spanc_installations]
    DATABASE_URL=…/other_db .venv/bin/python bench/bench_map_after_edits.py
"""
import argparse
import os
import statistics
import time

import common


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="spanc_installations")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    common.setup_django()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from layers.models import Layer
    from layers.tables import refresh_layer_metadata

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    user = (User.objects.filter(is_superuser=True).first()
            or User.objects.create_superuser("bench.admin", password=None))
    client = Client()
    client.force_login(user)
    layer = Layer.objects.get(name=args.layer)
    minx, miny, maxx, maxy = layer.extent.extent
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer.name,
              "STYLES": "", "CRS": "EPSG:2154", "BBOX": f"{minx},{miny},{maxx},{maxy}",
              "WIDTH": 512, "HEIGHT": 512, "FORMAT": "image/png"}

    def draw():
        started = time.perf_counter()
        response = client.get("/ows", params)
        assert response.status_code == 200 and response.content[:4] == b"\x89PNG", \
            response.content[:300]
        return (time.perf_counter() - started) * 1000

    for _ in range(5):
        draw()
    warm, edited = [], []
    for _ in range(args.rounds):
        warm += [draw() for _ in range(20)]
        for _ in range(20):
            refresh_layer_metadata(Layer.objects.get(name=args.layer))
            edited.append(draw())
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{layer.name} ({layer.feature_count} rows): GetMap median {statistics.median(warm):.1f}"
          f" ms warm, {statistics.median(edited):.1f} ms right after an edit of its rows; "
          f"{common.machine()['cpu']}, {os.cpu_count()} CPU, load {load}")


if __name__ == "__main__":
    main()
