"""Credentials never reach a log line: gunicorn's access and error logs (a real gunicorn, started
with run.sh's own options) and Django's loggers (settings.LOGGING's filter)."""
import base64
import http.client
import io
import logging
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.redaction import redact

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "url_token": "cg_UrlTokenAbcdefghijklmnopqrstuvwxyz0123456",
    "access_token": "AccessTokenSecretValue42",
    "password": "MotDePasseSecret!42",
    "api_key_param": "ApiKeyParamSecret42",
    "bearer": "cg_BearerTokenAbcdefghijklmnopqrstuvwxyz0123",
    "x_api_key": "XApiKeyHeaderSecret42",
    "basic_password": "BasicSecretPassword42",
    "referer_token": "RefererTokenSecret42",
    "session": "SessionCookieSecret42",
}


@pytest.mark.parametrize("text, expected", [
    ("GET /ows?SERVICE=WFS&token=abc123&COUNT=5 HTTP/1.1", "GET /ows?SERVICE=WFS&token=***&COUNT=5 HTTP/1.1"),
    ("/api/?ACCESS_TOKEN=x1&api_key=x2&apikey=x3&password=x4&q=t", "/api/?ACCESS_TOKEN=***&api_key=***&apikey=***&password=***&q=t"),
    ("https://sig.example.fr/carte/?token%3Dabc", "https://sig.example.fr/carte/?token%3D***"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: ***"),
    ("{'HTTP_AUTHORIZATION': 'Bearer cg_x', 'HTTP_X_API_KEY': 'k'}", "{'HTTP_AUTHORIZATION': '***', 'HTTP_X_API_KEY': '***'}"),
    ('{"username": "lecteur", "password": "p\\"w"}', '{"username": "lecteur", "password": "***"}'),
    ("jeton cg_abcdefghijklmnopqrstuvwxyz reçu", "jeton cg_*** reçu"),
    ("csrfmiddlewaretoken=abc&next=/carte/", "csrfmiddlewaretoken=abc&next=/carte/"),
    ("Not Found: /ows", "Not Found: /ows"),
])
def test_redact(text, expected):
    assert redact(text) == expected


# --- Django's loggers -------------------------------------------------------------------------
@pytest.fixture
def django_log_output():
    """What settings.LOGGING's handlers write (root console and django.server), captured."""
    handlers = logging.getLogger().handlers + logging.getLogger("django.server").handlers
    handlers = [h for h in handlers if isinstance(h, logging.StreamHandler)
                and type(h).__module__ == "logging"]
    assert handlers
    output = io.StringIO()
    previous = [(handler, handler.setStream(output)) for handler in handlers]
    yield output
    for handler, stream in previous:
        handler.setStream(stream)


def test_every_django_handler_has_the_filter():
    from accounts.redaction import RedactCredentials

    loggers = [logging.getLogger(), logging.getLogger("django.server"), logging.getLogger("django")]
    handlers = [h for log in loggers for h in log.handlers
                if not type(h).__module__.startswith("_pytest")]  # pytest's capture
    assert handlers
    assert all(any(isinstance(f, RedactCredentials) for f in h.filters) for h in handlers)


def test_django_loggers_mask_credentials(django_log_output, client, db):
    secret = SECRETS["url_token"]
    logging.getLogger("django.request").warning("Bad Request: %s", f"/ows?token={secret}")
    logging.getLogger("django.server").info('"GET /tiles/x?access_token=%s HTTP/1.1" 200 5',
                                            SECRETS["access_token"])
    logging.getLogger("wms.wfs").error("Authorization: Basic %s", base64.b64encode(
        f"lecteur:{SECRETS['basic_password']}".encode()).decode())
    try:
        raise ValueError(f"échec pour /ows?password={SECRETS['password']}")
    except ValueError:
        logging.getLogger("layers").exception("Erreur")
    # A real request: an invalid token in the URL (refused 401, logged by django.request).
    assert client.get(f"/ows?SERVICE=WMS&token={SECRETS['bearer']}").status_code == 401
    text = django_log_output.getvalue()
    assert "token=***" in text and "access_token=***" in text and "Authorization: ***" in text
    assert "password=***" in text and "Traceback" in text
    for name in ("url_token", "access_token", "password", "bearer"):
        assert SECRETS[name] not in text, name
    assert base64.b64encode(f"lecteur:{SECRETS['basic_password']}".encode()).decode() not in text


# --- gunicorn ---------------------------------------------------------------------------------
def run_sh_gunicorn_options():
    """The options run.sh serves with (its gunicorn command line), minus bind/chdir/workers."""
    script = (ROOT / "run.sh").read_text()
    command = re.search(r'"\$VENV/bin/gunicorn" capgeo\.wsgi:application(.*?)&\n', script, re.S)
    words = shlex.split(command.group(1).replace("\\\n", " "))
    options, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in ("--chdir", "--bind", "--workers"):
            skip = True
        else:
            options.append(word)
    return options


def database_url():
    db = connection.settings_dict
    return (f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")


@pytest.fixture
def gunicorn(tmp_path, db):
    out, err = tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "capgeo.settings"}
    command = [str(Path(sys.executable).with_name("gunicorn")), "capgeo.wsgi:application",
               "--chdir", str(ROOT), "--bind", "127.0.0.1:0", "--workers", "1",
               *run_sh_gunicorn_options(),
               # Headers too, as a deployment might log them: still masked.
               "--access-logformat",
               '%(h)s "%(r)s" %(s)s q="%(q)s" f="%(f)s" auth="%({authorization}i)s" '
               'key="%({x-api-key}i)s" cookie="%({cookie}i)s" env="%({http_authorization}e)s"']
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)
    try:
        port = None
        for _attempt in range(600):
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", err.read_text())
            if match:
                port = int(match.group(1))
                break
            assert process.poll() is None, err.read_text()
            time.sleep(0.1)
        assert port, err.read_text()
        yield port, out, err
    finally:
        process.terminate()
        process.wait(timeout=60)


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_run_sh_and_the_image_use_the_redacting_logger():
    assert "--logger-class" in run_sh_gunicorn_options()
    dockerfile = (ROOT / "Dockerfile").read_text()
    # The entrypoint's gunicorn command line (kept in a variable, run by each role).
    served = [line for line in dockerfile.splitlines() if "gunicorn capgeo.wsgi:application" in line]
    assert served and all("--logger-class accounts.gunicorn_logger.RedactingLogger"
                          in line for line in served)


def test_gunicorn_access_log_masks_credentials(gunicorn):
    port, access, error = gunicorn
    basic = base64.b64encode(f"agent.guerande:{SECRETS['basic_password']}".encode()).decode()
    get(port, f"/healthz?token={SECRETS['url_token']}&x=1")
    get(port, f"/healthz?ACCESS_TOKEN={SECRETS['access_token']}&password={SECRETS['password']}"
              f"&api_key={SECRETS['api_key_param']}",
        {"Referer": f"http://127.0.0.1/carte/?token={SECRETS['referer_token']}"})
    get(port, "/healthz", {"Authorization": f"Bearer {SECRETS['bearer']}",
                           "X-Api-Key": SECRETS["x_api_key"],
                           "Cookie": f"sessionid={SECRETS['session']}"})
    get(port, "/healthz", {"Authorization": f"Basic {basic}"})
    for _attempt in range(100):  # the access log is written after the answer
        if access.read_text().count("/healthz") >= 4:
            break
        time.sleep(0.1)
    text = access.read_text() + error.read_text()
    assert text.count("/healthz") >= 4, text
    assert "token=***" in text and "ACCESS_TOKEN=***" in text and "password=***" in text
    assert 'auth="***"' in text and 'key="***"' in text and 'cookie="***"' in text
    leaked = [name for name, secret in SECRETS.items() if secret in text]
    assert leaked == [] and basic not in text, text
