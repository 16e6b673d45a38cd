"""Fixtures of the remote-service tests: the platform itself is the remote server (live_server).

``live_demo`` commits the demo for the live server. It does not rely on ``committed_demo``'s
teardown: with live_server, pytest-django's autouse helper sets transactional_db up first, so
its flush runs after that teardown and leaves the demo's layer tables without their catalogue
rows. Each test therefore starts by dropping such orphan tables, and ``demo_back_afterwards``
(module scope, torn down after the last flush) puts the demo back for the modules that follow.
"""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from capgeo.territory.demo import load_demo
from layers.tables import drop_orphan_layer_tables


@pytest.fixture(scope="module")
def demo_back_afterwards(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        serialized = getattr(connection, "_test_serialized_contents", None)
        if serialized:
            connection.creation.deserialize_db_from_string(serialized)
        drop_orphan_layer_tables()
        load_demo(thumbnails=False)


@pytest.fixture
def live_demo(demo_back_afterwards, transactional_db, django_db_serialized_rollback):
    drop_orphan_layer_tables()
    load_demo(thumbnails=False)


@pytest.fixture
def allow_local(settings, tmp_path):
    """The SSRF guard lets the tests reach the live server (and the canned servers) locally."""
    settings.CAPGEO_REMOTE_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.CAPGEO_REMOTE_TIMEOUT = 30
    settings.CAPGEO_TILES_DIR = tmp_path / "tiles"


@pytest.fixture
def remote(live_demo, live_server, allow_local):
    """The live server's base URL, serving the committed demo."""
    return live_server.url


class Canned(BaseHTTPRequestHandler):
    """A tiny foreign server answering a fixed body (HTML page, exception, error)."""
    body, content_type, status, headers_to_send = b"", "text/html", 200, {}

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        for name, value in self.headers_to_send.items():
            self.send_header(name, value)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canned(allow_local):
    """canned(body, content_type, status, headers) -> the URL of a local server answering that
    body."""
    servers = []

    def serve(body, content_type="text/xml", status=200, headers=None):
        handler = type("Handler", (Canned,), {"body": body, "content_type": content_type,
                                              "status": status, "headers_to_send": headers or {}})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/service"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
