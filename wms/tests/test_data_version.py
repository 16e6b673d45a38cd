"""A change of a layer's rows is not a change of the catalogue (wms migration 0005).

The count, extents and data date that refresh_layer_metadata writes after every edit of a
layer's rows bump the data version only: WMS decisions and Mapnik maps stay warm while
inspectors sync and residents report, and still draw the new rows, even far beyond the old
extent. What shows the extents (capabilities, tile coverages, metadata records) follows both."""
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from layers.models import Layer
from layers.tables import refresh_layer_metadata
from maps import decisions

from .conftest import RED, near
from .test_wms_decisions import (GUERANDE, LA_BAULE, box_around, colour_at, getmap, hall,
                                 halls_layer)  # noqa: F401 (fixture)


def versions():
    return decisions.catalogue_and_data_versions()


def add_row(x, y):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO layers_data.decisions_mairies (insee, geom) VALUES "
                       "('99999', ST_SetSRID(ST_MakePoint(%s, %s), 2154))", [x, y])
    refresh_layer_metadata(Layer.objects.get(name="decisions_mairies"))


def test_a_data_change_bumps_the_data_version_only_a_definition_change_the_version(halls_layer):
    version, data = versions()
    add_row(*hall(GUERANDE))
    assert versions() == (version, data + 1)
    Layer.objects.filter(name="decisions_mairies").update(title="Mairies, renommées")
    assert versions()[0] == version + 1
    layer = Layer.objects.get(name="decisions_mairies")
    layer.save()  # a save that changes nothing but updated_at: no new decision needed
    assert versions()[0] == version + 1


def test_a_layer_s_first_rows_and_its_last_are_a_catalogue_change(halls_layer):
    """Maps draw only layers with an extent: gaining or losing it is a change of the catalogue."""
    version, _ = versions()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM layers_data.decisions_mairies")
    refresh_layer_metadata(Layer.objects.get(name="decisions_mairies"))
    assert Layer.objects.get(name="decisions_mairies").extent is None
    assert versions()[0] == version + 1
    add_row(*hall(LA_BAULE))
    assert versions()[0] == version + 2


def test_a_warm_map_draws_rows_added_far_beyond_the_old_extent(halls_layer):
    """Warm decision, warm Map, then a row 60 km away from the others: no catalogue change, yet
    the next GetMap there draws it (the Map never culls by the data's extent)."""
    client = Client()
    box = box_around(*hall(GUERANDE))
    assert near(colour_at(getmap(client, "decisions_mairies", box), *hall(GUERANDE), box), RED)
    far = (hall(GUERANDE)[0] + 60_000, hall(GUERANDE)[1] + 40_000)
    version, _ = versions()
    add_row(*far)
    assert versions()[0] == version
    far_box = box_around(*far)
    assert near(colour_at(getmap(client, "decisions_mairies", far_box), *far, far_box), RED)
    # And the decision stayed warm: drawing the first place again asks Django's connection nothing.
    with CaptureQueriesContext(connection) as queries:
        response = getmap(client, "decisions_mairies", box)
    assert near(colour_at(response, *hall(GUERANDE), box), RED)
    assert queries.captured_queries == []


def test_capabilities_follow_the_data_extent_and_change_their_etag(halls_layer):
    client = Client()
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetCapabilities"}
    first = client.get("/ows", params)
    assert first.status_code == 200
    far = (hall(GUERANDE)[0] + 60_000, hall(GUERANDE)[1] + 40_000)
    add_row(*far)
    second = client.get("/ows", params)
    assert second["ETag"] != first["ETag"]
    again = client.get("/ows", params, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200  # the old tag no longer matches
    assert client.get("/ows", params, HTTP_IF_NONE_MATCH=second["ETag"]).status_code == 304

    def east(response):
        from lxml import etree
        tree = etree.fromstring(response.content)
        ns = {"wms": "http://www.opengis.net/wms"}
        layer = tree.xpath("//wms:Layer[wms:Name='decisions_mairies']", namespaces=ns)[0]
        return float(layer.xpath("wms:EX_GeographicBoundingBox/wms:eastBoundLongitude",
                                 namespaces=ns)[0].text)

    assert east(second) > east(first) + 0.5  # 60 km east: more than half a degree


def test_the_tile_service_and_the_metadata_records_rebuild_on_a_data_change(halls_layer):
    from metadata import records
    from wms.tiles.config import catalogue_version as tiles_version

    before_tiles, before_records = tiles_version(), records.catalogue_version()
    add_row(*hall(GUERANDE))
    assert tiles_version() != before_tiles
    assert records.catalogue_version() != before_records
    records.refresh("http://testserver")
    assert records.is_fresh(records.catalogue_version(), "http://testserver")
    add_row(*hall(LA_BAULE))
    assert not records.is_fresh(records.catalogue_version(), "http://testserver")
