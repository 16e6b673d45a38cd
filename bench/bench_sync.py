"""Benchmark of the SPANC sync push (issue 6, Performance): a simulated tablet pushes N controls
with 2 photos each, then replays the same batch(es).

Runs in-process against a dedicated PostGIS database (created by migrations the first time, kept
afterwards; default name capgeo_bench_sync), through the real HTTP stack (Django test client:
middleware, DRF, JSON parsing), so figures are server work plus the client's encoding.
Reports changes/s, request/response bytes, the process's peak RSS, and replay cost vs first push.

    .venv/bin/python bench/bench_sync.py --controls 1000 --photo-kb 30
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import time
import uuid
from pathlib import Path

import common  # the project on sys.path, its settings; Django is set up in main()


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def profiled(function):
    """Run function under cProfile and count the SQL statements it sends (by shape), then print
    where the time went."""
    import cProfile
    import collections
    import pstats
    import re as regex

    from django.db import connection

    counts, times = collections.Counter(), collections.Counter()

    def wrapper(execute, sql, params, many, context):
        shape = regex.sub(r"\s+", " ", regex.sub(r"%s(, %s)*", "?", sql))[:150]
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counts[shape] += 1
            times[shape] += time.perf_counter() - t0

    profile = cProfile.Profile()
    with connection.execute_wrapper(wrapper):
        result = profile.runcall(function)
    print(f"SQL statements: {sum(counts.values())}, {sum(times.values()):.2f} s in execute")
    for shape, seconds in times.most_common(25):
        print(f"{counts[shape]:6d} {seconds:7.2f} s  {shape}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(
        "fieldsync|layers/|wms/", 40)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controls", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=250, help="changes per pushed batch")
    parser.add_argument("--photo-kb", type=int, default=30)
    parser.add_argument("--database", default="capgeo_bench_sync")
    parser.add_argument("--profile", action="store_true",
                        help="profile the first push: SQL statements by count and time, cProfile")
    args = parser.parse_args()

    from django.conf import settings
    import tempfile
    os.environ["CAPGEO_TEST_DB_NAME"] = args.database
    common.setup_django()
    settings.FIELDSYNC_PHOTO_ROOT = Path(tempfile.mkdtemp(prefix="capgeo-bench-photos-"))
    settings.ALLOWED_HOSTS = ["testserver"]
    from django.db import connection
    from django.test.utils import setup_test_environment
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)

    from django.contrib.gis.geos import Point
    from django.test import Client

    from capgeo.accounts.models import User
    from capgeo.territory.demo import load_demo
    from capgeo.territory.models import Commune
    from fieldsync import management_actions
    from fieldsync.models import (
        AuditEntry, ChangeLog, ChecklistItem, Control, ControlKind, Installation, PhotoBlob,
        SyncBatch, SyncChange,
    )

    load_demo()
    # A clean slate for the domain tables (this database is the benchmark's own).
    for model in (AuditEntry, SyncChange, SyncBatch, ChangeLog):
        model.objects.all().delete()
    Control.objects.update(supersedes=None)
    Control.objects.all().delete()
    PhotoBlob.objects.all().delete()
    Installation.objects.all().delete()

    communes = list(Commune.objects.all())
    installations = []
    for index in range(args.controls):
        commune = communes[index % len(communes)]
        point = commune.geom.point_on_surface
        installations.append(Installation(
            commune=commune, location=Point(point.x + index % 50, point.y + index // 50, srid=2154),
            address=f"{index} route du bench", owner_name=f"Propriétaire {index}"))
    Installation.objects.bulk_create(installations)
    manager = User.objects.get(username="responsable.spanc")
    inspector = User.objects.get(username="controleur.spanc")
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    campaign, planned = management_actions.plan_campaign(manager, "Banc d'essai", kind, communes)
    management_actions.assign(manager, list(campaign.controls.all()), inspector)

    client = Client()
    client.force_login(inspector)
    device = str(uuid.uuid4())
    client.post("/api/sync/devices/", {"id": device, "name": "Tablette de banc"},
                content_type="application/json")
    started = time.perf_counter()
    package = client.get("/api/sync/package/")
    pull_seconds = time.perf_counter() - started
    controls = json.loads(package.content)["controls"]

    items = list(ChecklistItem.objects.filter(control_kinds=kind).values_list("code", flat=True))
    visit = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    photos, changes = {}, []
    for index, control in enumerate(controls):
        refs = []
        for n in range(2):
            data = (f"JPEG {control['id']} {n} ".encode() * (args.photo_kb * 1024 // 48 + 1))[
                :args.photo_kb * 1024]
            sha = hashlib.sha256(data).hexdigest()
            photos[sha] = data
            refs.append({"sha256": sha, "size": len(data), "content_type": "image/jpeg"})
        changes.append({
            "change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": control["id"], "base_version": control["version"],
            "data": {"visit_date": visit, "status": "submitted", "photos": refs,
                     "comments": "Contrôle de banc d'essai.",
                     "findings": [{"item": code, "result": "defect" if (index + i) % 17 == 0
                                   else "ok"} for i, code in enumerate(items)]}})
    batches = [
        json.dumps({"batch_id": str(uuid.uuid4()), "device_id": device,
                    "changes": changes[i:i + args.batch]})
        for i in range(0, len(changes), args.batch)
    ]

    def push_all():
        sent = received = 0
        statuses = {}
        t0 = time.perf_counter()
        for body in batches:
            response = client.post("/api/sync/push/", body, content_type="application/json")
            assert response.status_code == 200, response.content[:500]
            sent += len(body)
            received += len(response.content)
            for result in json.loads(response.content)["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        return time.perf_counter() - t0, sent, received, statuses

    def upload_all():
        sent = 0
        t0 = time.perf_counter()
        for sha, data in photos.items():
            response = client.put(f"/api/sync/photos/{sha}/", data,
                                  content_type="application/octet-stream")
            assert response.status_code == 200 and json.loads(response.content)["verified"]
            sent += len(data)
        return time.perf_counter() - t0, sent

    def check_missing():
        """What a tablet does after a replay: ask which photos are still missing (none)."""
        t0, missing = time.perf_counter(), 0
        for control in controls:
            response = client.get(f"/api/sync/controls/{control['id']}/photos/")
            missing += len(json.loads(response.content)["missing"])
        assert missing == 0
        return time.perf_counter() - t0, 0

    rss_before = rss_mb()
    if args.profile:
        first = profiled(push_all)
    else:
        first = push_all()
    rss_after_push = rss_mb()
    first_photos = upload_all()
    rss_after_photos = rss_mb()
    replay = push_all()
    replay_photos = check_missing()
    rss_end = rss_mb()
    assert replay[3] == first[3], (first[3], replay[3])
    assert SyncChange.objects.count() == len(changes)

    def line(label, seconds, count, sent, received=None):
        rate = count / seconds if seconds else float("inf")
        extra = f", answers {received / 1e6:.2f} MB" if received is not None else ""
        return (f"| {label} | {count} | {seconds:.2f} s | {rate:.0f}/s | "
                f"{sent / 1e6:.2f} MB{extra} |")

    print(f"Machine: {platform.node()} — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU, Python {platform.python_version()}, "
          f"{datetime.datetime.now().isoformat(timespec='minutes')}")
    print(f"Controls: {len(changes)} in {len(batches)} batch(es) of ≤ {args.batch}; "
          f"photos: {len(photos)} × {args.photo_kb} KB; package pull {pull_seconds:.2f} s "
          f"({len(package.content) / 1e6:.2f} MB)")
    print("| phase | items | time | rate | bytes sent |")
    print("|---|---|---|---|---|")
    print(line("first push (changes)", first[0], len(changes), first[1], first[2]))
    print(line("photo upload", first_photos[0], len(photos), first_photos[1]))
    print(line("replay of the same batches", replay[0], len(changes), replay[1], replay[2]))
    print(line("missing-photo check per control (nothing to resend)", replay_photos[0],
               len(controls), replay_photos[1]))
    print(f"Statuses first push: {first[3]}; replay: {replay[3]} (identical answers)")
    print(f"Replay / first push: {100 * replay[0] / first[0]:.1f} % of the time")
    print(f"Peak RSS of the process: {rss_before:.0f} MB before, {rss_after_push:.0f} MB after "
          f"the push, {rss_after_photos:.0f} MB after photos, {rss_end:.0f} MB at the end")


if __name__ == "__main__":
    main()
