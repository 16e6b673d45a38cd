"""Dockerfile, .dockerignore and docker-compose.yml, checked without a Docker engine.

No Docker daemon runs where the tests run: the compose file is read with PyYAML and its variables
resolved the way Compose does; the settings are loaded with the container's environment; the
entrypoint script embedded in the Dockerfile is run against stand-in `python` and `gunicorn`
commands; the health check one-liner is run against a small local HTTP server.
"""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import dj_database_url
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SETTINGS_TEXT = (ROOT / "capgeo" / "settings.py").read_text()
SERVICES = COMPOSE["services"]
WEB = SERVICES["web"]
WORKER = SERVICES["worker"]
DB = SERVICES["db"]
REPLICA = SERVICES["replica"]
LB = SERVICES["lb"]
HAPROXY_CFG = (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
PLATFORM = ("migrate", "web", "worker")  # the services running the platform's image
SCALED = ("web", "worker")  # docker compose up --scale web=N --scale worker=M

SAMPLE_DOTENV = {
    "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
    "REPLICATION_PASSWORD": "fedcba9876543210fedcba9876543210",
    "SECRET_KEY": "k" * 20 + "Zr8-Qp3_Xv6yTn1wLc5mHs9dJf2gBa7e",
    "ALLOWED_HOSTS": "sig.example.fr",
}


# --- Compose variable interpolation (the subset of the Compose specification used here) --------

class MissingVariable(Exception):
    pass


def interpolate(value, variables):
    """${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} and $$, as Compose does."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group("name"), match.group("op"), match.group("arg")
        present = name in variables
        empty = not variables.get(name)
        if operator in (":?", "?") and (not present or (operator == ":?" and empty)):
            raise MissingVariable(f"{name}: {argument}")
        if operator in (":-", "-") and (not present or (operator == ":-" and empty)):
            return argument
        return variables.get(name, "")
    pattern = r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|\?|:-|-)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, replace, value)


def environment_of(service, variables=SAMPLE_DOTENV):
    return {name: interpolate(str(value), variables)
            for name, value in SERVICES[service]["environment"].items()}


def app_environment(variables=SAMPLE_DOTENV):
    return environment_of("web", variables)


def settings_read_by_settings_py():
    return set(re.findall(
        r'(?:os\.environ\.get|env_bool|env_list|env_int)\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_TEXT
    ))


def mounts(service):
    """{target: (source, read_only)} of a service's volumes."""
    result = {}
    for mount in SERVICES[service].get("volumes", []):
        source, target, *mode = mount.split(":")
        result[target] = (source, mode == ["ro"])
    return result


# --- docker-compose.yml --------------------------------------------------------------------------

def test_services():
    assert set(SERVICES) == {"db", "replica", "tilecache", "migrate", "web", "worker", "lb"}


def test_scaled_services_have_no_fixed_name_or_host_port():
    for name in SCALED:
        assert "container_name" not in SERVICES[name]
        assert "ports" not in SERVICES[name]  # reached through the load balancer only
        assert "deploy" not in SERVICES[name]  # no fixed replica count: --scale decides
    assert not any("container_name" in service for service in SERVICES.values())
    # Only the load balancer is published, on the host's loopback (the TLS proxy is the way in).
    published = {name for name, service in SERVICES.items() if "ports" in service}
    assert published == {"lb"}
    assert all(port.startswith("127.0.0.1:") and port.endswith(":8000") for port in LB["ports"])
    assert WEB["expose"] == ["8000"]


def test_the_platform_services_share_one_image_and_one_environment():
    for name in PLATFORM:
        service = SERVICES[name]
        assert service["build"] == "." and service["image"] == "capgeo:latest"
    assert SERVICES["migrate"]["command"] == ["migrate"] and SERVICES["migrate"]["restart"] == "no"
    assert WEB["command"] == ["web"] and WORKER["command"] == ["worker"]
    assert WEB["restart"] == WORKER["restart"] == DB["restart"] == "unless-stopped"
    web, worker = environment_of("web"), environment_of("worker")
    assert {k: v for k, v in worker.items() if k not in web} == {
        "CAPGEO_MEDIA_READ_ONLY": "true", "CAPGEO_WORK_DIR": "/tmp/capgeo-work"}
    assert all(worker[k] == v for k, v in web.items())


def test_migrations_run_once_before_web_and_workers():
    assert SERVICES["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in SCALED:
        assert SERVICES[name]["depends_on"]["migrate"] == \
            {"condition": "service_completed_successfully"}
        assert SERVICES[name]["depends_on"]["tilecache"] == {"condition": "service_healthy"}


def test_database_service():
    assert DB["image"] == "postgis/postgis:15-3.4"
    assert DB["environment"]["POSTGRES_DB"] == "capgeo"
    assert DB["environment"]["POSTGRES_USER"] == "capgeo"
    assert DB["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert DB["environment"]["REPLICATION_PASSWORD"].startswith("${REPLICATION_PASSWORD:?")
    assert "pgdata:/var/lib/postgresql/data" in DB["volumes"]
    assert "wal_level=replica" in DB["command"]
    init = mounts("db")["/docker-entrypoint-initdb.d/90-replication.sh"]
    assert init == ("./deploy/postgres/primary-replication.sh", True)
    check = DB["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    command = " ".join(check["test"][1:])
    assert "pg_isready" in command and "-U capgeo" in command and "-d capgeo" in command
    assert {"interval", "timeout", "retries"} <= set(check)
    assert "ports" not in DB  # reachable by the platform only, on the compose network


def test_replica_streams_from_the_primary_with_the_same_image():
    assert REPLICA["image"] == DB["image"]
    assert REPLICA["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert REPLICA["environment"]["PRIMARY_HOST"] == "db"
    assert mounts("replica")["/var/lib/postgresql/data"] == ("pgreplica", False)
    script_path = mounts("replica")["/capgeo/replica-entrypoint.sh"]
    assert script_path == ("./deploy/postgres/replica-entrypoint.sh", True)
    assert REPLICA["entrypoint"] == ["bash", "/capgeo/replica-entrypoint.sh"]
    script = (ROOT / "deploy" / "postgres" / "replica-entrypoint.sh").read_text()
    assert re.search(r"pg_basebackup [^\n]*-U replicator", script)
    assert "-X stream -R" in script and "primary_conninfo" in script
    assert "exec docker-entrypoint.sh postgres" in script and "hot_standby=on" in script
    primary = (ROOT / "deploy" / "postgres" / "primary-replication.sh").read_text()
    assert "CREATE ROLE replicator WITH REPLICATION LOGIN" in primary
    assert "host replication replicator all scram-sha-256" in primary
    for path in ("replica-entrypoint.sh", "primary-replication.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "deploy" / "postgres" / path)], check=True)


def test_shared_tile_cache_is_redis_without_disk():
    cache = SERVICES["tilecache"]
    assert cache["image"].startswith("redis:")
    command = cache["command"]
    assert command[command.index("--appendonly") + 1] == "no"
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert "volumes" not in cache
    for name in PLATFORM:
        assert environment_of(name)["CAPGEO_TILE_CACHE_REDIS"] == "redis://tilecache:6379/0"


def test_no_volume_is_written_by_two_services():
    declared = set(COMPOSE["volumes"])
    named = {name: mounts(name) for name in SERVICES}
    used = {source for service in named.values() for source, _ro in service.values()
            if not source.startswith("./")}
    assert used == declared == {"pgdata", "pgreplica", "media", "data"}
    writers = {}
    for name, service_mounts in named.items():
        for source, read_only in service_mounts.values():
            if not read_only:
                writers.setdefault(source, set()).add(name)
    assert writers == {"pgdata": {"db"}, "pgreplica": {"replica"}, "media": {"web"},
                       "data": {"web"}}
    # The worker reads the received files, writes nothing there (settings say so too).
    assert mounts("worker") == {"/srv/capgeo/media": ("media", True)}
    assert environment_of("worker")["CAPGEO_MEDIA_READ_ONLY"] == "true"
    environment = app_environment()
    assert mounts("web")[environment["MEDIA_ROOT"]] == ("media", False)
    assert mounts("web")[environment["CAPGEO_VAR_DIR"]] == ("data", False)
    # Bind mounts are the repository's configuration files, read-only.
    assert all(read_only for service in named.values()
               for source, read_only in service.values() if source.startswith("./"))


def test_secret_key_and_passwords_are_required_from_the_environment():
    environment = WEB["environment"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", environment["SECRET_KEY"])
    assert re.fullmatch(r"\$\{ALLOWED_HOSTS:\?[^}]+\},localhost", environment["ALLOWED_HOSTS"])
    for missing in ("SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS"):
        variables = {k: v for k, v in SAMPLE_DOTENV.items() if k != missing}
        with pytest.raises(MissingVariable, match=missing):
            app_environment(variables)
        with pytest.raises(MissingVariable, match=missing):  # set but empty is refused too
            app_environment(dict(variables, **{missing: ""}))
    for service in ("db", "replica"):
        with pytest.raises(MissingVariable, match="REPLICATION_PASSWORD"):
            environment_of(service, {k: v for k, v in SAMPLE_DOTENV.items()
                                     if k != "REPLICATION_PASSWORD"})


def test_production_values():
    environment = app_environment()
    assert environment["DEBUG"] == "false"
    assert environment["CAPGEO_HTTPS"] == "true"
    assert environment["CAPGEO_BEHIND_PROXY"] == "true"
    assert environment["SECRET_KEY"] == SAMPLE_DOTENV["SECRET_KEY"]
    assert environment["ALLOWED_HOSTS"] == "sig.example.fr,localhost"
    assert environment["DATABASE_URL"] == \
        f"postgis://capgeo:{SAMPLE_DOTENV['POSTGRES_PASSWORD']}@db:5432/capgeo"
    for variable, host in (("DATABASE_URL", "db"), ("DATABASE_REPLICA_URL", "replica")):
        database = dj_database_url.parse(environment[variable])
        assert database["ENGINE"] == "django.contrib.gis.db.backends.postgis"
        assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == \
            (host, 5432, "capgeo", "capgeo")
        assert database["PASSWORD"] == SAMPLE_DOTENV["POSTGRES_PASSWORD"]  # the db's password


def test_every_platform_variable_is_read_by_settings_py():
    read = settings_read_by_settings_py()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "MEDIA_ROOT"} <= read  # the grep itself works
    for name in PLATFORM:
        unknown = set(environment_of(name)) - read
        assert unknown == set(), f"set in docker-compose.yml but never read by settings.py: {unknown}"


def test_web_healthcheck_uses_python_on_healthz():
    check = WEB["healthcheck"]
    assert check["test"][:3] == ["CMD", "python", "-c"]
    code = check["test"][3]
    compile(code, "<healthcheck>", "exec")
    assert "urllib.request" in code and "http://127.0.0.1:8000/healthz" in code
    assert "$" not in code  # nothing for Compose to interpolate
    assert {"interval", "timeout", "retries", "start_period"} <= set(check)


class _HealthServer(http.server.BaseHTTPRequestHandler):
    status = 200
    hosts = []

    def do_GET(self):
        type(self).hosts.append((self.path, self.headers.get("Host")))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _HealthServer)
    _HealthServer.hosts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_web_healthcheck_sends_an_allowed_host_and_fails_on_503(health_server):
    port = health_server.server_address[1]
    code = WEB["healthcheck"]["test"][3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    _HealthServer.status = 200
    healthy = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert healthy.returncode == 0, healthy.stderr
    _HealthServer.status = 503  # what /healthz answers when PostGIS is unreachable
    unhealthy = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert unhealthy.returncode != 0
    assert _HealthServer.hosts == [("/healthz", "localhost")] * 2
    assert "localhost" in app_environment()["ALLOWED_HOSTS"].split(",")


def test_load_balancer_finds_every_web_container_and_checks_healthz():
    assert LB["image"].startswith("haproxy:")
    assert mounts("lb") == {"/usr/local/etc/haproxy/haproxy.cfg": ("./deploy/haproxy/haproxy.cfg", True)}
    # Docker's DNS, asked again every few seconds: a container added by --scale joins.
    assert re.search(r"nameserver \w+ 127\.0\.0\.11:53", HAPROXY_CFG)
    template = re.search(r"server-template web (\d+) web:8000", HAPROXY_CFG)
    assert template and int(template.group(1)) >= 10
    assert re.search(r"default-server [^\n]*\bcheck\b[^\n]*resolvers docker[^\n]*init-addr none",
                     HAPROXY_CFG)
    assert "http-check send meth GET uri /healthz hdr Host localhost" in HAPROXY_CFG
    assert "http-check expect status 200" in HAPROXY_CFG
    # A request whose server died is retried elsewhere, never a write.
    assert "retry-on conn-failure empty-response" in HAPROXY_CFG
    assert "http-request disable-l7-retry if !METH_GET !METH_HEAD" in HAPROXY_CFG
    assert re.search(r"bind :8000\b", HAPROXY_CFG)


def test_haproxy_accepts_its_configuration():
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        pytest.skip("HAProxy is not installed here (Debian package haproxy)")
    result = subprocess.run([haproxy, "-c", "-f", str(ROOT / "deploy" / "haproxy" / "haproxy.cfg")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", ["web", "worker"])
def test_settings_load_with_the_container_environment(tmp_path, service):
    environment = environment_of(service)
    # The image sets STATIC_ROOT; the database servers are not contacted to load the settings.
    env = dict(os.environ, **environment, DJANGO_SETTINGS_MODULE="capgeo.settings",
               STATIC_ROOT=str(tmp_path / "static"))
    code = (
        "import json; from django.conf import settings\n"
        "print(json.dumps({n: getattr(settings, n) for n in ['DEBUG', 'SECURE_SSL_REDIRECT',"
        " 'SESSION_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER', 'ALLOWED_HOSTS', 'MEDIA_ROOT',"
        " 'VAR_DIR', 'SECURE_HSTS_SECONDS', 'CSRF_TRUSTED_ORIGINS', 'CAPGEO_MEDIA_READ_ONLY',"
        " 'CAPGEO_WORK_DIR']} | {'databases': sorted(settings.DATABASES)}, default=str))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True and values["SESSION_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["sig.example.fr", "localhost"]
    assert values["MEDIA_ROOT"] == "/srv/capgeo/media"
    assert values["VAR_DIR"] == "/srv/capgeo/var"
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["CSRF_TRUSTED_ORIGINS"] == []
    assert len(values["databases"]) == 2  # the primary and the replica
    assert values["CAPGEO_MEDIA_READ_ONLY"] is (service == "worker")
    assert values["CAPGEO_WORK_DIR"] == ("/tmp/capgeo-work" if service == "worker" else "")


# --- Dockerfile ----------------------------------------------------------------------------------

def instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments and heredoc bodies skipped."""
    result, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        while line.endswith("\\") and index < len(lines):
            following = lines[index]
            index += 1
            if following.lstrip().startswith("#"):
                continue
            line = line[:-1] + " " + following.strip()
        keyword, _, arguments = line.strip().partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        heredoc = re.search(r"<<-?'?\"?(\w+)'?\"?", arguments)
        if heredoc:
            while index < len(lines) and lines[index] != heredoc.group(1):
                index += 1
            index += 1
    return result


INSTRUCTIONS = instructions(DOCKERFILE)
STAGES = [args for keyword, args in INSTRUCTIONS if keyword == "FROM"]
FINAL_STAGE = INSTRUCTIONS[max(i for i, (k, _a) in enumerate(INSTRUCTIONS) if k == "FROM"):]
RUN_TEXT = "\n".join(args for keyword, args in INSTRUCTIONS if keyword == "RUN")
ENTRYPOINT_SCRIPT = re.search(
    r"<<'EOF' /usr/local/bin/capgeo-entrypoint\n(.*?)\nEOF\n", DOCKERFILE, re.S).group(1)


def test_base_image():
    assert STAGES[0].split()[0] == "python:3.11-slim-bookworm"
    aliases = {stage.split()[-1] for stage in STAGES if " AS " in stage.upper()}
    for stage in STAGES:  # every stage starts from the base image or from an earlier stage
        assert stage.split()[0] in {"python:3.11-slim-bookworm"} | aliases


def test_debian_packages():
    installed = set()
    for command in re.findall(r"apt-get install ([^&]+)", RUN_TEXT):
        installed |= {word for word in command.split() if not word.startswith("-")}
    assert {"gdal-bin", "libgdal32", "libgeos-c1v5", "libproj25", "binutils", "gettext", "nodejs",
            "npm"} <= installed
    assert "rm -rf /var/lib/apt/lists/*" in RUN_TEXT


def test_build_steps():
    assert "pip install -c constraints.txt ." in RUN_TEXT
    assert re.search(r"npm ci\b[^\n]*--ignore-scripts", RUN_TEXT)
    assert "manage.py compilemessages" in RUN_TEXT
    assert "manage.py collectstatic --noinput" in RUN_TEXT
    # No key is generated into the image at build time: the settings get a throw-away one.
    for command in ("compilemessages", "collectstatic"):
        assert re.search(rf"SECRET_KEY=\S+ python manage.py {command}", RUN_TEXT)
    for copied in ("package.json", "package-lock.json", "constraints.txt"):
        assert (ROOT / copied).is_file()


def test_runs_as_a_non_root_user():
    users = [args for keyword, args in FINAL_STAGE if keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert re.search(rf"useradd [^\n]*\b{user}\b", RUN_TEXT)


def test_image_environment_is_read_by_settings_py():
    env = {}
    for keyword, args in INSTRUCTIONS:
        if keyword == "ENV":
            env.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", args))
    # Python's, pip's and Django's own variables aside, every one is a C@p Géo setting.
    ours = {name for name in env if not name.startswith(("PYTHON", "PIP_"))} - \
        {"PATH", "DJANGO_SETTINGS_MODULE"}
    assert ours <= settings_read_by_settings_py()
    assert env["MEDIA_ROOT"] == app_environment()["MEDIA_ROOT"]
    assert env["CAPGEO_VAR_DIR"] == app_environment()["CAPGEO_VAR_DIR"]
    # The volumes' mount points exist in the image, owned by the app's user (Docker copies that
    # ownership into a new named volume).
    assert re.search(r"install -d -o capgeo -g capgeo [^\n]*/srv/capgeo/media /srv/capgeo/var", RUN_TEXT)


def test_entrypoint_migrates_then_serves():
    assert ("ENTRYPOINT", '["capgeo-entrypoint"]') in FINAL_STAGE
    assert 'serve="gunicorn capgeo.wsgi:application --bind 0.0.0.0:8000' in ENTRYPOINT_SCRIPT
    all_in_one = ENTRYPOINT_SCRIPT[ENTRYPOINT_SCRIPT.index("esac"):]
    assert all_in_one.index("manage.py migrate --noinput") < all_in_one.index("$serve &")
    subprocess.run(["bash", "-n"], input=ENTRYPOINT_SCRIPT, text=True, check=True)


STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> "$LOG"
case "$*" in
    *"migrate --noinput"*) exit "${MIGRATE_STATUS:-0}" ;;
esac
trap 'echo "$(basename "$0") stopped" >> "$LOG"; exit 0' TERM
while true; do sleep 0.1; done
"""


@pytest.fixture
def entrypoint(tmp_path):
    """The entrypoint script, with stand-in python and gunicorn commands that log their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "gunicorn"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    script = tmp_path / "capgeo-entrypoint"
    script.write_text(ENTRYPOINT_SCRIPT.replace("cd /app", f"cd {tmp_path}"))
    script.chmod(0o755)
    log = tmp_path / "calls.log"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", LOG=str(log))
    return script, env, log


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_entrypoint_runs_migrate_then_gunicorn_and_the_worker_and_stops_both(entrypoint):
    script, env, log = entrypoint
    process = subprocess.Popen([str(script)], env=env)
    try:
        assert wait_for(lambda: log.exists() and log.read_text().count("\n") >= 3)
        calls = log.read_text().splitlines()
        assert calls[0] == "python manage.py migrate --noinput"
        assert "python manage.py import_worker --no-reload --no-startup-delay" in calls[1:]
        assert any(call.startswith("gunicorn capgeo.wsgi:application --bind 0.0.0.0:8000")
                   for call in calls[1:])
        process.send_signal(signal.SIGTERM)  # docker stop
        process.wait(timeout=10)
    finally:
        process.kill()
    assert wait_for(lambda: {"python stopped", "gunicorn stopped"} <= set(log.read_text().splitlines()))


def test_entrypoint_stops_when_migrate_fails(entrypoint):
    script, env, log = entrypoint
    result = subprocess.run([str(script)], env=dict(env, MIGRATE_STATUS="3"), timeout=30)
    assert result.returncode == 3
    assert log.read_text().splitlines() == ["python manage.py migrate --noinput"]


def test_entrypoint_runs_given_commands_instead(entrypoint):
    script, env, log = entrypoint
    result = subprocess.run([str(script), "python", "manage.py", "migrate", "--noinput"],
                            env=dict(env, MIGRATE_STATUS="0"), timeout=30)
    assert result.returncode == 0
    assert log.read_text().splitlines() == ["python manage.py migrate --noinput"]


@pytest.mark.parametrize("role, expected", [
    ("migrate", "python manage.py migrate --noinput"),
    ("web", "gunicorn capgeo.wsgi:application --bind 0.0.0.0:8000 --workers 3 --timeout 120 "
            "--access-logfile - --error-logfile - --no-control-socket "
            "--logger-class accounts.gunicorn_logger.RedactingLogger"),
    ("worker", "python manage.py import_worker --no-reload"),
])
def test_entrypoint_runs_one_role_per_container(entrypoint, role, expected):
    """docker-compose.yml's services: each runs its one process in the foreground (exec), so that
    `docker stop` reaches it; no migration from web or worker containers started by --scale."""
    script, env, log = entrypoint
    process = subprocess.Popen([str(script), role], env=env)
    try:
        assert wait_for(lambda: log.exists() and log.read_text().strip())
        if role != "migrate":
            time.sleep(0.3)  # nothing else is started beside it
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    calls = [call for call in log.read_text().splitlines() if not call.endswith(" stopped")]
    assert calls == [expected]


# --- .dockerignore -------------------------------------------------------------------------------

def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    patterns = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    # var/ holds the local cluster, its password and the generated secret key; .env the secrets.
    assert {"var", ".env", ".venv", "node_modules", ".git"} <= patterns
    # Needed by the build: the README is the package's readme (pyproject.toml), the rest is copied.
    for needed in ("README.md", "pyproject.toml", "constraints.txt", "package.json",
                   "package-lock.json", "manage.py", "capgeo", "layers", "wms", "fieldsync",
                   "fixtures"):
        assert needed not in patterns and (ROOT / needed).exists()
