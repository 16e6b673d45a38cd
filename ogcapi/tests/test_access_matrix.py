"""The access matrix through OGC API: each user sees exactly the collections and the rows the
access policy gives him, as on every other protocol (layers.testing's shared scenario); a layer
he may not view is unknown (404), never forbidden."""
import pytest
from django.test import Client

from layers.testing import SCENARIO_EXPECTED_ROWS, SCENARIO_RULES

from .support import collection_ids, document, login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", sorted(SCENARIO_EXPECTED_ROWS))
def test_each_user_sees_exactly_his_collections_and_rows(access_scenario, username):
    client = login(Client(), username)
    visible = SCENARIO_EXPECTED_ROWS[username]
    listed = set(collection_ids(client)) & set(SCENARIO_RULES)
    assert listed == set(visible)
    for name in SCENARIO_RULES:
        items = client.get(f"/ogc/collections/{name}/items?limit=100")
        collection = client.get(f"/ogc/collections/{name}")
        if name not in visible:
            assert items.status_code == collection.status_code == 404
            assert document(items)["code"] == "NotFound"
            continue
        page = document(items)
        assert {f["properties"]["code_insee"] for f in page["features"]} == visible[name]
        assert page["numberMatched"] == len(visible[name])
        for feature in page["features"]:
            one = client.get(f"/ogc/collections/{name}/items/{feature['id']}")
            assert one.status_code == 200


def test_a_row_outside_the_users_commune_is_unknown_by_id(access_scenario):
    client = login(Client(), "agent.labaule")
    admin = login(Client(), "admin.sig")
    features = document(admin.get("/ogc/collections/acces_territoire/items"))["features"]
    guerande = next(f for f in features if f["properties"]["code_insee"] == "44069")
    response = client.get(f"/ogc/collections/acces_territoire/items/{guerande['id']}")
    assert response.status_code == 404


def test_the_api_definition_names_only_the_readers_collections(access_scenario):
    anonymous = document(Client().get("/ogc/api"))
    names = anonymous["components"]["parameters"]["collectionId"]["schema"]["enum"]
    assert "acces_public" in names and "acces_admins" not in names and "acces_guerande" not in names
