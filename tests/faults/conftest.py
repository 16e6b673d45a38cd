"""One throwaway PostgreSQL cluster and one platform (gunicorn as `./run.sh demo` serves it) for
the fault tests of this package: built once (migrations + demo, a few seconds), shared, then
thrown away. The tests talk HTTP to gunicorn and check the database with their own connections:
the process running pytest never serves a request."""
import base64
import shutil
import uuid

import pytest
import requests

from .processes import PASSWORD, PG_BIN, ROOT, Cluster, Platform

INSPECTOR = "controleur.spanc"
GIS_ADMIN = "admin.sig"


@pytest.fixture(scope="package")
def cluster():
    if not (PG_BIN / "initdb").exists() or not shutil.which("ogr2ogr"):
        pytest.fail(f"{PG_BIN}/initdb or ogr2ogr is missing: `./run.sh test` installs them "
                    "(postgresql-15, postgresql-15-postgis-3, gdal-bin).")
    cluster = Cluster().create()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="package")
def platform(cluster):
    # Short import heartbeats, so that a dead import worker's job is found in seconds.
    # Short worker heartbeats too, so that the task of a killed worker is taken up in seconds.
    platform = Platform(cluster, CAPGEO_IMPORT_HEARTBEAT_SECONDS="1",
                        CAPGEO_IMPORT_STALE_SECONDS="4", CAPGEO_WORKER_HEARTBEAT_SECONDS="1",
                        CAPGEO_WORKER_STALE_SECONDS="4").build()
    platform.serve(workers=3)
    yield platform
    platform.stop()
    # gunicorn's and the import worker's logs kept with the other test artefacts.
    shutil.copytree(platform.var / "log", ROOT / "var" / "test-artefacts" / "faults-logs",
                    dirs_exist_ok=True)
    platform.destroy()


@pytest.fixture
def served(platform):
    """The platform, its gunicorn running (a test may have stopped it or its database)."""
    if platform.gunicorn is None or platform.gunicorn.poll() is not None:
        platform.serve(workers=3)
    return platform


def basic(username, password=PASSWORD):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Tablet:
    """A field client talking to the platform over HTTP, as docs/sync-protocol.md describes."""

    def __init__(self, platform, username=INSPECTOR):
        self.platform = platform
        self.session = requests.Session()
        self.session.headers.update(basic(username))
        self.device = str(uuid.uuid4())
        response = self.session.post(platform.url("/api/sync/devices/"),
                                     json={"id": self.device, "name": "Tablette de test"}, timeout=60)
        assert response.status_code == 201, response.text

    def package(self):
        response = self.session.get(
            self.platform.url(f"/api/sync/package/?device={self.device}"), timeout=120)
        assert response.status_code == 200, response.text
        return response.json()

    def batch(self, changes):
        return {"batch_id": str(uuid.uuid4()), "device_id": self.device, "changes": changes}

    def push(self, body, timeout=120):
        return self.session.post(self.platform.url("/api/sync/push/"), json=body, timeout=timeout)


@pytest.fixture
def tablet(served):
    return Tablet(served)


def control_update(control, comments, status="in_progress"):
    """An update of an assigned control, based on the version the tablet holds."""
    return {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": control["id"], "base_version": control["version"],
            "data": {"status": status, "comments": comments}}
