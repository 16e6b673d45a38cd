"""WMS GetMap and WFS GetFeature throughput with 1 or 2 app servers, with or without the streaming
replica (issue 17), in the same run, against the databases and Redis of `./run.sh cluster start`.

    ./run.sh cluster start
    .venv/bin/python bench/bench_cluster.py --seconds 20 --clients 8

For each case the bench starts its own gunicorn app servers (as scripts/cluster.sh starts them:
CAPGEO_CLUSTER_WORKERS sync workers, 2 by default) on free ports, with DATABASE_URL on the primary
and, for the "replica" cases, DATABASE_REPLICA_URL on the replica; tiles in the cluster's Redis.
Then `--clients` closed-loop client threads send, for `--seconds`, WMS GetMap 256×256 PNG of
`communes` + `zones_activite` on random 5 km boxes of the territory (EPSG:2154), then the same for
WFS 2.0 GetFeature of 20 `communes` (GeoJSON) on random boxes; requests are spread over the app
servers in turn. It prints requests per second, median and 95th percentile latency and errors
per case, with the machine's load average before and after, and the replica's share of the reads
(its pg_stat_database counters).
"""
import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
TERRITORY = (270000.0, 6690000.0, 310000.0, 6720000.0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(replica):
    pg_port = int(os.environ.get("CAPGEO_PG_PORT") or 55432)
    replica_port = int(os.environ.get("CAPGEO_REPLICA_PORT") or pg_port + 1)
    redis_port = int(os.environ.get("CAPGEO_REDIS_PORT") or 56379)
    password = (VAR / "pg" / "password").read_text().strip()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_REPLICA_URL")}
    env["DATABASE_URL"] = f"postgis://capgeo:{password}@127.0.0.1:{pg_port}/capgeo"
    if replica:
        env["DATABASE_REPLICA_URL"] = f"postgis://capgeo:{password}@127.0.0.1:{replica_port}/capgeo"
    env["CAPGEO_TILE_CACHE_REDIS"] = f"redis://127.0.0.1:{redis_port}/0"
    return env


def start_servers(count, replica):
    servers = []
    workers = os.environ.get("CAPGEO_CLUSTER_WORKERS", "2")
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "capgeo.wsgi:application", "--chdir",
             str(ROOT), "--bind", f"127.0.0.1:{port}", "--workers", workers, "--timeout", "120",
             "--no-control-socket", "--error-logfile", str(VAR / "log" / f"bench-cluster-{port}.log")],
            env=environment(replica), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        servers.append((process, f"http://127.0.0.1:{port}"))
    for process, base in servers:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{base} did not start")
            time.sleep(0.3)
    return servers


def stop_servers(servers):
    for process, _base in servers:
        os.killpg(process.pid, signal.SIGTERM)
    for process, _base in servers:
        process.wait(timeout=30)


def wms_params(rng):
    minx = rng.uniform(TERRITORY[0], TERRITORY[2] - 5000)
    miny = rng.uniform(TERRITORY[1], TERRITORY[3] - 5000)
    return {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
            "LAYERS": "communes,zones_activite", "STYLES": "", "CRS": "EPSG:2154",
            "BBOX": f"{minx},{miny},{minx + 5000},{miny + 5000}", "WIDTH": "256",
            "HEIGHT": "256", "FORMAT": "image/png"}


def wfs_params(rng):
    minx = rng.uniform(TERRITORY[0], TERRITORY[2] - 5000)
    miny = rng.uniform(TERRITORY[1], TERRITORY[3] - 5000)
    return {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
            "TYPENAMES": "communes", "COUNT": "20",
            "BBOX": f"{minx},{miny},{minx + 5000},{miny + 5000},EPSG:2154",
            "OUTPUTFORMAT": "application/json"}


def run_load(bases, make_params, clients, seconds):
    latencies, errors = [], []
    lock = threading.Lock()
    turn = iter(range(10 ** 9))
    stop = time.monotonic() + seconds

    def client(seed):
        rng = random.Random(seed)
        session = requests.Session()
        while time.monotonic() < stop:
            with lock:
                base = bases[next(turn) % len(bases)]
            started = time.perf_counter()
            try:
                response = session.get(f"{base}/ows", params=make_params(rng), timeout=120)
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if ok else errors).append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / duration,
        "median_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else None,
        "requests": len(latencies), "errors": len(errors),
    }


def replica_reads():
    """Blocks read (hits + reads) of the capgeo database on the replica, as counted by it."""
    pg_port = int(os.environ.get("CAPGEO_PG_PORT") or 55432)
    replica_port = int(os.environ.get("CAPGEO_REPLICA_PORT") or pg_port + 1)
    command = ["/usr/lib/postgresql/15/bin/psql", "-X", "-tA", "-h", str(VAR / "pg-replica" / "run"),
               "-p", str(replica_port), "-U", "postgres", "-d", "capgeo", "-c",
               "SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = 'capgeo'"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    return int(result.stdout.strip() or 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    cases = [(1, False), (1, True), (2, False), (2, True)]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} processors, "
          f"load average before: {os.getloadavg()}")
    print("| app servers | replica | request | req/s | median ms | p95 ms | requests | errors | "
          "replica blocks read |")
    print("|---|---|---|---|---|---|---|---|---|")
    for count, replica in cases:
        servers = start_servers(count, replica)
        bases = [base for _process, base in servers]
        try:
            # Warm-up: each worker builds its Mapnik maps and its decisions once.
            run_load(bases, wms_params, args.clients, 3)
            run_load(bases, wfs_params, args.clients, 2)
            for name, make_params in (("WMS GetMap", wms_params), ("WFS GetFeature", wfs_params)):
                before = replica_reads()
                result = run_load(bases, make_params, args.clients, args.seconds)
                read = replica_reads() - before
                print(f"| {count} | {'oui' if replica else 'non'} | {name} | {result['rps']:.1f} | "
                      f"{result['median_ms']:.0f} | {result['p95_ms']:.0f} | {result['requests']} | "
                      f"{result['errors']} | {read} |", flush=True)
        finally:
            stop_servers(servers)
    print(f"# load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
