"""CQL2 temporal comparisons (Part 3) and datetime on a layer with date and timestamp columns:
each filter's rows compared with those the same condition selects in Python. pygeofilter 0.4
reads T_BEFORE, T_AFTER, T_EQUALS, T_DURING, T_CONTAINS, T_OVERLAPS and T_INTERSECTS (which it
parses as T_OVERLAPS) in CQL2 JSON; on an instant property an interval is compared by its
bounds. It does not read T_STARTS, T_FINISHES, T_DISJOINT, T_METBY… nor the functional syntax
of CQL2 text, so the temporal-functions class is not declared."""
import datetime
import json

import pytest
from django.test import Client

from layers.models import Audience, Permission
from layers.testing import make_vector_layer

from .support import document

pytestmark = pytest.mark.django_db
DAYS = [datetime.date(2024, 1, 1) + datetime.timedelta(days=10 * i) for i in range(12)]
TEMPORAL = "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions"


@pytest.fixture
def visits():
    rows = [{"nom": f"visite {i}", "jour": day,
             "vu_le": datetime.datetime.combine(day, datetime.time(9, 30),
                                                tzinfo=datetime.timezone.utc),
             "geom": f"POINT({280000 + i * 100} 6710000)"} for i, day in enumerate(DAYS)]
    rows.append({"nom": "sans date", "jour": None, "vu_le": None, "geom": "POINT(281500 6710000)"})
    make_vector_layer("visites", "POINT", [("nom", "text"), ("jour", "date"),
                                           ("vu_le", "timestamptz")], rows,
                      rules=[{"audience": Audience.PUBLIC, "permission": Permission.VIEW}])
    return rows


def selected(**params):
    response = Client().get("/ogc/collections/visites/items", {"limit": 100, **params})
    assert response.status_code == 200, response.content[:300]
    return {f["properties"]["nom"] for f in document(response)["features"]}


def expected(keep):
    return {f"visite {i}" for i, day in enumerate(DAYS) if keep(day)}


def cql2_json(op, literal):
    return {"filter-lang": "cql2-json",
            "filter": json.dumps({"op": op, "args": [{"property": "jour"}, literal]})}


START, END = datetime.date(2024, 2, 10), datetime.date(2024, 3, 1)
INTERVAL = {"interval": [START.isoformat(), END.isoformat()]}


@pytest.mark.parametrize("op, literal, keep", [
    ("t_before", {"date": "2024-02-10"}, lambda d: d < START),
    ("t_after", {"date": "2024-02-10"}, lambda d: d > START),
    ("t_equals", {"date": "2024-02-10"}, lambda d: d == START),
    ("t_during", INTERVAL, lambda d: START < d < END),
    ("t_intersects", INTERVAL, lambda d: START <= d <= END),
    ("t_intersects", {"date": "2024-02-10"}, lambda d: d == START),
    ("t_before", INTERVAL, lambda d: d < START),
    ("t_after", INTERVAL, lambda d: d > END),
])
def test_cql2_json_temporal_operators_on_a_date(visits, op, literal, keep):
    assert selected(**cql2_json(op, literal)) == expected(keep)


def test_cql2_text_date_and_timestamp_comparisons(visits):
    assert selected(filter="jour >= DATE('2024-02-10') AND jour < DATE('2024-03-01')") == \
        expected(lambda d: START <= d < END)
    assert selected(filter="vu_le > TIMESTAMP('2024-02-10T10:00:00Z')") == \
        expected(lambda d: d > START)


def test_datetime_parameter_on_the_first_date_property(visits):
    assert selected(datetime="2024-02-10") == expected(lambda d: d == START)
    assert selected(datetime="2024-02-10/2024-03-01") == expected(lambda d: START <= d <= END)
    assert selected(datetime="../2024-01-11") == expected(lambda d: d <= DAYS[1])


def test_unsupported_temporal_operators_are_400_and_the_class_is_not_declared(visits):
    response = Client().get("/ogc/collections/visites/items", cql2_json("t_meets", INTERVAL))
    assert response.status_code == 400 and document(response)["description"]
    assert TEMPORAL not in document(Client().get("/ogc/conformance"))["conformsTo"]
