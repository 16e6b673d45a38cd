"""The per-worker cache of WMS decisions (maps.decisions): one query per GetMap once warm, and
never a stale right: every catalogue change bumps the version counter in its own transaction."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from territory.models import Commune, TownHall
from layers.models import AccessRule, Audience, Layer, Permission, RowRestriction, Style
from layers.testing import GUERANDE, LA_BAULE
from maps import decisions

from .conftest import GREEN, RED, fill_style, image_of, make_style, near, pixel_of



def hall(insee):
    location = TownHall.objects.get(commune__insee=insee).location
    return location.x, location.y


def box_around(x, y, half=3000):
    return (x - half, y - half, x + half, y + half)


def getmap(client, layer, box):
    return client.get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer, "STYLES": "",
        "CRS": "EPSG:2154", "BBOX": ",".join(map(str, box)), "WIDTH": 128, "HEIGHT": 128,
        "FORMAT": "image/png", "EXCEPTIONS": "XML"})


def colour_at(response, x, y, box):
    assert response.status_code == 200 and response["Content-Type"] == "image/png", \
        response.content[:300]
    return image_of(response.content).getpixel(pixel_of(x, y, box, 128, 128))


def refused(response):
    return response.status_code == 400 and b"LayerNotDefined" in response.content


@pytest.fixture
def halls_layer(wms_world):
    """The two town halls as big red points, public."""
    from layers.testing import make_vector_layer

    rows = [{"insee": insee, "geom": "POINT({} {})".format(*hall(insee))}
            for insee in (GUERANDE, LA_BAULE)]
    layer = make_vector_layer("decisions_mairies", "POINT", [("insee", "varchar(5)")], rows,
                              [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    make_style(layer, fill_style(RED, family="point", size=40))
    return layer


def version():
    return decisions.catalogue_version()


def test_every_catalogue_table_bumps_the_version(db):
    from layers.models import RemoteLayer, RemoteService

    layer = Layer.objects.create(name="decisions_compteur", title="Compteur")
    steps = [
        lambda: RemoteService.objects.create(title="Distant", url="https://example.org/wms",
                                             protocol="wms"),
        lambda: RemoteLayer.objects.create(service=RemoteService.objects.get(title="Distant"),
                                           identifier="fond", title="Fond"),
        lambda: RemoteLayer.objects.filter(identifier="fond").update(crs=["EPSG:2154"]),
        lambda: RemoteService.objects.filter(title="Distant").update(version="1.3.0"),
        lambda: RemoteService.objects.filter(title="Distant").delete(),
        lambda: Layer.objects.filter(pk=layer.pk).update(title="Compteur 2"),
        lambda: AccessRule.objects.create(layer=layer, audience=Audience.COMMUNES,
                                          permission=Permission.VIEW),
        lambda: AccessRule.objects.get(layer=layer).communes.add(Commune.objects.first()),
        lambda: AccessRule.objects.get(layer=layer).communes.clear(),
        lambda: make_style(layer, fill_style(RED)),
        lambda: Style.objects.filter(layer=layer).update(title="Autre"),
        lambda: Style.objects.filter(layer=layer).delete(),
        lambda: AccessRule.objects.filter(layer=layer).delete(),
        lambda: layer.delete(),
    ]
    for step in steps:
        before = version()
        step()
        assert version() > before


def test_a_warm_getmap_asks_the_database_nothing_but_mapnik_s_query(halls_layer):
    """Warm, a GetMap of one layer is drawn on the cached decision by a Map whose query checks
    the catalogue version itself (maps.renderer.catalogue_guard): no query on Django's
    connection. Only a blank image makes it read the counter (was the Map's guard false?)."""
    client = Client()
    box = box_around(*hall(GUERANDE))
    assert near(colour_at(getmap(client, "decisions_mairies", box), *hall(GUERANDE), box), RED)
    with CaptureQueriesContext(connection) as queries:
        response = getmap(client, "decisions_mairies", box)
    assert near(colour_at(response, *hall(GUERANDE), box), RED)
    assert [q["sql"] for q in queries.captured_queries] == []
    empty = box_around(*hall(GUERANDE), half=100)
    empty = (empty[0] + 1000, empty[1], empty[2] + 1000, empty[3])  # beside the hall
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = getmap(client, "decisions_mairies", empty)
        assert response.status_code == 200
        assert [q["sql"] for q in queries.captured_queries] == [
            "SELECT version FROM wms_catalogue_version WHERE id = 1"]


def test_a_revoked_rule_applies_to_the_very_next_request(halls_layer):
    client = Client()
    box = box_around(*hall(GUERANDE))
    assert getmap(client, "decisions_mairies", box).status_code == 200  # cached as public
    AccessRule.objects.filter(layer=halls_layer).delete()
    assert refused(getmap(client, "decisions_mairies", box))
    # Given back to connected users only: still refused to anonymous visitors, drawn for agents.
    AccessRule.objects.create(layer=halls_layer, audience=Audience.AUTHENTICATED,
                              permission=Permission.VIEW)
    assert refused(getmap(client, "decisions_mairies", box))
    agent = Client()
    agent.force_login(User.objects.get(username="agent.labaule"))
    assert getmap(agent, "decisions_mairies", box).status_code == 200


def featureinfo(client, layer, box, x, y):
    """GetFeatureInfo (JSON) at the map point (x, y) of a 128 px map of box."""
    i, j = pixel_of(x, y, box, 128, 128)
    return client.get("/ows", {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo", "LAYERS": layer,
        "QUERY_LAYERS": layer, "STYLES": "", "CRS": "EPSG:2154", "BBOX": ",".join(map(str, box)),
        "WIDTH": 128, "HEIGHT": 128, "I": i, "J": j, "INFO_FORMAT": "application/json"})


def legend(client, layer):
    return client.get("/ows", {"SERVICE": "WMS", "VERSION": "1.3.0",
                               "REQUEST": "GetLegendGraphic", "LAYER": layer,
                               "FORMAT": "image/png"})


def found_insee(response):
    assert response.status_code == 200, response.content[:300]
    return [f["properties"]["insee"] for f in response.json()["features"]]


def test_feature_info_and_legends_follow_a_revoked_rule_at_once(halls_layer):
    client = Client()
    box = box_around(*hall(GUERANDE))
    for _ in range(2):  # the second round is answered from the cache
        assert found_insee(featureinfo(client, "decisions_mairies", box, *hall(GUERANDE))) == [
            GUERANDE]
        assert legend(client, "decisions_mairies").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert legend(client, "decisions_mairies").status_code == 200
    assert len(queries.captured_queries) == 1  # the version counter only
    AccessRule.objects.filter(layer=halls_layer).delete()
    assert refused(featureinfo(client, "decisions_mairies", box, *hall(GUERANDE)))
    refused_legend = legend(client, "decisions_mairies")
    assert refused_legend.status_code == 400 and b"LayerNotDefined" in refused_legend.content


def test_feature_info_follows_a_tightened_row_restriction_at_once(halls_layer):
    agent = Client()
    agent.force_login(User.objects.get(username="agent.labaule"))
    AccessRule.objects.filter(layer=halls_layer).update(audience=Audience.AUTHENTICATED)
    box = box_around(*hall(GUERANDE))
    assert found_insee(featureinfo(agent, "decisions_mairies", box, *hall(GUERANDE))) == [GUERANDE]
    AccessRule.objects.filter(layer=halls_layer).update(
        row_restriction=RowRestriction.COMMUNE_TERRITORY)
    assert found_insee(featureinfo(agent, "decisions_mairies", box, *hall(GUERANDE))) == []


def test_a_tightened_row_restriction_applies_at_once(halls_layer):
    agent = Client()
    agent.force_login(User.objects.get(username="agent.labaule"))
    AccessRule.objects.filter(layer=halls_layer).update(audience=Audience.AUTHENTICATED)
    guerande_box = box_around(*hall(GUERANDE))
    assert near(colour_at(getmap(agent, "decisions_mairies", guerande_box), *hall(GUERANDE),
                          guerande_box), RED)
    # Now each agent sees only the rows of his commune: Guérande's hall disappears for La Baule.
    AccessRule.objects.filter(layer=halls_layer).update(
        row_restriction=RowRestriction.COMMUNE_TERRITORY)
    assert colour_at(getmap(agent, "decisions_mairies", guerande_box), *hall(GUERANDE),
                     guerande_box)[:3] == (255, 255, 255)
    la_baule_box = box_around(*hall(LA_BAULE))
    assert near(colour_at(getmap(agent, "decisions_mairies", la_baule_box), *hall(LA_BAULE),
                          la_baule_box), RED)


def test_users_of_different_audiences_never_share_a_decision(halls_layer):
    AccessRule.objects.filter(layer=halls_layer).update(
        audience=Audience.AUTHENTICATED, row_restriction=RowRestriction.COMMUNE_TERRITORY)
    box = box_around(*hall(GUERANDE))
    guerande, la_baule = Client(), Client()
    guerande.force_login(User.objects.get(username="agent.guerande"))
    la_baule.force_login(User.objects.get(username="agent.labaule"))
    for _ in range(2):  # the second round is answered from the cache
        assert near(colour_at(getmap(guerande, "decisions_mairies", box), *hall(GUERANDE), box),
                    RED)
        assert colour_at(getmap(la_baule, "decisions_mairies", box), *hall(GUERANDE),
                         box)[:3] == (255, 255, 255)
        assert refused(getmap(Client(), "decisions_mairies", box))


def test_a_style_edit_is_drawn_at_once(halls_layer):
    client = Client()
    box = box_around(*hall(LA_BAULE))
    assert near(colour_at(getmap(client, "decisions_mairies", box), *hall(LA_BAULE), box), RED)
    style = Style.objects.get(layer=halls_layer)
    style.definition = fill_style(GREEN, family="point", size=40)
    style.save()
    assert near(colour_at(getmap(client, "decisions_mairies", box), *hall(LA_BAULE), box), GREEN)


def test_without_the_counter_row_nothing_is_cached(db):
    from layers.testing import make_vector_layer

    make_vector_layer("decisions_sans_compteur", "POINT", [], [{"geom": "POINT(290000 6706000)"}],
                      [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM wms_catalogue_version")  # rolled back with the test
    decisions.clear()
    assert decisions.catalogue_version() is None
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            served = decisions.resolve(AnonymousUser(), ["decisions_sans_compteur"], [""])
        assert served[0].layer.name == "decisions_sans_compteur"
        assert len(queries.captured_queries) > 1  # the catalogue is read every time
    assert decisions._cache.entries == {}
