"""sortby on /items (OGC API – Records' sorting, as pygeoapi offers it on features): +/- keys
over the /sortables, resumed page after page by the feature source's keyset (the next link's
`after` is the last row, whose sort values PostgreSQL reads itself), without losing or
repeating a row, under the reader's rights."""
import pytest
from django.test import Client

from layers.testing import SCENARIO_EXPECTED_ROWS

from .support import document, every_feature, local, login, rel

pytestmark = pytest.mark.django_db
SORTING = "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting"


def key(value):
    return (value is None, value)


def test_sorting_is_declared_and_sortables_listed():
    client = Client()
    assert SORTING in document(client.get("/ogc/conformance"))["conformsTo"]
    collection = document(client.get("/ogc/collections/communes"))
    href = rel(collection["links"], "http://www.opengis.net/def/rel/ogc/1.0/sortables")[0]["href"]
    sortables = document(client.get(local(href)))
    assert {"nom", "population"} <= set(sortables["properties"])
    assert "geom" not in sortables["properties"]


@pytest.mark.parametrize("sortby, column, descending", [
    ("nom", "nom", False), ("+nom", "nom", False), ("-nom", "nom", True),
    ("-population", "population", True), ("population", "population", False)])
def test_sortby_orders_every_page_and_next_links_keep_the_order(sortby, column, descending):
    """limit=2 over the 15 communes: the pages follow each other through next links (keyset,
    `after`), together exactly the rows, each once, in the asked order."""
    client = Client()
    everything = document(client.get("/ogc/collections/communes/items?limit=100"))["features"]
    features, pages, matched = every_feature(
        client, f"/ogc/collections/communes/items?limit=2&sortby={sortby.replace('+', '%2B')}")
    assert pages == 8 and matched == len(everything) == len(features)
    assert sorted(f["id"] for f in features) == sorted(f["id"] for f in everything)
    values = [f["properties"][column] for f in features]
    assert values == sorted(values, reverse=descending)


def test_sortby_with_ties_and_nulls_resumes_exactly(access_scenario):
    """Two keys, ties on the first, NULLs (last when ascending, first when descending): paging
    one row at a time gives the same order as one page."""
    client = login(Client(), "admin.sig")
    for sortby in ("code_insee,-nom", "-code_insee,nom", "nom"):
        whole = document(client.get(f"/ogc/collections/acces_public/items?limit=100&sortby="
                                    f"{sortby}"))["features"]
        paged, _pages, _matched = every_feature(
            client, f"/ogc/collections/acces_public/items?limit=1&sortby={sortby}")
        assert [f["id"] for f in paged] == [f["id"] for f in whole], sortby


def test_a_sorted_page_never_resumes_after_a_row_the_reader_cannot_see(access_scenario):
    """`after` must be one of the reader's rows: resuming after a hidden one would tell where
    its values fall among his rows."""
    admin = login(Client(), "admin.sig")
    agent = login(Client(), "agent.labaule")
    rows = document(admin.get("/ogc/collections/acces_territoire/items"))["features"]
    hidden = [f["id"] for f in rows
              if f["properties"]["code_insee"] not in
              SCENARIO_EXPECTED_ROWS["agent.labaule"]["acces_territoire"]]
    response = agent.get(f"/ogc/collections/acces_territoire/items?sortby=nom&after={hidden[0]}")
    assert response.status_code == 400 and document(response)["code"] == "InvalidParameterValue"


@pytest.mark.parametrize("sortby", ["geom", "inconnue", "nom,nom", ",", "a,b,c,d,e,f"])
def test_bad_sortby_is_a_400(sortby):
    response = Client().get("/ogc/collections/communes/items", {"sortby": sortby})
    assert response.status_code == 400 and document(response)["description"]


def test_owslib_sorts_and_its_next_links_keep_the_order(live_server, committed_demo):
    """OWSLib's ogcapi.features sends sortby=(property, desc); the next links it is given are
    followed over HTTP to the last page, in order."""
    import requests
    from owslib.ogcapi.features import Features

    service = Features(live_server.url + "/ogc/")
    page = service.collection_items("communes", sortby=("population", "desc"), limit=4)
    populations = [f["properties"]["population"] for f in page["features"]]
    while True:
        nexts = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nexts:
            break
        page = requests.get(nexts[0], timeout=60).json()
        populations += [f["properties"]["population"] for f in page["features"]]
    assert len(populations) == 15
    assert populations == sorted(populations, reverse=True)
