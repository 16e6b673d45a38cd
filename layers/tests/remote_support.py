"""Fixtures of the remote-service tests: the platform itself is the remote server (live_server).

``live_demo``: the demo, committed for the live server (a transactional test; what it commits is
undone afterwards by the snapshot restore, conftest.py).
"""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def live_demo(transactional_db):
    """The demo territory, accounts and catalogue, committed (since the session's set-up)."""


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
