"""run.sh itself: re-running keeps data, and each kind of bad input stops with one clear sentence.

These tests run the real script against the real local cluster (started by `./run.sh test`).
"""
import os
import shutil
import tempfile
import socket
import stat
import subprocess
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "run.sh"
LOCAL_CLUSTER = not os.environ.get("DATABASE_URL")

pytestmark = pytest.mark.setup_script


def run(*args, env=None, user=None, timeout=300):
    environment = dict(os.environ)
    environment.pop("DATABASE_URL", None)
    environment.update(env or {})
    command = [str(RUN), *args]
    if user:
        command = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--", "env", f"PATH={environment['PATH']}", *command]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


def local_connection():
    password = (ROOT / "var" / "pg" / "password").read_text().strip()
    port = os.environ.get("CAPGEO_PG_PORT", "55432")
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="capgeo", password=password,
                                  dbname="capgeo")
    connection.autocommit = True
    return connection


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def occupied_port():
    """A port on which another program listens."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


@pytest.mark.skipif(not LOCAL_CLUSTER, reason="exercises the project's local cluster")
def test_rerunning_the_setup_keeps_existing_data():
    connection = local_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT population FROM territory_commune WHERE insee = '44069'")
        (original,) = cursor.fetchone()
        cursor.execute("UPDATE territory_commune SET population = 12345 WHERE insee = '44069'")
        cursor.execute("CREATE TABLE IF NOT EXISTS public.rerun_sentinel (note text)")
        cursor.execute("INSERT INTO public.rerun_sentinel VALUES ('kept')")
    try:
        result = run("setup")
        assert result.returncode == 0, result.stderr
        assert "déjà chargée" in result.stdout
        # Nothing reinstalled: the virtualenv, npm and the cluster were already there.
        assert "installation" not in result.stdout and "création du cluster" not in result.stdout
        with connection.cursor() as cursor:
            cursor.execute("SELECT population FROM territory_commune WHERE insee = '44069'")
            assert cursor.fetchone() == (12345,)
            cursor.execute("SELECT count(*) FROM territory_commune")
            assert cursor.fetchone() == (15,)
            cursor.execute("SELECT note FROM public.rerun_sentinel")
            assert cursor.fetchall() == [("kept",)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE territory_commune SET population = %s WHERE insee = '44069'",
                           [original])
            cursor.execute("DROP TABLE IF EXISTS public.rerun_sentinel")
        connection.close()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgis://capgeo:wrong-password@127.0.0.1:{pg_port}/capgeo", "connexion impossible"),
        ("postgis://capgeo:x@127.0.0.1:{free}/capgeo", "connexion impossible"),
        ("mysql://capgeo:x@127.0.0.1:3306/capgeo", "n’est pas une URL PostGIS"),
        ("postgis://capgeo:x@127.0.0.1:{pg_port}", "ne nomme aucune base"),
    ],
    ids=["wrong-password", "nothing-listening", "not-postgis", "no-database"],
)
def test_wrong_database_url_stops_with_one_sentence(url, expected):
    url = url.format(pg_port=os.environ.get("CAPGEO_PG_PORT", "55432"), free=free_port())
    result = run("db", env={"DATABASE_URL": url})
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "wrong-password" not in lines[0]  # the password is never echoed
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.skipif(not LOCAL_CLUSTER, reason="needs the local cluster to make a database")
def test_database_without_postgis_stops_with_one_sentence():
    connection = local_connection()
    name = "capgeo_without_postgis"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        password = (ROOT / "var" / "pg" / "password").read_text().strip()
        port = os.environ.get("CAPGEO_PG_PORT", "55432")
        result = run("db", env={"DATABASE_URL": f"postgis://capgeo:{password}@127.0.0.1:{port}/{name}"})
        assert result.returncode == 1
        lines = error_lines(result)
        assert len(lines) == 1, result.stderr
        assert "PostGIS" in lines[0] and "CREATE EXTENSION postgis" in lines[0]
        assert password not in lines[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.close()


def test_http_port_in_use_stops_before_anything(occupied_port):
    result = run("demo", env={"CAPGEO_PORT": str(occupied_port)}, timeout=120)
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert f"le port {occupied_port} est déjà utilisé" in lines[0]
    assert "CAPGEO_PORT=" in lines[0]


@pytest.mark.skipif(not LOCAL_CLUSTER, reason="exercises the project's local cluster")
def test_running_cluster_on_another_port_is_reported(occupied_port):
    result = run("db", env={"CAPGEO_PG_PORT": str(occupied_port)})
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1 and "tourne déjà sur le port" in lines[0], result.stderr


@pytest.fixture
def fresh_checkout():
    """A copy of the scripts with no cluster yet, sharing the installed virtualenv and assets."""
    base = ROOT / "var" / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    checkout = Path(tempfile.mkdtemp(dir=base, prefix="checkout-"))
    checkout.chmod(0o755)
    for name in ["run.sh", "pyproject.toml", "constraints.txt", "package.json", "package-lock.json",
                 "manage.py"]:
        shutil.copy2(ROOT / name, checkout / name)
    for name in [".venv", "node_modules", "scripts", "capgeo", "layers", "wms", "fieldsync",
                 "fixtures"]:
        (checkout / name).symlink_to(ROOT / name)
    yield checkout
    shutil.rmtree(checkout, ignore_errors=True)


def test_cluster_port_in_use_leaves_no_half_initialised_cluster(fresh_checkout, occupied_port):
    environment = dict(os.environ, CAPGEO_PG_PORT=str(occupied_port))
    environment.pop("DATABASE_URL", None)
    result = subprocess.run([str(fresh_checkout / "run.sh"), "db"], cwd=fresh_checkout,
                            env=environment, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert f"le port {occupied_port}" in lines[0] and "CAPGEO_PG_PORT=" in lines[0]
    assert not (fresh_checkout / "var" / "pg" / "data").exists()
    assert not (fresh_checkout / "var" / "pg" / "data.init").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as an unprivileged user")
def test_missing_packages_without_root_or_sudo(tmp_path):
    # A dpkg-query that reports gdal-bin as not installed, as on a machine that lacks it.
    shim_dir = ROOT / "var" / "tmp" / "dpkg-shim"
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim_dir.chmod(0o755)
    (shim_dir.parent).chmod(0o755)
    shim = shim_dir / "dpkg-query"
    shim.write_text(
        '#!/bin/sh\nfor a in "$@"; do [ "$a" = gdal-bin ] && exit 1; done\n'
        'exec /usr/bin/dpkg-query "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | 0o444)
    path = f"{shim_dir}:/usr/local/bin:/usr/bin:/bin"
    result = run("db", env={"PATH": path}, user="nobody")
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert "gdal-bin" in lines[0] and "ni les droits root ni sudo" in lines[0]
    assert "apt-get install gdal-bin" in lines[0]
