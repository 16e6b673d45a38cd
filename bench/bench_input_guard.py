"""Cost of the input guard (platform_web.input_guard) per request: a WMS GetMap query string, and JSON
bodies the size of sync batches, checked for NUL and nesting depth, next to the cost of parsing
the same body with json.loads (which the view does anyway).

No database, no server: the guard's functions on RequestFactory requests, best of 5 rounds.

    .venv/bin/python bench/bench_input_guard.py
"""
import datetime
import json
import platform
import time
import uuid

import common  # the project on sys.path, its settings


def best_of(function, rounds=5, repeat=1):
    timings = []
    for _round in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        timings.append((time.perf_counter() - started) / repeat)
    return min(timings)


def control(index):
    """A control change like the tablet's: 12 findings, 2 photos, comments."""
    return {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": str(uuid.uuid4()), "base_version": 3, "data": {
                "visit_date": datetime.date.today().isoformat(), "status": "submitted",
                "comments": f"Visite n° {index} faite en présence du propriétaire, « RAS ».",
                "findings": [{"item": f"point_{n}", "result": "ok", "comment": "conforme"}
                             for n in range(12)],
                "photos": [{"sha256": "ab" * 32, "size": 31000, "content_type": "image/jpeg"}
                           for _ in range(2)]}}


def main():
    common.setup_django()
    from django.test import RequestFactory

    from platform_web.input_guard import json_problem, request_problem

    factory = RequestFactory()
    getmap = factory.get("/ows", {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
                                  "LAYERS": "communes,mairies", "STYLES": "", "CRS": "EPSG:3857",
                                  "BBOX": "-280000,5980000,-270000,5990000", "WIDTH": "256",
                                  "HEIGHT": "256", "FORMAT": "image/png", "TRANSPARENT": "true"})
    per_get = best_of(lambda: request_problem(getmap), repeat=10_000)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"GET /ows GetMap (11 parameters): {per_get * 1e6:.1f} µs per request")
    for controls in (250, 1000, 4000):
        body = json.dumps({"batch_id": str(uuid.uuid4()), "device_id": str(uuid.uuid4()),
                           "changes": [control(i) for i in range(controls)]}).encode()
        guard = best_of(lambda: json_problem(body))
        parse = best_of(lambda: json.loads(body))
        print(f"sync batch of {controls} controls ({len(body) / 1e6:.2f} MB): guard "
              f"{guard * 1e3:.1f} ms, json.loads {parse * 1e3:.1f} ms "
              f"(guard = {guard / parse:.0%} of the parse)")


if __name__ == "__main__":
    main()
