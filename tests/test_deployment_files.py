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
APP = SERVICES["app"]
DB = SERVICES["db"]

SAMPLE_DOTENV = {
    "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
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


def app_environment(variables=SAMPLE_DOTENV):
    return {name: interpolate(str(value), variables) for name, value in APP["environment"].items()}


def settings_read_by_settings_py():
    return set(re.findall(
        r'(?:os\.environ\.get|env_bool|env_list|env_int)\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_TEXT
    ))


# --- docker-compose.yml --------------------------------------------------------------------------

def test_only_the_database_and_the_app():
    assert set(SERVICES) == {"db", "app"}


def test_database_service():
    assert DB["image"] == "postgis/postgis:15-3.4"
    assert DB["environment"]["POSTGRES_DB"] == "capgeo"
    assert DB["environment"]["POSTGRES_USER"] == "capgeo"
    assert DB["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "pgdata:/var/lib/postgresql/data" in DB["volumes"]
    check = DB["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    command = " ".join(check["test"][1:])
    assert "pg_isready" in command and "-U capgeo" in command and "-d capgeo" in command
    assert {"interval", "timeout", "retries"} <= set(check)
    assert "ports" not in DB  # reachable by the app only, on the compose network


def test_app_service_is_built_here_and_waits_for_a_healthy_database():
    assert APP["build"] == "."
    assert APP["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert APP["restart"] == DB["restart"] == "unless-stopped"
    # Published on the host's loopback only: the TLS reverse proxy is the way in.
    assert all(port.startswith("127.0.0.1:") and port.endswith(":8000") for port in APP["ports"])


def test_secret_key_and_passwords_are_required_from_the_environment():
    environment = APP["environment"]
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", environment["SECRET_KEY"])
    assert re.fullmatch(r"\$\{ALLOWED_HOSTS:\?[^}]+\}", environment["ALLOWED_HOSTS"])
    for missing in ("SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS"):
        variables = {k: v for k, v in SAMPLE_DOTENV.items() if k != missing}
        with pytest.raises(MissingVariable, match=missing):
            app_environment(variables)
        with pytest.raises(MissingVariable, match=missing):  # set but empty is refused too
            app_environment(dict(variables, **{missing: ""}))


def test_production_values():
    environment = app_environment()
    assert environment["DEBUG"] == "false"
    assert environment["CAPGEO_HTTPS"] == "true"
    assert environment["CAPGEO_BEHIND_PROXY"] == "true"
    assert environment["SECRET_KEY"] == SAMPLE_DOTENV["SECRET_KEY"]
    assert environment["ALLOWED_HOSTS"] == "sig.example.fr"
    assert environment["DATABASE_URL"] == \
        f"postgis://capgeo:{SAMPLE_DOTENV['POSTGRES_PASSWORD']}@db:5432/capgeo"
    database = dj_database_url.parse(environment["DATABASE_URL"])
    assert database["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == \
        ("db", 5432, "capgeo", "capgeo")
    assert database["PASSWORD"] == SAMPLE_DOTENV["POSTGRES_PASSWORD"]  # the db service's password


def test_every_app_variable_is_read_by_settings_py():
    read = settings_read_by_settings_py()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "MEDIA_ROOT"} <= read  # the grep itself works
    unknown = set(APP["environment"]) - read
    assert unknown == set(), f"set in docker-compose.yml but never read by settings.py: {unknown}"


def test_volumes():
    declared = set(COMPOSE["volumes"])
    used = {mount.split(":")[0] for service in SERVICES.values() for mount in service.get("volumes", [])}
    assert used == declared == {"pgdata", "media", "data"}  # named volumes only, all declared
    mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in APP["volumes"]}
    environment = app_environment()
    assert mounts[environment["MEDIA_ROOT"]] == "media"
    assert mounts[environment["CAPGEO_VAR_DIR"]] == "data"


def test_app_healthcheck_uses_python_on_healthz():
    check = APP["healthcheck"]
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


@pytest.mark.parametrize("allowed_hosts, sent_host", [
    ("sig.example.fr", "sig.example.fr"),
    (".cap-atlantique.fr,sig.example.fr", "cap-atlantique.fr"),
    ("*", "localhost"),
])
def test_app_healthcheck_sends_an_allowed_host_and_fails_on_503(health_server, allowed_hosts, sent_host):
    port = health_server.server_address[1]
    code = APP["healthcheck"]["test"][3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = dict(os.environ, ALLOWED_HOSTS=allowed_hosts)

    _HealthServer.status = 200
    healthy = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert healthy.returncode == 0, healthy.stderr
    _HealthServer.status = 503  # what /healthz answers when PostGIS is unreachable
    unhealthy = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert unhealthy.returncode != 0
    assert _HealthServer.hosts == [("/healthz", sent_host)] * 2


def test_settings_load_with_the_container_environment(tmp_path):
    environment = app_environment()
    # The image sets STATIC_ROOT; the database server "db" is not contacted to load the settings.
    env = dict(os.environ, **environment, DJANGO_SETTINGS_MODULE="capgeo.settings",
               STATIC_ROOT=str(tmp_path / "static"))
    code = (
        "import json; from django.conf import settings\n"
        "print(json.dumps({n: getattr(settings, n) for n in ['DEBUG', 'SECURE_SSL_REDIRECT',"
        " 'SESSION_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER', 'ALLOWED_HOSTS', 'MEDIA_ROOT',"
        " 'VAR_DIR', 'SECURE_HSTS_SECONDS', 'CSRF_TRUSTED_ORIGINS']}, default=str))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True and values["SESSION_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["sig.example.fr"]
    assert values["MEDIA_ROOT"] == "/srv/capgeo/media"
    assert values["VAR_DIR"] == "/srv/capgeo/var"
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["CSRF_TRUSTED_ORIGINS"] == []


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
    migrate = ENTRYPOINT_SCRIPT.index("manage.py migrate --noinput")
    gunicorn = ENTRYPOINT_SCRIPT.index("gunicorn capgeo.wsgi:application --bind 0.0.0.0:8000")
    assert migrate < gunicorn
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
