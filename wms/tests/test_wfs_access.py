"""The shared access scenario over WFS: capabilities, GetFeature (every format), GetPropertyValue,
stored queries. Nothing restricted leaks to anonymous users or to another commune."""
import json
import re

import pytest

from accounts.models import User
from layers.testing import (BOTH, SCENARIO_EXPECTED_DOWNLOAD, SCENARIO_EXPECTED_ROWS,
                            SCENARIO_RULES, build_access_scenario)

from .wfs_support import query

pytestmark = pytest.mark.django_db

BASE = "/ows?SERVICE=WFS&VERSION=2.0.0&"
USERS = list(SCENARIO_EXPECTED_DOWNLOAD)


@pytest.fixture
def scenario():
    return build_access_scenario()


def as_user(client, username):
    if username != "anonymous":
        client.force_login(User.objects.get(username=username))
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def fids_by_insee(layer):
    return dict(query(f'SELECT code_insee, fid FROM layers_data."{layer}"'))


@pytest.mark.parametrize("username", USERS)
def test_capabilities_list_exactly_the_downloadable_layers(client, scenario, username):
    content = as_user(client, username).get(BASE + "REQUEST=GetCapabilities").content
    listed = {name.decode() for name in re.findall(rb"<Name>capgeo:(acces_\w+)</Name>", content)}
    assert listed == SCENARIO_EXPECTED_DOWNLOAD[username]


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("layer", list(SCENARIO_RULES))
def test_get_feature_returns_exactly_the_allowed_rows(client, scenario, username, layer):
    client = as_user(client, username)
    allowed = layer in SCENARIO_EXPECTED_DOWNLOAD[username]
    expected = SCENARIO_EXPECTED_ROWS[username].get(layer, set()) if allowed else set()
    geojson = client.get(BASE + f"REQUEST=GetFeature&TYPENAMES={layer}&OUTPUTFORMAT=geojson")
    gml = client.get(BASE + f"REQUEST=GetFeature&TYPENAMES=capgeo:{layer}")
    csv = client.get(BASE + f"REQUEST=GetFeature&TYPENAMES={layer}&OUTPUTFORMAT=csv")
    values = client.get(BASE + f"REQUEST=GetPropertyValue&TYPENAMES={layer}&VALUEREFERENCE=code_insee")
    hits = client.get(BASE + f"REQUEST=GetFeature&TYPENAMES={layer}&RESULTTYPE=hits")
    if not allowed:
        for response in (geojson, gml, csv, values, hits):
            text = body(response)
            assert response.status_code == 400 and b'locator="typeNames"' in text
            assert b"Mairie" not in text
        return
    features = json.loads(body(geojson))["features"]
    assert {f["properties"]["code_insee"] for f in features} == expected
    gml_text = body(gml).decode()
    assert set(re.findall(r"<capgeo:code_insee>(\d+)</capgeo:code_insee>", gml_text)) == expected
    assert {line.split(",")[0].strip('"') for line in body(csv).decode().splitlines()[1:]} == expected
    assert set(re.findall(r">(\d{5})<", body(values).decode())) == expected
    assert f'numberMatched="{len(expected)}"' in body(hits).decode()


@pytest.mark.parametrize("username", ["anonymous", "agent.labaule", "agent.guerande"])
def test_stored_query_by_id_does_not_leak_other_communes_rows(client, scenario, username):
    client = as_user(client, username)
    for layer in ("acces_territoire", "acces_insee", "acces_guerande", "acces_spanc"):
        visible = SCENARIO_EXPECTED_ROWS[username].get(layer, set()) \
            if layer in SCENARIO_EXPECTED_DOWNLOAD[username] else set()
        for insee, fid in fids_by_insee(layer).items():
            response = client.get(BASE + "REQUEST=GetFeature&STOREDQUERY_ID=urn:ogc:def:query:"
                                  f"OGC-WFS::GetFeatureById&ID={layer}.{fid}")
            text = body(response)
            if insee in visible:
                assert response.status_code == 200 and insee.encode() in text
            else:
                assert response.status_code in (400, 404) and b"Mairie" not in text


def test_resource_id_filter_cannot_reach_hidden_rows(client, scenario):
    client = as_user(client, "agent.labaule")
    fids = fids_by_insee("acces_territoire")
    ids = ",".join(f"acces_territoire.{fid}" for fid in fids.values())
    response = client.get(BASE + f"REQUEST=GetFeature&RESOURCEID={ids}&OUTPUTFORMAT=geojson")
    features = json.loads(body(response))["features"]
    assert {f["properties"]["code_insee"] for f in features} == \
        SCENARIO_EXPECTED_ROWS["agent.labaule"]["acces_territoire"] != BOTH
