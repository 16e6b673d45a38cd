"""Vector tiles use the per-worker cache of access decisions (maps.decisions.grant): a warm
tile costs the version query and the tile query only, and a revoked or tightened rule applies to
the very next request in every worker (here: another thread, with its own connection and cache)."""
import threading

import mapbox_vector_tile
import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from layers.models import AccessRule, Audience, Layer, Permission, RowRestriction
from layers.testing import GUERANDE, LA_BAULE, make_vector_layer
from maps import decisions

from .test_mvt import common_tile, town_hall

NAME = "decisions_mvt"
BOTH = sorted([GUERANDE, LA_BAULE])


@pytest.fixture
def halls(wms_world):
    """The two town halls, public, and the tile holding both."""
    rows = [{"insee": insee, "geom": "POINT({} {})".format(*town_hall(insee))}
            for insee in (GUERANDE, LA_BAULE)]
    make_vector_layer(NAME, "POINT", [("insee", "varchar(5)")], rows,
                      [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    return "/tiles/{}/{}/{}/{}.mvt".format(NAME, *common_tile([town_hall(GUERANDE),
                                                                 town_hall(LA_BAULE)]))


def insee_codes(response):
    assert response.status_code == 200, response.content[:300]
    features = mapbox_vector_tile.decode(response.content)[NAME]["features"]
    return sorted(f["properties"]["insee"] for f in features)


class OtherWorker:
    """A thread standing for another gunicorn worker: its own connection, its own cache."""

    def __init__(self):
        self.client = Client()

    def get(self, path):
        answer = {}

        def run():
            try:
                answer["response"] = self.client.get(path)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return answer["response"]


def test_a_warm_tile_asks_only_for_the_version_and_the_tile(halls):
    client = Client()
    assert insee_codes(client.get(halls)) == BOTH
    with CaptureQueriesContext(connection) as queries:
        response = client.get(halls)
    assert insee_codes(response) == BOTH
    assert response["Cache-Control"] == "public, max-age=300"
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sqls[0] == "SELECT version FROM wms_catalogue_version WHERE id = 1"
    assert len(sqls) == 2 and "ST_AsMVT" in sqls[1]


def test_a_revoked_rule_applies_to_the_next_tile_in_every_worker(halls):
    here, there = Client(), OtherWorker()
    for _ in range(2):  # the second round is answered from each worker's cache
        assert insee_codes(here.get(halls)) == BOTH
        assert insee_codes(there.get(halls)) == BOTH
    AccessRule.objects.filter(layer__name=NAME).delete()
    assert here.get(halls).status_code == 404
    assert there.get(halls).status_code == 404
    # Given back to connected users only: still refused to anonymous visitors, served to agents.
    AccessRule.objects.create(layer=Layer.objects.get(name=NAME), audience=Audience.AUTHENTICATED,
                              permission=Permission.VIEW)
    assert there.get(halls).status_code == 404
    agent = Client()
    agent.force_login(User.objects.get(username="agent.labaule"))
    response = agent.get(halls)
    assert insee_codes(response) == BOTH
    # The anonymous audience's decision (asked for Cache-Control) is cached apart: private.
    assert response["Cache-Control"] == "private, no-cache"


def test_a_tightened_row_restriction_applies_to_the_next_tile(halls):
    AccessRule.objects.filter(layer__name=NAME).update(audience=Audience.AUTHENTICATED)
    la_baule, guerande = Client(), OtherWorker()
    la_baule.force_login(User.objects.get(username="agent.labaule"))
    guerande.client.force_login(User.objects.get(username="agent.guerande"))
    for _ in range(2):
        assert insee_codes(la_baule.get(halls)) == BOTH
        assert insee_codes(guerande.get(halls)) == BOTH
    AccessRule.objects.filter(layer__name=NAME).update(
        row_restriction=RowRestriction.COMMUNE_TERRITORY)
    # Each agent now sees his own commune's hall only: the two audiences never share a decision.
    assert insee_codes(la_baule.get(halls)) == [LA_BAULE]
    assert insee_codes(guerande.get(halls)) == [GUERANDE]
    assert Client().get(halls).status_code == 404


def test_without_the_counter_row_the_grant_is_read_every_time(halls):
    version = decisions.catalogue_version()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM wms_catalogue_version")  # committed: put back below
    try:
        decisions.clear()
        client = Client()
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                assert insee_codes(client.get(halls)) == BOTH
            assert len(queries.captured_queries) > 2  # the layer and its rules, each time
        assert decisions._cache.entries == {}
    finally:
        with connection.cursor() as cursor:  # a higher value: no worker trusts its old entries
            cursor.execute("INSERT INTO wms_catalogue_version VALUES (1, %s)", [version + 1000])
