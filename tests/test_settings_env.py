"""capgeo/settings.py reads every deployment value from the environment.

Each case imports the settings in a fresh Python process (settings are read once per process),
with chosen environment variables, and prints the values as JSON. No test database is needed.
"""
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Variables that change the settings; removed from the inherited environment so each case starts
# from the local defaults. DATABASE_URL, CAPGEO_PG_PORT and CAPGEO_VAR_DIR are kept: they say where
# the database of this run is (external server, or the local cluster and its password file).
SETTINGS_VARIABLES = [
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "CONN_MAX_AGE", "MEDIA_ROOT",
    "STATIC_ROOT", "CAPGEO_HTTPS", "CAPGEO_BEHIND_PROXY", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "LOG_LEVEL", "CAPGEO_TEST_DB_NAME", "CAPGEO_INTERCOMMUNALITY_NAME",
    "CAPGEO_WFS_MAX_COUNT", "DATABASE_REPLICA_URL", "CAPGEO_TILE_CACHE_REDIS",
]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "sig.example.fr",
    "CAPGEO_HTTPS": "true",
    "CAPGEO_BEHIND_PROXY": "true",
}


def environment(changes=None, remove=()):
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (conftest.py), never a deployment's.
    env = {k: v for k, v in os.environ.items()
           if k not in SETTINGS_VARIABLES and k not in remove and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["DJANGO_SETTINGS_MODULE"] = "capgeo.settings"
    env.update(changes or {})
    return env


def run(args, changes=None, remove=(), timeout=120):
    return subprocess.run(args, cwd=ROOT, env=environment(changes, remove), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def read_settings(names, changes=None, remove=()):
    code = (
        "import json\n"
        "from django.conf import settings\n"
        f"print(json.dumps({{name: getattr(settings, name) for name in {list(names)!r}}}, default=str))\n"
    )
    result = run([sys.executable, "-c", code], changes, remove)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def settings_error(changes):
    """The last line of the traceback when importing the settings fails."""
    result = run([sys.executable, "-c", "from django.conf import settings; settings.DEBUG"], changes)
    assert result.returncode != 0, "the settings were accepted"
    return result.stderr.strip().splitlines()[-1]


# --- DEBUG ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("true", True), ("True", True), ("1", True), ("yes", True), ("on", True), ("oui", True),
    (" TRUE ", True),
    ("false", False), ("FALSE", False), ("0", False), ("no", False), ("off", False), ("non", False),
    ("", False),
])
def test_debug_parsing(value, expected):
    assert read_settings(["DEBUG"], {"DEBUG": value})["DEBUG"] is expected


@pytest.mark.parametrize("value", ["maybe", "2", "vrai", "enabled"])
def test_debug_invalid_value_is_a_clear_error(value):
    assert settings_error({"DEBUG": value}) == (
        f"django.core.exceptions.ImproperlyConfigured: DEBUG={value!r} is not a boolean "
        "(use true or false)."
    )


def test_other_booleans_are_checked_the_same_way():
    assert "CAPGEO_HTTPS='sure' is not a boolean" in settings_error({"CAPGEO_HTTPS": "sure"})


# --- Lists and integers --------------------------------------------------------------------------

def test_allowed_hosts_list_parsing():
    values = read_settings(["ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"], {
        "ALLOWED_HOSTS": " sig.example.fr, .cap-atlantique.fr ,,localhost ",
        "CSRF_TRUSTED_ORIGINS": "https://sig.example.fr,https://carto.example.fr",
    })
    assert values["ALLOWED_HOSTS"] == ["sig.example.fr", ".cap-atlantique.fr", "localhost"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://sig.example.fr", "https://carto.example.fr"]


def test_allowed_hosts_empty_falls_back_to_local_hosts():
    for value in ("", "   "):
        values = read_settings(["ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"], {"ALLOWED_HOSTS": value})
        assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
        assert values["CSRF_TRUSTED_ORIGINS"] == []


def test_integers():
    values = read_settings(["SECURE_HSTS_SECONDS", "DATABASES"],
                           {"SECURE_HSTS_SECONDS": "3600", "CONN_MAX_AGE": "0"})
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    assert settings_error({"CONN_MAX_AGE": "sixty"}) == (
        "django.core.exceptions.ImproperlyConfigured: CONN_MAX_AGE='sixty' is not an integer."
    )


# --- DATABASE_URL --------------------------------------------------------------------------------

def test_database_url_parsing():
    database = read_settings(["DATABASES"], {"DATABASE_URL": "postgis://u:p@h:5/db"})["DATABASES"]["default"]
    assert database["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert database["NAME"] == "db"
    assert database["HOST"] == "h"
    assert database["PORT"] == 5
    assert database["USER"] == "u"
    assert database["PASSWORD"] == "p"
    assert database["TEST"] == {"NAME": "test_db"}
    assert database["OPTIONS"]["connect_timeout"] == 5
    assert database["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgresql_urls_use_the_postgis_backend(scheme):
    # Same server as postgis:// (run.sh checks that PostGIS is installed there).
    database = read_settings(["DATABASES"], {"DATABASE_URL": f"{scheme}://u:p@h:5/db"})
    assert database["DATABASES"]["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis"


def test_database_url_with_escaped_password_and_test_name():
    database = read_settings(["DATABASES"], {
        "DATABASE_URL": "postgis://capgeo:p%40ss%2Fw0rd@db.example.fr:5433/sig",
        "CAPGEO_TEST_DB_NAME": "sig_tests",
    })["DATABASES"]["default"]
    assert database["PASSWORD"] == "p@ss/w0rd"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.example.fr", 5433, "sig")
    assert database["TEST"] == {"NAME": "sig_tests"}


@pytest.mark.parametrize("url", [
    "mysql://u:p@h:3306/db",
    "sqlite:///tmp/capgeo.sqlite3",
])
def test_database_url_other_than_postgis_is_refused(url):
    assert settings_error({"DATABASE_URL": url}) == (
        "django.core.exceptions.ImproperlyConfigured: DATABASE_URL must use the postgis:// scheme: "
        "C@p Géo runs on PostgreSQL with PostGIS only."
    )


def test_without_a_replica_there_is_one_database():
    assert list(read_settings(["DATABASES"])["DATABASES"]) == ["default"]


def test_replica_url_adds_the_replica_alias_mirrored_in_tests():
    databases = read_settings(["DATABASES"], {
        "DATABASE_URL": "postgis://u:p@primary:5/db",
        "DATABASE_REPLICA_URL": "postgres://u:p@replica:6/db"})["DATABASES"]
    replica = databases["replica"]
    assert replica["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == ("replica", 6, "db")
    # Tests never create a database for it: it reads the test database of the primary.
    assert replica["TEST"] == {"MIRROR": "default"}
    assert replica["OPTIONS"]["connect_timeout"] == 2


def test_replica_url_other_than_postgis_is_refused():
    assert settings_error({"DATABASE_REPLICA_URL": "mysql://u:p@h:3306/db"}) == (
        "django.core.exceptions.ImproperlyConfigured: DATABASE_REPLICA_URL must use the postgis:// "
        "scheme.")


# --- Files ---------------------------------------------------------------------------------------

def test_media_and_static_roots_from_the_environment(tmp_path):
    values = read_settings(["MEDIA_ROOT", "STATIC_ROOT", "MEDIA_URL", "STATIC_URL"], {
        "MEDIA_ROOT": str(tmp_path / "media"), "STATIC_ROOT": str(tmp_path / "static"),
    })
    assert values["MEDIA_ROOT"] == str(tmp_path / "media")
    assert values["STATIC_ROOT"] == str(tmp_path / "static")
    assert (values["MEDIA_URL"], values["STATIC_URL"]) == ("/media/", "/static/")


def test_var_dir_holds_media_static_and_a_generated_secret_key(tmp_path):
    names = ["VAR_DIR", "MEDIA_ROOT", "STATIC_ROOT", "SECRET_KEY"]
    first = read_settings(names, {"CAPGEO_VAR_DIR": str(tmp_path)})
    assert first["VAR_DIR"] == str(tmp_path)
    assert first["MEDIA_ROOT"] == str(tmp_path / "media")
    assert first["STATIC_ROOT"] == str(tmp_path / "static")
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Generated once: the next process reads the same key.
    assert read_settings(["SECRET_KEY"], {"CAPGEO_VAR_DIR": str(tmp_path)}) == {"SECRET_KEY": first["SECRET_KEY"]}
    # A key from the environment wins, and no file is written for it.
    other = tmp_path / "other"
    assert read_settings(["SECRET_KEY"], {"CAPGEO_VAR_DIR": str(other), "SECRET_KEY": "from-env"}) == \
        {"SECRET_KEY": "from-env"}
    assert not (other / "secret_key").exists()


# --- Local defaults and production values --------------------------------------------------------

def test_local_defaults():
    values = read_settings(
        ["DEBUG", "LANGUAGE_CODE", "TIME_ZONE", "USE_TZ", "USE_I18N", "ALLOWED_HOSTS",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
         "SECURE_HSTS_SECONDS", "USE_X_FORWARDED_HOST", "SECURE_PROXY_SSL_HEADER", "DATABASES",
         "CAPGEO_STORAGE_SRID"],
        remove=["DATABASE_URL", "CAPGEO_PG_PORT"],
    )
    assert values["DEBUG"] is False
    assert values["LANGUAGE_CODE"] == "fr"
    assert values["TIME_ZONE"] == "Europe/Paris"
    assert values["USE_TZ"] is True and values["USE_I18N"] is True
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    # Plain http for the local demo: no secure cookies, no redirect, no HSTS, no proxy header.
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["USE_X_FORWARDED_HOST"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    # The project's own cluster started by run.sh.
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == \
        ("127.0.0.1", 55432, "capgeo", "capgeo")
    assert values["CAPGEO_STORAGE_SRID"] == 2154


def test_local_cluster_port_follows_capgeo_pg_port():
    database = read_settings(["DATABASES"], {"CAPGEO_PG_PORT": "55999"},
                             remove=["DATABASE_URL"])["DATABASES"]["default"]
    assert database["PORT"] == 55999


def test_production_values():
    values = read_settings(
        ["DEBUG", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
         "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
         "SECURE_PROXY_SSL_HEADER", "USE_X_FORWARDED_HOST", "SECRET_KEY"],
        PRODUCTION,
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["sig.example.fr"]
    assert values["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False  # opt-in (other hosts of the domain)
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["USE_X_FORWARDED_HOST"] is True


def test_hsts_subdomains_and_preload_are_opt_in():
    values = read_settings(["SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"], {
        **PRODUCTION, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true"})
    assert values == {"SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True}


def test_production_redirects_to_https_except_healthz():
    """Behind the proxy: plain http is redirected, https (X-Forwarded-Proto) is served, and /healthz
    answers over plain http for the container health check."""
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "client = Client(HTTP_HOST='sig.example.fr')\n"
        "home_http = client.get('/')\n"
        "home_https = client.get('/', HTTP_X_FORWARDED_PROTO='https')\n"
        "health = client.get('/healthz')\n"
        "other_host = client.get('/healthz', HTTP_HOST='evil.example.com')\n"
        "print(json.dumps({'home_http': [home_http.status_code, home_http.get('Location')],\n"
        "                  'home_https': [home_https.status_code, home_https.get('Strict-Transport-Security')],\n"
        "                  'health': health.status_code, 'other_host': other_host.status_code}))\n"
    )
    result = run([sys.executable, "-c", code], PRODUCTION)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["home_http"] == [301, "https://sig.example.fr/"]
    assert answers["home_https"][0] == 200
    assert answers["home_https"][1].startswith("max-age=31536000")
    assert answers["health"] == 200
    assert answers["other_host"] == 400  # ALLOWED_HOSTS


def deploy_check(fail_level):
    return run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", fail_level],
               PRODUCTION, timeout=300)


# check --deploy reports nothing with the production values (HSTS subdomains and preload are
# opt-in and their checks silenced knowingly in settings.py).
KNOWN_DEPLOY_WARNINGS = set()


def test_check_deploy_has_no_error_and_no_other_warning():
    result = deploy_check("ERROR")
    assert result.returncode == 0, result.stdout + result.stderr
    reported = set(re.findall(r"\((\w+\.[A-Z]\d{3})\)", result.stdout + result.stderr))
    assert reported <= KNOWN_DEPLOY_WARNINGS, result.stdout + result.stderr


def test_check_deploy_has_no_warning():
    result = deploy_check("WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [
    "CAPGEO_UPLOAD_MAX_BYTES", "CAPGEO_UNZIP_MAX_BYTES", "CAPGEO_IMPORT_STALE_SECONDS",
    "CAPGEO_WORKER_HEARTBEAT_SECONDS", "CAPGEO_WORKER_STALE_SECONDS",
    "CAPGEO_API_FEATURES_MAX_LIMIT", "CAPGEO_WMS_MAX_SIZE", "CAPGEO_WFS_MAX_BODY_BYTES",
    "FIELDSYNC_MAX_BATCH_CHANGES", "FIELDSYNC_MAX_PHOTO_BYTES",
])
def test_limits_come_from_the_environment_and_are_documented(name):
    assert read_settings([name], {name: "1234"})[name] == 1234
    assert f"`{name}`" in (ROOT / "docs" / "installation.md").read_text()
