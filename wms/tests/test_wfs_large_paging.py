"""Paging through a large layer as QGIS does (1,000 features a page, following the `next` links of
WFS 2.0, or STARTINDEX in WFS 1.1.0): every feature exactly once, in fid order, also when the
layer is edited between pages (attributes changed, features added or deleted).

A page that continues the previous one (STARTINDEX = where it ended, within the paging window)
starts after its last fid (keyset, wms/wfs/paging.py): the same cost for every page, and a
feature deleted from a page already read shifts nothing. Any other STARTINDEX is an OFFSET over
the fid order.
"""
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from layers.models import Layer
from layers.tables import refresh_layer_metadata

from .wfs_support import PARCELS, make_parcels, query, table_fids

pytestmark = pytest.mark.django_db

FEATURES = 10_000
PAGE = 1_000
TYPE = f"capgeo:{PARCELS}"
GML = "{http://www.opengis.net/gml/3.2}"
ELEMENT = "{https://capgeo.cap-atlantique.fr/wfs}" + PARCELS


@pytest.fixture(autouse=True)
def parcels():
    return make_parcels(count=FEATURES)


def read(response):
    assert response.status_code == 200, response.content[:500] if not response.streaming else ""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def local(url):
    """The path and query of an absolute `next` link, for the test client."""
    parts = urlsplit(url)
    return parts.path + "?" + parts.query


def gml_page(client, url):
    root = ET.fromstring(read(client.get(url)))
    ids = [int(element.get(f"{GML}id").split(".")[1]) for element in root.iter(ELEMENT)]
    return ids, root


def follow_gml(client, between_pages=None):
    """Every fid, following the `next` links from the first page (as QGIS does)."""
    url = f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={TYPE}&COUNT={PAGE}"
    seen, pages = [], 0
    while url:
        ids, root = gml_page(client, url)
        assert int(root.get("numberReturned")) == len(ids)
        seen += ids
        pages += 1
        url = local(root.get("next")) if root.get("next") else None
        if url:
            assert len(ids) == PAGE  # never a short page before the last one
            if between_pages:
                between_pages(pages, ids)
    return seen, pages


def test_following_next_links_reads_every_feature_once_in_fid_order(client):
    seen, pages = follow_gml(client)
    assert pages == FEATURES // PAGE
    assert len(seen) == len(set(seen)) == FEATURES
    assert seen == sorted(seen)
    assert set(seen) == table_fids()


def test_geojson_pages_by_startindex_cover_the_layer(client):
    seen, start = [], 0
    while True:
        collection = json.loads(read(client.get(
            f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={TYPE}"
            f"&OUTPUTFORMAT=application/json&COUNT={PAGE}&STARTINDEX={start}")))
        ids = [int(feature["id"].split(".")[1]) for feature in collection["features"]]
        seen += ids
        if len(ids) < PAGE:
            break
        start += PAGE
    assert len(seen) == len(set(seen)) == FEATURES
    assert seen == sorted(seen) and set(seen) == table_fids()


def test_wfs_110_pages_with_startindex_and_maxfeatures(client):
    seen, start = [], 0
    while True:
        body = read(client.get(
            f"/ows?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME={TYPE}"
            f"&MAXFEATURES={PAGE}&STARTINDEX={start}"))
        ids = [int(number) for number in
               re.findall(rb'gml:id="' + PARCELS.encode() + rb'\.(\d+)"', body)]
        seen += ids
        if len(ids) < PAGE:
            break
        start += PAGE
    assert len(seen) == len(set(seen)) == FEATURES
    assert seen == sorted(seen) and set(seen) == table_fids()


def test_edits_between_pages_neither_hide_nor_repeat_a_feature(client):
    """Attribute edits (on read and unread pages) and new features (they take the next fids,
    after every page) while paging: every feature read once, the new ones on the last pages."""
    table = f'layers_data."{PARCELS}"'
    added = []

    def edit(page, ids):
        query(f"UPDATE {table} SET nom = 'modifiée', surface = surface + 1 WHERE fid = ANY(%s)",
              [[ids[0], ids[-1] + 1, ids[-1] + PAGE * 3]])
        added.extend(row[0] for row in query(
            f"INSERT INTO {table} (numero, nom, surface, actif, date_maj, geom) "
            "SELECT numero, 'ajoutée', surface, actif, date_maj, geom FROM "
            f"{table} WHERE fid = %s RETURNING fid", [ids[0]]))
        # Every write path (WFS-T, field sync, publication, reports) refreshes the catalogue's
        # count and extents; numberMatched is counted again after it.
        refresh_layer_metadata(Layer.objects.get(name=PARCELS))

    seen, pages = follow_gml(client, edit)
    # One feature added after each full page: the last of the original pages is followed by one
    # more, holding the additions.
    assert pages == FEATURES // PAGE + 1 and len(added) == pages - 1
    assert len(seen) == len(set(seen)) == FEATURES + len(added)
    assert seen == sorted(seen) and set(seen) == table_fids()


def page_queries(queries):
    return [q["sql"] for q in queries.captured_queries if PARCELS in q["sql"] and "LIMIT" in q["sql"]
            and "wms_wfs_page_marks" not in q["sql"]]


def test_a_jump_to_a_deep_page_is_cut_with_limit_and_offset(client):
    """A page nobody reached by paging (no page ended there): LIMIT/OFFSET over the fid order."""
    with CaptureQueriesContext(connection) as queries:
        ids, _root = gml_page(client, f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature"
                                      f"&TYPENAMES={TYPE}&COUNT={PAGE}"
                                      f"&STARTINDEX={FEATURES - PAGE}")
    assert ids == sorted(table_fids())[-PAGE:]
    sqls = page_queries(queries)
    assert sqls, [q["sql"][:200] for q in queries.captured_queries]
    # ORDER BY 1: the inner query's first column, "fid".
    assert all(re.search(rf'ORDER BY 1 ASC LIMIT {PAGE} OFFSET {FEATURES - PAGE}\)', sql)
               for sql in sqls), sqls


def startindex_url(start, version="2.0.0"):
    if version == "1.1.0":
        return (f"/ows?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME={TYPE}"
                f"&MAXFEATURES={PAGE}&STARTINDEX={start}")
    return (f"/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={TYPE}"
            f"&COUNT={PAGE}&STARTINDEX={start}")


@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_continued_pages_start_after_the_last_fid_without_offset(client, version):
    """QGIS's paging: each STARTINDEX is where the previous page ended; from the second page on,
    the page is read after the previous page's last fid (no OFFSET), and numberMatched is not
    counted again."""
    seen, start = [], 0
    while True:
        with CaptureQueriesContext(connection) as queries:
            body = read(client.get(startindex_url(start, version)))
        ids = [int(n) for n in re.findall(rb'gml:id="' + PARCELS.encode() + rb'\.(\d+)"', body)]
        sqls = page_queries(queries)
        if start:
            assert sqls and not any("OFFSET" in sql for sql in sqls), sqls
            assert any(f'"fid" > {seen[-1]}' in sql for sql in sqls), sqls
            counts = [q["sql"] for q in queries.captured_queries
                      if "COUNT(*)" in q["sql"].upper() and "LIMIT" not in q["sql"]]
            assert not counts, counts
        seen += ids
        if len(ids) < PAGE:
            break
        start += PAGE
    assert len(seen) == len(set(seen)) == FEATURES
    assert seen == sorted(seen) and set(seen) == table_fids()


def test_deleting_read_features_while_paging_skips_no_feature(client):
    """With OFFSET, a feature deleted from a page already read made the next page start one
    feature too far (that feature was never read). Continued pages start after the last fid read:
    every remaining feature is read once, and the pages tell how many they hold."""
    table = f'layers_data."{PARCELS}"'
    seen, start, deleted = [], 0, []
    while True:
        ids, root = gml_page(client, startindex_url(start))
        assert int(root.get("numberReturned")) == len(ids)
        seen += ids
        if len(ids) < PAGE:
            break
        deleted += [row[0] for row in query(f"DELETE FROM {table} WHERE fid = %s RETURNING fid",
                                            [ids[PAGE // 2]])]
        refresh_layer_metadata(Layer.objects.get(name=PARCELS))  # as every edit does
        start += PAGE
    remaining = table_fids()
    assert int(root.get("numberMatched")) == len(remaining)
    assert len(deleted) == FEATURES // PAGE
    assert len(seen) == len(set(seen)) == FEATURES
    assert set(seen) - set(deleted) == remaining
