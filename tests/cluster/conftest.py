"""The local proof of the several-server layout (issue 17), run against `./run.sh cluster start`:
HAProxy in front of two gunicorn app servers, the local primary and its streaming replica, Redis
for the tiles. The tests are HTTP clients of the running processes (and stop, kill or promote
them as an operator would); the process running pytest never serves a request.

Skipped unless CAPGEO_CLUSTER=1 (the main suite runs without the cluster). `.ci/run` starts the
cluster, runs them and stops it:

    ./run.sh cluster start && CAPGEO_CLUSTER=1 .venv/bin/pytest -q tests/cluster; ./run.sh cluster stop

Ports: the same environment variables as scripts/cluster.sh, with the same defaults.
"""
import os

import pytest

from .support import Cluster

ENABLED = os.environ.get("CAPGEO_CLUSTER") == "1"


def pytest_collection_modifyitems(config, items):
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="needs ./run.sh cluster start and CAPGEO_CLUSTER=1")
    for item in items:
        if "tests/cluster/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster():
    return Cluster()


@pytest.fixture
def healthy(cluster):
    """The cluster with every app server up and the replica streaming (a test may have stopped
    one of them)."""
    cluster.restore()
    return cluster
