"""OGC API – Features Part 4: create (POST), replace (PUT), update (PATCH) and delete with ETag /
If-Match optimistic locking, under the edit rights, the write filter and the history WFS-T
keeps (FeatureChange, one EDIT publication per request)."""
import json

import pytest
from django.test import Client

from layers.models import AccessRule, Audience, FeatureChange, Permission, Publication, \
    RowRestriction
from layers.testing import make_vector_layer

from .support import document, local, login

pytestmark = pytest.mark.django_db
GEOJSON = "application/geo+json"
ITEMS = "/ogc/collections/zones_activite/items"


def send(client, method, url, feature, **headers):
    return getattr(client, method)(url, json.dumps(feature), content_type=GEOJSON,
                                   **{f"HTTP_{k.upper().replace('-', '_')}": v
                                      for k, v in headers.items()})


def square(lon, lat, size=0.001):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat],
                                                [lon + size, lat + size], [lon, lat + size],
                                                [lon, lat]]]}


@pytest.fixture
def admin():
    return login(Client(), "admin.sig")


def properties_of(client):
    one = document(client.get(ITEMS + "?limit=1"))["features"][0]
    return {key: value for key, value in one["properties"].items()}


def test_create_read_replace_update_delete_with_history(admin):
    props = properties_of(admin)
    props["nom"] = "Zone créée par OGC API"
    before = FeatureChange.objects.count()
    created = send(admin, "post", ITEMS, {"type": "Feature", "geometry": square(-2.43, 47.33),
                                          "properties": props})
    assert created.status_code == 201, created.content
    url = local(created["Location"])
    feature = admin.get(url)
    assert document(feature)["properties"]["nom"] == "Zone créée par OGC API"
    etag = feature["ETag"]
    assert created["ETag"] == etag
    # PATCH with the right ETag; the ETag then changes.
    patched = send(admin, "patch", url, {"type": "Feature", "properties": {
        "nom": "Zone renommée"}}, **{"If-Match": etag})
    assert patched.status_code == 204
    assert document(admin.get(url))["properties"]["nom"] == "Zone renommée"
    assert document(admin.get(url))["geometry"] is not None  # PATCH kept the geometry
    # A stale ETag: 412, nothing changed.
    stale = send(admin, "put", url, {"type": "Feature", "geometry": None, "properties": props},
                 **{"If-Match": etag})
    assert stale.status_code == 412 and document(stale)["code"] == "PreconditionFailed"
    assert document(admin.get(url))["properties"]["nom"] == "Zone renommée"
    # PUT replaces: geometry and every property.
    current = admin.get(url)["ETag"]
    replaced = send(admin, "put", url, {"type": "Feature", "geometry": square(-2.42, 47.32),
                                        "properties": {"nom": "Remplacée"}},
                    **{"If-Match": current})
    assert replaced.status_code == 204
    after = document(admin.get(url))
    assert after["properties"]["nom"] == "Remplacée"
    assert all(value is None for key, value in after["properties"].items() if key != "nom")
    deleted = admin.delete(url, HTTP_IF_MATCH=admin.get(url)["ETag"])
    assert deleted.status_code == 204
    assert admin.get(url).status_code == 404
    changes = FeatureChange.objects.order_by("pk")[before:]
    assert [c.action for c in changes] == ["insert", "update", "update", "delete"]
    assert {c.source for c in changes} == {"ogcapi"}
    assert Publication.objects.filter(layer__name="zones_activite", mode="edit",
                                      source_name="OGC API").count() == 4


def test_bad_bodies_are_refused_and_nothing_is_written(admin):
    before = FeatureChange.objects.count()
    for body, status in ((("pas du json"), 400), ({"type": "FeatureCollection"}, 400),
                         ({"type": "Feature", "properties": {"inconnue": 1}}, 400),
                         ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                             "x"]}, "properties": {}}, 400)):
        data = body if isinstance(body, str) else json.dumps(body)
        response = admin.post(ITEMS, data, content_type=GEOJSON)
        assert response.status_code == status, response.content
        assert document(response)["description"]
    assert admin.post(ITEMS, "<x/>", content_type="application/xml").status_code == 415
    assert FeatureChange.objects.count() == before


def test_editing_needs_the_edit_right():
    anonymous = Client()
    response = send(anonymous, "post", ITEMS, {"type": "Feature", "geometry": None,
                                               "properties": {}})
    assert response.status_code == 401 and "WWW-Authenticate" in response
    reader = login(Client(), "lecteur")
    if reader.get("/ogc/collections/zones_activite").status_code == 200:
        response = send(reader, "post", ITEMS, {"type": "Feature", "geometry": None,
                                                "properties": {}})
        assert response.status_code == 403


def test_the_write_filter_keeps_edits_inside_the_users_commune(db):
    layer = make_vector_layer("edition_communale", "POINT", [("nom", "text")], [], [])
    rule = AccessRule.objects.create(layer=layer, audience=Audience.AUTHENTICATED,
                                     permission=Permission.EDIT,
                                     row_restriction=RowRestriction.COMMUNE_TERRITORY)
    assert rule.pk
    agent = login(Client(), "agent.guerande")
    url = "/ogc/collections/edition_communale/items"
    inside = send(agent, "post", url, {"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [-2.43, 47.33]}, "properties": {"nom": "nouveau"}})
    assert inside.status_code == 201
    outside = send(agent, "post", url, {"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [-2.36, 47.27]}, "properties": {"nom": "à La Baule"}})
    assert outside.status_code == 403
    moved = send(agent, "patch", local(inside["Location"]), {"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [-2.36, 47.27]}})
    assert moved.status_code == 403
    page = document(agent.get(url))
    assert {f["properties"]["nom"] for f in page["features"]} == {"nouveau"}


def test_number_matched_follows_edits_while_access_decisions_stay_cached(admin):
    """/items takes the reader's source from the worker's cache of access decisions (kept while
    the catalogue does not change; an edit of rows changes the data only): numberMatched is the
    layer's count of the moment all the same."""
    from maps import decisions

    reader = login(Client(), "agent.guerande")
    first = document(reader.get(ITEMS + "?limit=1"))["numberMatched"]
    version = decisions.catalogue_version()
    props = properties_of(admin)
    created = send(admin, "post", ITEMS, {"type": "Feature", "geometry": square(-2.44, 47.32),
                                          "properties": props})
    assert created.status_code == 201, created.content
    assert decisions.catalogue_version() == version  # the cached decisions stay warm
    assert document(reader.get(ITEMS + "?limit=1"))["numberMatched"] == first + 1
    url = local(created["Location"])
    assert admin.delete(url, HTTP_IF_MATCH=admin.get(url)["ETag"]).status_code == 204
    assert document(reader.get(ITEMS + "?limit=1"))["numberMatched"] == first
