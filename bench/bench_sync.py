"""Benchmark of the SPANC sync push (issue 6, Performance; issue 11, throughput).

Two parts, on a PostGIS database of its own (created by migrations the first time, kept
afterwards; default name capgeo_bench_sync), the data set up afresh each run:

1. In-process, through the real HTTP stack (Django test client: middleware, DRF, JSON parsing):
   a tablet pushes N controls (12 findings and 2 announced photos each) in batches of B changes
   (default: one batch of 1,000), uploads the photos, then replays the same batches and asks which
   photos are missing. Figures: changes/s, bytes, peak RSS, replay vs first push.
2. Over gunicorn (3 sync workers and a 120 s timeout, as run.sh serves the platform, on a free
   port): WMS GetMap latency of the published `spanc_installations` layer (a manager's map) while
   idle, then while 3 tablets push P controls each at once. Figures: WMS median and p95 idle vs
   under the pushes, and the pushes' changes/s.

    .venv/bin/python bench/bench_sync.py                        # prints the figures
    .venv/bin/python bench/bench_sync.py --json after.json      # … and keeps them
    .venv/bin/python bench/bench_sync.py --report before.json after.json
        # writes the sync section of docs/benchmarks.md, before and after side by side

`--profile` prints where the first push spends its time (SQL statements by shape, cProfile).
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import resource
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import common  # the project on sys.path, its settings; Django is set up in main()

SECTION = "## Synchronisation terrain SPANC (`bench/bench_sync.py`)"


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def profiled(function):
    """Run function under cProfile and count the SQL statements it sends (by shape), then print
    where the time went."""
    import collections
    import cProfile
    import pstats
    import re

    from django.db import connection

    counts, times = collections.Counter(), collections.Counter()

    def wrapper(execute, sql, params, many, context):
        shape = re.sub(r"\s+", " ", re.sub(r"%s(, %s)*", "?", sql))[:150]
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counts[shape] += 1
            times[shape] += time.perf_counter() - t0

    profile = cProfile.Profile(time.process_time)  # CPU of this process, not waits
    with connection.execute_wrapper(wrapper):
        result = profile.runcall(function)
    print(f"SQL statements: {sum(counts.values())}, {sum(times.values()):.2f} s in execute")
    for shape, seconds in times.most_common(25):
        print(f"{counts[shape]:6d} {seconds:7.2f} s  {shape}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats("fieldsync|layers/|wms/", 40)
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    return result


def load():
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- HTTP clients of part 2 --------------------------------------------------------------------
def request(port, method, path, token, body=None, timeout=600, headers=None):
    """(status, seconds, body bytes) of one request on a new connection, body read to the end."""
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    if body is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, time.perf_counter() - started, data
    except (OSError, http.client.HTTPException) as error:
        return f"error: {error!r}", time.perf_counter() - started, b""
    finally:
        conn.close()


def wms_path(extent):
    minx, miny, maxx, maxy = extent
    return "/ows?" + urllib.parse.urlencode({
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
        "LAYERS": "spanc_installations", "STYLES": "", "CRS": "EPSG:2154",
        "BBOX": f"{minx},{miny},{maxx},{maxy}", "WIDTH": 512, "HEIGHT": 512,
        "FORMAT": "image/png"})


def concurrent_part(args, modes, manager_token, inspector_token, extent):
    """WMS latency idle, then under `args.pushers` tablets pushing at once, over gunicorn with the
    background worker beside it (as run.sh serves the platform); for each mode ("sync": the
    answer in the request; "async": Prefer: respond-async, then polling Location)."""
    from django.conf import settings

    # The server the bench runs on (DATABASE_URL, or run.sh's local cluster), its own database.
    url = urllib.parse.urlsplit(os.environ.get("DATABASE_URL") or settings.DATABASE_URL)
    env = dict(os.environ, DATABASE_URL=url._replace(path="/" + args.database).geturl())
    port = common.free_port()
    server = common.start_gunicorn(port, "--workers", "3", "--timeout", "120", env=env)
    worker = common.subprocess.Popen(
        [str(common.ROOT / ".venv" / "bin" / "python"), "manage.py", "import_worker",
         "--no-reload", "--no-startup-delay", "--interval", "0.2"], cwd=common.ROOT, env=env)
    results = {}
    try:
        path = wms_path(extent)
        for _ in range(5):  # warm-up: each worker builds its map once
            status, _seconds, data = request(port, "GET", path, manager_token)
            assert status == 200 and data[:4] == b"\x89PNG", (status, data[:300])
        idle = [request(port, "GET", path, manager_token)[1] for _ in range(args.wms_requests)]
        load_idle = load()
        for mode, tablets in modes.items():
            results[mode] = pushes_under_wms(port, path, mode, tablets, manager_token,
                                             inspector_token)
            results[mode].update(changes=args.pusher_controls * len(tablets),
                                 rate=args.pusher_controls * len(tablets) / results[mode]["wall"])
    finally:
        server.terminate()
        worker.terminate()
        server.wait(30)
        worker.wait(30)
    return {"idle": common.median_p95_ms(idle), "load_idle": load_idle, "modes": results}


def pushes_under_wms(port, path, mode, tablets, manager_token, inspector_token):
    for device, _body in tablets:
        status, _s, data = request(port, "POST", "/api/sync/devices/", inspector_token,
                                   json.dumps({"id": device, "name": "Tablette de banc"}))
        assert status in (200, 201), (status, data[:300])
    pushes = [None] * len(tablets)
    headers = {"Prefer": "respond-async"} if mode == "async" else {}

    def push(index):
        t0 = time.perf_counter()
        status, seconds, data = request(port, "POST", "/api/sync/push/", inspector_token,
                                        tablets[index][1], headers=headers)
        answered = seconds
        location = f"/api/sync/push/{json.loads(tablets[index][1])['batch_id']}/"
        while status == 202:  # stored; read its state (Location) until the answer
            time.sleep(0.5)
            status, _s, data = request(port, "GET", location, inspector_token)
        statuses = {}
        if status == 200:
            for result in json.loads(data)["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        pushes[index] = {"status": status, "answered": answered,
                         "seconds": time.perf_counter() - t0, "statuses": statuses}

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(tablets))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    busy = []  # every map asked while a push runs, however long it waits for its answer
    while any(thread.is_alive() for thread in threads):
        status, seconds, _data = request(port, "GET", path, manager_token)
        busy.append(seconds if status == 200 else float("inf"))
    for thread in threads:
        thread.join()
    wall = max(p["seconds"] for p in pushes)
    return {"busy": common.median_p95_ms(busy or [0]), "busy_count": len(busy),
            "pushes": pushes, "wall": wall, "load": load()}


# --- set-up ------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controls", type=int, default=1000, help="controls of part 1")
    parser.add_argument("--batch", type=int, default=1000, help="changes per pushed batch")
    parser.add_argument("--photo-kb", type=int, default=30)
    parser.add_argument("--pushers", type=int, default=3, help="tablets pushing at once (part 2)")
    parser.add_argument("--pusher-controls", type=int, default=300,
                        help="controls each tablet pushes in part 2 (one batch)")
    parser.add_argument("--wms-requests", type=int, default=40, help="idle WMS samples")
    parser.add_argument("--modes", default="sync,async",
                        help="part 2: pushes answered in the request (sync), with Prefer: "
                             "respond-async (async), or both")
    parser.add_argument("--database", default="capgeo_bench_sync")
    parser.add_argument("--profile", action="store_true",
                        help="profile the first push: SQL statements by shape, cProfile")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--label", default="", help="name of this run in the report")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="write docs/benchmarks.md's section from runs kept with --json")
    parser.add_argument("--notes", help="Markdown file appended to the section (the analysis)")
    args = parser.parse_args()
    if args.report:
        common.setup_django()
        runs = [json.loads(Path(name).read_text()) for name in args.report]
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
        print(f"written: {common.write_section(SECTION, report(runs) + notes)}")
        return

    from django.conf import settings
    os.environ["CAPGEO_TEST_DB_NAME"] = args.database
    common.setup_django()
    settings.FIELDSYNC_PHOTO_ROOT = Path(tempfile.mkdtemp(prefix="capgeo-bench-photos-"))
    settings.ALLOWED_HOSTS = ["testserver"]
    from django.db import connection
    from django.test.utils import setup_test_environment
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)

    from django.contrib.gis.db.models import Extent
    from django.contrib.gis.geos import Point
    from django.test import Client

    from accounts.models import User
    from accounts.tokens import create_token
    from capgeo.demo import load_demo
    from territory.models import Commune
    from fieldsync import campaigns, publication
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
    publication.rebuild()

    modes = [m for m in args.modes.split(",") if m] if args.pushers else []
    total = args.controls + len(modes) * args.pushers * args.pusher_controls
    communes = list(Commune.objects.all())
    installations = []
    for index in range(total):
        commune = communes[index % len(communes)]
        point = commune.geom.point_on_surface
        installations.append(Installation(
            commune=commune, location=Point(point.x + index % 50, point.y + index // 50, srid=2154),
            address=f"{index} route du bench", owner_name=f"Propriétaire {index}"))
    Installation.objects.bulk_create(installations)
    manager = User.objects.get(username="responsable.spanc")
    inspector = User.objects.get(username="controleur.spanc")
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    campaign, planned = campaigns.plan_campaign(manager, "Banc d'essai", kind, communes)
    campaigns.assign(manager, list(campaign.controls.all()), inspector)

    client = Client()
    client.force_login(inspector)
    device = str(uuid.uuid4())
    client.post("/api/sync/devices/", {"id": device, "name": "Tablette de banc"},
                content_type="application/json")
    started = time.perf_counter()
    package = client.get(f"/api/sync/package/?device={device}")
    pull_seconds = time.perf_counter() - started
    all_controls = json.loads(package.content)["controls"]
    assert len(all_controls) == total, (len(all_controls), total)
    controls = all_controls[:args.controls]

    items = list(ChecklistItem.objects.filter(control_kinds=kind).values_list("code", flat=True))
    visit = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    photos = {}

    def change_for(index, control, keep_photos=True):
        refs = []
        for n in range(2):
            data = (f"JPEG {control['id']} {n} ".encode() * (args.photo_kb * 1024 // 48 + 1))[
                :args.photo_kb * 1024]
            sha = hashlib.sha256(data).hexdigest()
            if keep_photos:
                photos[sha] = data
            refs.append({"sha256": sha, "size": len(data), "content_type": "image/jpeg"})
        return {
            "change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": control["id"], "base_version": control["version"],
            "data": {"visit_date": visit, "status": "submitted", "photos": refs,
                     "comments": "Contrôle de banc d'essai.",
                     "findings": [{"item": code, "result": "defect" if (index + i) % 17 == 0
                                   else "ok"} for i, code in enumerate(items)]}}

    changes = [change_for(index, control) for index, control in enumerate(controls)]
    batches = [
        json.dumps({"batch_id": str(uuid.uuid4()), "device_id": device,
                    "changes": changes[i:i + args.batch]})
        for i in range(0, len(changes), args.batch)
    ]
    tablets = {mode: [] for mode in modes}
    start = args.controls
    for mode in modes:
        for _number in range(args.pushers):
            own = all_controls[start:start + args.pusher_controls]
            tablet = str(uuid.uuid4())
            tablets[mode].append((tablet, json.dumps({
                "batch_id": str(uuid.uuid4()), "device_id": tablet,
                "changes": [change_for(start + i, c, keep_photos=False)
                            for i, c in enumerate(own)]})))
            start += args.pusher_controls

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

    load_before = load()
    rss_before = rss_mb()
    cpu = time.process_time()
    first = profiled(push_all) if args.profile else push_all()
    first_cpu = time.process_time() - cpu
    load_after = load()
    rss_after_push = rss_mb()
    first_photos = upload_all()
    rss_after_photos = rss_mb()
    replay = push_all()
    replay_photos = check_missing()
    rss_end = rss_mb()
    assert replay[3] == first[3], (first[3], replay[3])
    assert first[3] == {"applied": len(changes)}, first[3]
    assert SyncChange.objects.count() == len(changes)

    print(f"First push: {first[0]:.2f} s for {len(changes)} changes "
          f"({len(changes) / first[0]:.0f}/s), {first_cpu:.2f} s of CPU; part 2 follows",
          flush=True)
    concurrent = None
    if modes:
        connection.close()
        _, manager_token = create_token(manager, "banc")
        _, inspector_token = create_token(inspector, "banc")
        extent = Installation.objects.aggregate(e=Extent("location"))["e"]
        extent = (extent[0] - 500, extent[1] - 500, extent[2] + 500, extent[3] + 500)
        connection.close()
        concurrent = concurrent_part(args, tablets, manager_token, inspector_token, extent)
        applied = SyncChange.objects.filter(status="applied").count()
        # Fewer than pushed when a push failed (a worker killed by gunicorn's timeout): reported.
        concurrent["applied"] = applied - len(changes)
        concurrent["expected"] = len(modes) * args.pushers * args.pusher_controls

    run = {
        "label": args.label,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": common.machine(), "host": platform.node(),
        "controls": len(changes), "batches": len(batches), "batch": args.batch,
        "findings": len(items), "photos": len(photos), "photo_kb": args.photo_kb,
        "pull_seconds": pull_seconds, "package_mb": len(package.content) / 1e6,
        "load_before": load_before, "load_after": load_after,
        "first": first[:3], "first_statuses": first[3], "first_cpu": first_cpu,
        "photo_upload": first_photos, "replay": replay[:3], "missing_check": replay_photos,
        "rss": [rss_before, rss_after_push, rss_after_photos, rss_end],
        "concurrent": concurrent,
        "pushers": args.pushers, "pusher_controls": args.pusher_controls,
        "wms_requests": args.wms_requests,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1))
    print_run(run)
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1))


def print_run(run):
    def line(label, seconds, count, sent, received=None):
        rate = count / seconds if seconds else float("inf")
        extra = f", answers {received / 1e6:.2f} MB" if received is not None else ""
        return (f"| {label} | {count} | {seconds:.2f} s | {rate:.0f}/s | "
                f"{sent / 1e6:.2f} MB{extra} |")

    print(f"Machine: {run['host']}, {run['machine']['nproc']} CPU, {run['date']}; load "
          f"{run['load_before']} before the push, {run['load_after']} after")
    print(f"Controls: {run['controls']} in {run['batches']} batch(es) of ≤ {run['batch']}, "
          f"{run['findings']} findings and 2 photos each; package pull {run['pull_seconds']:.2f} s")
    print("| phase | items | time | rate | bytes sent |")
    print("|---|---|---|---|---|")
    print(line("first push (changes)", run["first"][0], run["controls"], *run["first"][1:]))
    print(line("photo upload", run["photo_upload"][0], run["photos"], run["photo_upload"][1]))
    print(line("replay of the same batches", run["replay"][0], run["controls"],
               *run["replay"][1:]))
    print(line("missing-photo check per control", run["missing_check"][0], run["controls"], 0))
    print(f"First push: {run['first_cpu']:.2f} s of this process's CPU "
          f"({1000 * run['first_cpu'] / run['controls']:.1f} ms per change, PostgreSQL's apart)")
    print(f"Replay / first push: {100 * run['replay'][0] / run['first'][0]:.1f} % of the time; "
          f"peak RSS {' → '.join(f'{v:.0f}' for v in run['rss'])} MB")
    c = run["concurrent"]
    if c:
        print(f"WMS GetMap 512×512 spanc_installations: idle median {c['idle']['median']:.0f} ms, "
              f"p95 {c['idle']['p95']:.0f} ms (load {c['load_idle']}); applied "
              f"{c['applied']} of {c['expected']} changes pushed at once")
        for mode, r in c["modes"].items():
            print(f"  {mode}: during {run['pushers']} pushes of {run['pusher_controls']}: median "
                  f"{r['busy']['median']:.0f} ms, p95 {r['busy']['p95']:.0f} ms "
                  f"({r['busy_count']} requests), p95 ratio "
                  f"{r['busy']['p95'] / c['idle']['p95']:.1f}×; pushes: {r['changes']} changes "
                  f"in {r['wall']:.1f} s ({r['rate']:.0f}/s), each (status, answered, done): "
                  f"{[(p['status'], round(p['answered'], 1), round(p['seconds'], 1)) for p in r['pushes']]}"
                  f"; load {r['load']}")


def report(runs):
    """The section of docs/benchmarks.md: the runs side by side (e.g. before and after)."""
    fr = common.fr
    first = runs[0]
    m = first["machine"]

    def rate(count, seconds):
        return fr(count / seconds, 0) if seconds else "∞"

    heads = " | ".join(r["label"] or r["date"] for r in runs)
    rows = []

    def row(label, cells):
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    row("fin du passage ; charge (load average 1/5/15 min) avant le premier envoi",
        [f"{r['date']}, {r['load_before']}" for r in runs])
    row(f"**premier envoi** ({fr(first['controls'], 0)} contrôles, lots de "
        f"{fr(first['batch'], 0)})",
        [f"{fr(r['first'][0], 2)} s, **{rate(r['controls'], r['first'][0])} modifications/s**"
         for r in runs])
    row("temps processeur du processus pendant le premier envoi (PostgreSQL à part)",
        [f"{fr(r['first_cpu'], 2)} s ({fr(1000 * r['first_cpu'] / r['controls'], 1)} ms par "
         "modification)" for r in runs])
    row("envoi des photos (une requête par photo)",
        [f"{fr(r['photo_upload'][0], 2)} s, {rate(r['photos'], r['photo_upload'][0])} photos/s"
         for r in runs])
    row("renvoi des mêmes lots",
        [f"{fr(r['replay'][0], 2)} s ({fr(100 * r['replay'][0] / r['first'][0])} % du premier)"
         for r in runs])
    row("vérification des photos manquantes, par contrôle",
        [f"{fr(r['missing_check'][0], 2)} s" for r in runs])
    row("pic de RSS du processus (avant → après l'envoi)",
        [f"{r['rss'][0]:.0f} → {r['rss'][1]:.0f} Mo" for r in runs])
    if all(r["concurrent"] for r in runs):
        row("WMS GetMap au repos : médiane / p95 (charge)",
            [f"{fr(r['concurrent']['idle']['median'], 0)} / "
             f"{fr(r['concurrent']['idle']['p95'], 0)} ms ({r['concurrent']['load_idle']})"
             for r in runs])
        names = {"sync": "réponse dans la requête", "async": "`Prefer: respond-async`"}
        for mode in ("sync", "async"):
            def cell(r, text):
                got = r["concurrent"]["modes"].get(mode)
                return text(got, r) if got else "—"

            row(f"WMS pendant {first['pushers']} envois simultanés ({names[mode]}) : "
                "médiane / p95 (requêtes)",
                [cell(r, lambda g, r: f"{fr(g['busy']['median'], 0)} / "
                                      f"{fr(g['busy']['p95'], 0)} ms ({g['busy_count']})")
                 for r in runs])
            row(f"**p95 sous charge / p95 au repos** ({names[mode]} ; objectif ≤ 2)",
                [cell(r, lambda g, r: "**" + fr(g['busy']['p95']
                                                / r['concurrent']['idle']['p95']) + "**")
                 for r in runs])
            row(f"{first['pushers']} lots de {first['pusher_controls']} contrôles "
                f"({names[mode]}) : tous appliqués en (débit) ; réponse à chaque tablette "
                "après ; charge",
                [cell(r, lambda g, r: f"{fr(g['wall'], 1)} s ({fr(g['rate'], 0)} "
                                      f"modifications/s) ; "
                      + ", ".join(f"{fr(p['answered'], 1)} s" for p in g["pushes"])
                      + f" ; {g['load']}")
                 for r in runs])
    if all(r["concurrent"] for r in runs):
        row("modifications appliquées / envoyées pendant les envois simultanés",
            [f"{r['concurrent']['applied']} / {r['concurrent'].get('expected', '?')}"
             for r in runs])
    table = (f"| | {heads} |\n|---|" + "---|" * len(runs) + "\n" + "\n".join(rows))
    return f"""{SECTION}

Scénario (issues 6 et 11) : une tablette simulée envoie {fr(first['controls'], 0)} contrôles de bon
fonctionnement transmis ({first['findings']} constats et 2 photos annoncées chacun) en lots de
{fr(first['batch'], 0)} modifications, envoie les {fr(first['photos'], 0)} photos
({first['photo_kb']} Ko),
puis **renvoie les mêmes lots** et demande les photos manquantes. Cette première partie tourne
dans le processus, à travers toute la pile HTTP (client de test Django : intergiciels, DRF,
analyse JSON), sur une base PostGIS qui lui est propre, refaite à chaque passage. Seconde partie :
la plateforme servie par gunicorn comme `run.sh` la sert (3 workers synchrones, délai 120 s), un
responsable affiche la couche publiée `spanc_installations` (WMS GetMap 512×512 PNG, une
connexion par requête, l'une après l'autre) au repos ({first['wms_requests']} requêtes
après 5 de mise en route), puis pendant que {first['pushers']} tablettes envoient chacune un lot
de {first['pusher_controls']} contrôles au même moment.

```
.venv/bin/python bench/bench_sync.py --json apres.json --label après
.venv/bin/python bench/bench_sync.py --report avant.json apres.json
```

Machine : {m['cpu']}, {m['nproc']} cœurs, {m['ram']} ; PostgreSQL {m['postgres']},
PostGIS {m['postgis']}, Python {m['python']}. La machine est partagée avec d'autres travaux :
la charge est notée à chaque passage ; les deux colonnes sont mesurées l'une après l'autre.

{table}

"""


if __name__ == "__main__":
    main()
