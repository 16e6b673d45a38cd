"""Two app servers behind HAProxy, a primary and its streaming replica, tiles in Redis: what an
operations team expects of them, checked on the running processes (see conftest.py)."""
import threading
import time
import uuid

import requests

from .support import (ADMIN, READER, ZONES, Load, delete_zones, insert_zone, webmercator_tile,
                      wmts_tile, zone_ids)

# A free spot in Guérande (Lambert-93), where the tests draw their zones.
SPOT = (290500.0, 6706000.0)


def reader_features(base, layer="installations_anc"):
    """Status of the reader's WFS GetFeature of a layer on one app server."""
    return requests.get(f"{base}/ows", auth=READER, timeout=30, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": layer,
        "COUNT": "1", "OUTPUTFORMAT": "application/json"}).status_code


def test_healthz_reports_the_replica_on_every_app_server(healthy):
    for base in healthy.apps:
        status, body = healthy.health(base)
        assert status == 200 and body["status"] == "ok"
        replica = body["replica"]
        assert replica["state"] == "ok"
        assert replica["lag_seconds"] <= replica["max_lag_seconds"]
        assert replica["lag_bytes"] is not None and replica["replay_lsn"]


def test_a_rights_change_applies_on_both_app_servers_at_the_next_request(healthy):
    a, b = healthy.apps
    # Each server has read (and cached) the reader's rights before the change.
    assert [reader_features(a), reader_features(b)] == [400, 400]
    created = requests.post(f"{a}/api/rules/", auth=ADMIN, timeout=30, json={
        "layer": "installations_anc", "effect": "allow", "audience": "users",
        "users": [READER[0]], "permission": "download"})
    assert created.status_code == 201, created.text
    rule = created.json()["id"]
    try:
        assert [reader_features(b), reader_features(a)] == [200, 200]
    finally:
        deleted = requests.delete(f"{b}/api/rules/{rule}/", auth=ADMIN, timeout=30)
    assert deleted.status_code == 204
    assert [reader_features(a), reader_features(b)] == [400, 400]


def test_wfs_t_insert_on_one_server_then_getfeature_on_the_other_returns_it(healthy):
    a, b = healthy.apps
    fids = []
    # The replica replays 2 s late (under the 5 s bound: it is still read).
    healthy.delay_replica("2s")
    try:
        for i in range(6):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            fid = insert_zone(writer, f"Zone de réplication {i}", SPOT[0] + 20 * i, SPOT[1])
            fids.append(fid)
            # At once, on the other server, with the same Basic credentials and no cookie: the
            # writer reads its write (from the primary, its write mark not replayed yet)…
            assert zone_ids(reader, [fid]) == {fid}
            # …while an anonymous client, read from the lagging replica, does not see it yet…
            assert zone_ids(reader, [fid], auth=None) == set()
        # …and does within the lag.
        healthy.wait_until("the replica replaying the inserts",
                           lambda: zone_ids(b, fids, auth=None) == set(fids), timeout=30)
    finally:
        healthy.delay_replica(None)
        delete_zones(a, fids)
    assert zone_ids(b, fids) == set()


def test_a_tile_purge_is_seen_by_both_servers(healthy):
    a, b = healthy.apps
    z = 14
    column, row = webmercator_tile(*SPOT, z)
    redis = healthy.redis()
    pattern = f"{ZONES}_GoogleMapsCompatible-{z}-*"
    before = wmts_tile(a, ZONES, z, column, row)
    cached = set(redis.scan_iter(match=pattern))
    assert cached, "the tile was not stored in Redis"
    # Server B reads the tile A cached: same bytes, nothing new stored.
    assert wmts_tile(b, ZONES, z, column, row) == before
    assert set(redis.scan_iter(match=pattern)) == cached
    fid = insert_zone(a, f"Zone tuile {uuid.uuid4().hex[:6]}", *SPOT, half=300.0)
    try:
        # The edit's extent was purged from the one store: B draws the new zone.
        assert set(redis.scan_iter(match=pattern)) < cached
        after = wmts_tile(b, ZONES, z, column, row)
        assert after != before
        assert wmts_tile(a, ZONES, z, column, row) == after
    finally:
        delete_zones(b, [fid])
    assert wmts_tile(a, ZONES, z, column, row) == before


def test_killing_an_app_server_under_40_clients_loses_no_request(healthy):
    victim = healthy.app_ports[0]
    with Load(healthy.lb, clients=40) as load:
        healthy.wait_until("requests served", lambda: load.count() >= 80)
        served_before = load.count()
        killed = healthy.kill_app(victim)
        healthy.wait_until("the killed server gone", lambda: not healthy.app_alive(victim))
        # Keep the load on the surviving server for a while.
        healthy.wait_until("requests served after the kill",
                           lambda: load.count() >= served_before + 200, timeout=180)
    assert len(killed) >= 2  # the master and its workers
    assert load.failures == []
    # Only requests in flight on the dead server may have needed the client's retry: one per
    # client at most (HAProxy already retries the GETs it can).
    assert len(load.retried) <= 40, load.retried[:5]
    assert load.by_kind["wms"] > 0 and load.by_kind["wfs"] > 0
    status, _ = healthy.health()
    assert status == 200


def test_stopping_the_replica_under_load_falls_back_to_the_primary(healthy):
    with Load(healthy.lb, clients=40) as load:
        healthy.wait_until("requests served", lambda: load.count() >= 80)
        healthy.stop_replica()
        for base in healthy.apps:
            healthy.wait_until(f"{base} reporting the replica down", lambda b=base:
                               healthy.health(b)[1]["replica"]["state"] == "down")
        served = load.count()
        healthy.wait_until("requests served without the replica",
                           lambda: load.count() >= served + 200, timeout=180)
        healthy.start_replica()
        for base in healthy.apps:
            healthy.wait_until(f"{base} reading its replica again",
                               lambda b=base: healthy.replica_ok(b))
        served = load.count()
        healthy.wait_until("requests served with the replica back",
                           lambda: load.count() >= served + 80, timeout=180)
    assert load.failures == []
    # A response being streamed from the replica when it stopped is cut, like one of a killed
    # server, and sent again by its client: at most one per client.
    assert len(load.retried) <= 40, load.retried[:5]
    for base in healthy.apps:
        status, body = healthy.health(base)
        assert status == 200 and body["replica"]["state"] == "ok"


def test_promoting_the_replica_after_stopping_the_primary_loses_no_acknowledged_write(healthy):
    acknowledged, stop = [], []
    lb = healthy.lb

    def writer():
        i = 0
        while not stop:
            try:
                acknowledged.append(insert_zone(lb, f"Bascule {i}", SPOT[0] - 1000 + (i % 50) * 10,
                                                SPOT[1] - 1000, half=4.0, timeout=10))
            except (AssertionError, requests.RequestException):
                time.sleep(0.2)  # not acknowledged: the platform is switching over
            i += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        healthy.wait_until("writes acknowledged", lambda: len(acknowledged) >= 10)
        healthy.run_sh("cluster", "failover")
        assert healthy.topology() == "failed-over"
        written = len(acknowledged)
        healthy.wait_until("writes acknowledged after the failover",
                           lambda: len(acknowledged) >= written + 10, timeout=180)
    finally:
        stop.append(True)
        thread.join(timeout=60)
    # Served by the promoted server alone: no replica any more.
    status, body = healthy.health()
    assert status == 200 and "replica" not in body
    assert zone_ids(lb, acknowledged) == set(acknowledged)
    # Back to the original layout; nothing written meanwhile is lost either.
    healthy.run_sh("cluster", "failback")
    healthy.wait_healthy()
    assert zone_ids(lb, acknowledged) == set(acknowledged)
    delete_zones(lb, acknowledged)
    assert zone_ids(lb, acknowledged) == set()
