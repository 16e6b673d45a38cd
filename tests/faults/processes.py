"""Real processes for the fault tests: a throwaway PostgreSQL + PostGIS cluster, the platform served
by gunicorn as `./run.sh demo` serves it, the import worker, and the means to find and kill the
process serving a given request.

The cluster is the tests' own (initdb in a temporary directory, a free port): it can be stopped,
restarted and thrown away without touching the shared cluster. The platform's database is built
on it like `./run.sh setup` builds it: `manage.py migrate` then `manage.py load_demo`.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's scripts (gunicorn)
PG_BIN = Path(os.environ.get("CAPGEO_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "demo-capgeo"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout=30, interval=0.05, what="la condition"):
    """Poll predicate() until it returns a true value (returned); AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} : toujours faux après {timeout} s")
        time.sleep(interval)


class Cluster:
    """A PostgreSQL 15 + PostGIS cluster of its own, in a temporary directory, on a free port."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="capgeo-faults-pg-"))
        self.data, self.socket_dir = self.base / "data", self.base / "run"
        self.log = self.base / "postgresql.log"
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.as_root = os.geteuid() == 0

    def _run(self, *command, **options):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True,
                              text=True, **options)

    def create(self):
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"{PG_BIN}/initdb est introuvable (paquet postgresql-15)")
        self.socket_dir.mkdir()
        if self.as_root:  # PostgreSQL refuses to run as root: the cluster belongs to postgres
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth=trust")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.socket_dir}'\n"
                       # A process crash (what these tests cause) loses nothing without fsync;
                       # only an operating-system crash would.
                       "fsync = off\nfull_page_writes = off\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        self.start()
        self._run(PG_BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                  "-p", self.port, "-U", "postgres", "-d", "postgres",
                  "-c", f"CREATE ROLE capgeo LOGIN CREATEDB PASSWORD '{self.password}'",
                  "-c", "CREATE DATABASE capgeo OWNER capgeo",
                  "-c", "\\connect capgeo", "-c", "CREATE EXTENSION postgis")
        return self

    def start(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def url(self):
        return f"postgis://capgeo:{self.password}@127.0.0.1:{self.port}/capgeo"

    def connect(self, autocommit=True):
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="capgeo",
                                      password=self.password, dbname="capgeo",
                                      application_name="capgeo-faults-test")
        connection.autocommit = autocommit
        return connection

    def query(self, sql, params=()):
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else None
        connection.close()
        return rows

    def value(self, sql, params=()):
        return self.query(sql, params)[0][0]


class Platform:
    """The platform's environment on a cluster: its own var directory, manage.py, gunicorn and
    the import worker, as `./run.sh demo` starts them."""

    def __init__(self, cluster, **settings):
        self.cluster = cluster
        self.var = Path(tempfile.mkdtemp(prefix="capgeo-faults-var-"))
        self.settings = settings
        self.gunicorn = None
        self.port = None
        self.error_log = self.var / "log" / "gunicorn-error.log"
        self.error_log.parent.mkdir(parents=True)

    @property
    def env(self):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DJANGO_", "PYTEST_"))}
        env.update({"DATABASE_URL": self.cluster.url, "CAPGEO_VAR_DIR": str(self.var),
                    "MEDIA_ROOT": str(self.var / "media"), "STATIC_ROOT": str(static_root()),
                    **self.settings})
        return env

    def manage(self, *args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              check=True, capture_output=True, text=True)

    def build(self):
        """`manage.py migrate` then what `manage.py load_demo` loads, in one process and without
        the catalogue's thumbnails (nothing here looks at them): a few seconds saved."""
        self.manage("shell", "-c", "\n".join([
            "from django.core.management import call_command",
            "call_command('migrate', interactive=False, verbosity=0)",
            "from capgeo.demo import load_demo",
            "from webmap.demo import load_saved_maps_demo",
            "from fieldsync.demo import load_spanc_demo",
            "load_demo(thumbnails=False)",
            "load_saved_maps_demo()",
            "load_spanc_demo()",
        ]))
        return self

    # --- gunicorn ---------------------------------------------------------------------------
    def serve(self, workers=3):
        self.port = free_port()
        with open(self.var / "log" / "gunicorn-output.log", "ab") as output:
            self.gunicorn = subprocess.Popen(
                [BIN / "gunicorn", "capgeo.wsgi:application", "--chdir", ROOT,
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--timeout", "120",
                 "--no-control-socket", "--error-logfile", self.error_log, "--log-level", "info"],
                cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        wait_until(lambda: self._healthy(), timeout=60, interval=0.2, what="gunicorn prêt")
        wait_until(lambda: len(self.workers()) == workers, timeout=30, what="workers démarrés")
        return self

    def _healthy(self):
        if self.gunicorn.poll() is not None:
            raise AssertionError(f"gunicorn s'est arrêté : {self.error_log.read_text()[-2000:]}")
        try:
            return requests.get(self.url("/healthz"), timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def workers(self):
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self):
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGINT)  # quick shutdown: nothing left to finish
            try:
                self.gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.var, ignore_errors=True)

    # --- the import worker ------------------------------------------------------------------
    def import_worker(self):
        output = open(self.var / "log" / "import-worker.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "import_worker", "--no-reload", "--no-startup-delay",
             "--interval", "0.2"],
            cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own group: killed with the ogr2ogr it may run
        output.close()
        return process

    # --- killing the process serving a request ----------------------------------------------
    def blocked_backend(self, timeout=30):
        """(pid, client port) of the platform's database session waiting for a lock the test
        holds: the request is then stopped at a known point."""
        return wait_until(lambda: (self.cluster.query(
            "SELECT pid, client_port FROM pg_stat_activity WHERE application_name = 'capgeo' "
            "AND wait_event_type = 'Lock'") or [None])[0], timeout=timeout,
            what="une requête de la plateforme attend le verrou du test")

    def process_of_backend(self, client_port, candidates):
        """The process among candidates (pids) holding the database connection whose local
        port is client_port (found through /proc/net/tcp and the processes' open sockets)."""
        inode = socket_inode(client_port)
        wanted = f"socket:[{inode}]"
        for pid in candidates:
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                            return pid
                    except OSError:
                        continue
            except OSError:
                continue
        raise AssertionError(f"aucun processus ne tient la connexion du port {client_port}")

    def kill_worker_serving(self, client_port):
        """kill -9 of the gunicorn worker serving the blocked request; returns its pid."""
        pid = self.process_of_backend(client_port, self.workers())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pid not in self.workers(), what="worker tué remplacé")
        return pid

    def backend_gone(self, pid, timeout=30):
        wait_until(lambda: not self.cluster.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)), timeout=timeout,
            what=f"fin de la session PostgreSQL {pid}")


def static_root():
    """The static files `./run.sh setup` collected (pages need their manifest): collecting them
    again for the tests' own var directory would take minutes."""
    from django.conf import settings

    return Path(settings.STATIC_ROOT)


def socket_inode(local_port):
    """Inode of the TCP socket bound to 127.0.0.1:local_port (IPv4, /proc/net/tcp)."""
    wanted = f"0100007F:{local_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted:
            return int(fields[9])
    raise AssertionError(f"aucune socket locale sur le port {local_port}")


class Holder:
    """A transaction of the test holding locks (rows, tables) until released: the platform's
    request that needs them waits at that point."""

    def __init__(self, cluster):
        self.connection = cluster.connect(autocommit=False)

    def execute(self, sql, params=()):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def release(self):
        if not self.connection.closed:
            try:
                self.connection.rollback()
            except psycopg2.Error:  # the server ended the session (a restart): nothing held
                pass
            self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False
