"""What the benchmark scripts of bench/ share: Django set-up, the machine's description, French
numbers, their section of docs/benchmarks.md, gunicorn and timing helpers.

Not a benchmark. The scripts stay runnable as `.venv/bin/python bench/bench_X.py`: Python puts
bench/ first on sys.path, so `import common` finds this file.
"""
import http.client
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The scripts import the project's apps and use its settings and database.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capgeo.settings")

from django.db import connection  # noqa: E402  (a lazy proxy: importable before django.setup())

DOC = ROOT / "docs" / "benchmarks.md"
# Cap Atlantique in Lambert-93, used when the communes are not loaded.
DEFAULT_EXTENT = (265000.0, 6690000.0, 312000.0, 6728000.0)


def setup_django():
    """Kept apart from the import so that bench_sync can choose its database before set-up."""
    import django

    django.setup()


# --- data ------------------------------------------------------------------------------------------
def territory_extent():
    """Extent of the loaded communes, so that generated data lies where the real data does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       "(SELECT ST_Extent(geom) AS e FROM territory_commune) s")
        row = cursor.fetchone()
    return row if row and row[0] is not None else DEFAULT_EXTENT


def drop_layer(name):
    """Remove a benchmark's layer and its table, including what an interrupted run left behind."""
    from layers.models import Layer
    from layers.tables import DATA_SCHEMA, qualified

    for layer in Layer.objects.filter(name=name):
        layer.delete()  # drops its tables too (layers.signals)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qualified(DATA_SCHEMA, name)}")


# --- servers ---------------------------------------------------------------------------------------
def free_port():
    """A port of 127.0.0.1 nothing listens on, so that a run never collides with a running server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port, process=None, name="le serveur", timeout=30, path=None):
    """Return once 127.0.0.1:port accepts connections (or answers GET `path` with 200), so that no
    timing includes a start-up; exit, killing `process`, if it dies or is not ready in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if path is None:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            elif http_get(port, path)[0] == 200:
                return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.2)
    detail = ""
    if process is not None:
        process.kill()
        if process.stderr:
            detail = " " + process.stderr.read().decode(errors="replace")[-2000:]
    raise SystemExit(f"{name} n'a pas démarré.{detail}")


def start_gunicorn(port, *options, timeout=30, ready_path=None, **popen):
    """The project served by gunicorn on 127.0.0.1:port, returned once ready. `options` are the
    benchmark's own gunicorn options (workers, timeout), `popen` its Popen arguments (env, output)."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "capgeo.wsgi", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", *options],
        cwd=ROOT, **popen,
    )
    wait_for(port, process, "gunicorn", timeout, ready_path)
    return process


def worker_pid(master):
    """Id of the single worker of a gunicorn master, whose memory the exports are charged to."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def peak_rss_kib(pid):
    """Peak resident memory of a process since it started (VmHWM), in KiB."""
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1))


# --- timing ----------------------------------------------------------------------------------------
def http_get(port, path):
    """(status, bytes read) of a GET, the body read to the end in 64 KiB pieces (never held whole)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path)
    response = conn.getresponse()
    size = 0
    while chunk := response.read(65536):
        size += len(chunk)
    conn.close()
    return response.status, size


def timed_get(port, path):
    """(seconds, bytes) of a GET on a new connection, the body read to the end; exits unless 200."""
    started = time.perf_counter()
    status, size = http_get(port, path)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"{path} answered {status}")
    return elapsed, size


class _ByteCounter:
    """A file-like sink that only counts, so that the SQL floor pays no storage of the output."""

    size = 0

    def write(self, data):
        self.size += len(data)


def timed_copy(select):
    """(seconds, bytes) of `COPY (select) TO STDOUT` read by psycopg2: the floor of an export,
    PostgreSQL encoding the same features without the HTTP stack."""
    sink = _ByteCounter()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.copy_expert(f"COPY ({select}) TO STDOUT", sink)
        elapsed = time.perf_counter() - started
    connection.connection.rollback()
    return elapsed, sink.size


def median_p95_ms(durations):
    """Median and 95th percentile (nearest rank below) of durations in seconds, in milliseconds."""
    ordered = sorted(durations)
    return {"median": statistics.median(ordered) * 1000,
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000}


# --- docs/benchmarks.md ----------------------------------------------------------------------------
def machine():
    """What the figures depend on, written next to them: processor, memory, software versions."""
    cpu = platform.processor() or "?"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{fr(kib / 1024 ** 2)} Gio"
    except (OSError, AttributeError):
        ram = "?"
    with connection.cursor() as cursor:
        cursor.execute("SELECT split_part(version(), ' ', 2), split_part(version(), ' on ', 1), "
                       "PostGIS_Lib_Version()")
        postgres, postgres_build, postgis = cursor.fetchone()
    return {"cpu": cpu, "nproc": os.cpu_count(), "ram": ram,
            "postgres": postgres,  # 15.18
            "postgres_build": postgres_build,  # PostgreSQL 15.18 (Debian 15.18-0+deb12u1)
            "postgis": postgis, "python": platform.python_version()}


def fr(value, digits=1, thousands=" "):
    """A number written the French way (1 234,5), as docs/benchmarks.md is in French."""
    return f"{value:,.{digits}f}".replace(",", thousands).replace(".", ",")


def write_section(heading, section):
    """Put `section` (starting with the `heading` line) in docs/benchmarks.md in place of its
    previous version, or at the end: each benchmark owns its section and leaves the others alone."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Mesures de performance\n"
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
    return DOC
