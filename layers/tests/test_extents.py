"""layers.extents: a layer's boxes in every advertised CRS, measured on its rows (exactly what
ST_Extent(ST_Transform(geom, srid)) over every row gives, without transforming every row)."""
import pytest
from django.db import connection

from layers import extents
from layers.tables import DATA_SCHEMA, create_table, drop_layer_tables, measure, qualified

pytestmark = pytest.mark.django_db

TABLE = "extents_mesure"


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def naive(where="TRUE", params=()):
    """The reference: every row transformed, in each CRS."""
    return {srid: sql(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                      f"ST_Extent(ST_Transform(t.geom, {srid})) e FROM "
                      f"{qualified(DATA_SCHEMA, TABLE)} t WHERE {where}) s", params)[0]
            for srid in (2154, 4326, 3857)}


@pytest.fixture
def world_table():
    """Points, lines and polygons of every size, from Guérande to Tahiti and New Caledonia,
    with NULL and empty geometries: what a national dataset may hold."""
    create_table(DATA_SCHEMA, TABLE, [("code", "text")])
    sql(f"""
        INSERT INTO {qualified(DATA_SCHEMA, TABLE)} (code, geom)
        SELECT 'p' || i, ST_Transform(ST_SetSRID(ST_MakePoint(
                   -63 + mod(i * 7919, 12000) / 100.0, -23 + mod(i * 104729, 7000) / 100.0),
                   4326), 2154)
        FROM generate_series(1, 3000) i
        UNION ALL
        SELECT 'l' || i, ST_Transform(ST_Segmentize(ST_SetSRID(ST_MakeLine(
                   ST_MakePoint(-5 + i * 0.05, 42 + mod(i, 9)), ST_MakePoint(-4 + i * 0.05,
                   43 + mod(i, 7))), 4326), 0.05), 2154)
        FROM generate_series(1, 200) i
        UNION ALL
        SELECT 'q' || i, ST_Transform(ST_Segmentize(ST_Buffer(ST_SetSRID(ST_MakePoint(
                   -150 + i * 1.5, -20 + mod(i, 30)), 4326), 0.3 + mod(i, 5)), 0.1), 2154)
        FROM generate_series(1, 200) i
        UNION ALL
        SELECT 'nc', ST_Transform(ST_SetSRID(ST_MakeEnvelope(163.5, -22.7, 168.2, -19.5),
                   4326), 2154)
        UNION ALL SELECT 'null', NULL
        UNION ALL SELECT 'vide', ST_GeomFromText('POLYGON EMPTY', 2154)
    """)
    yield
    drop_layer_tables(TABLE)


def test_measure_gives_exactly_the_boxes_of_every_row_transformed(world_table):
    summary, geometry_type = measure(DATA_SCHEMA, TABLE)
    assert summary.count == 3403
    assert geometry_type == "GEOMETRY"
    expected = naive()
    assert summary.boxes[2154] == pytest.approx(expected[2154], abs=1e-6)
    assert summary.boxes[4326] == pytest.approx(expected[4326], abs=1e-12)
    # Web Mercator from the WGS 84 box: the same as every row transformed (separable axes).
    assert summary.boxes[3857] == pytest.approx(expected[3857], abs=1e-4)


def test_measure_through_a_row_filter(world_table):
    where, params = "t.code LIKE %s", ["q%"]
    with connection.cursor() as cursor:
        cursor.execute(*extents.measure_sql(qualified(DATA_SCHEMA, TABLE), where, params))
        summary, _types = extents.summary_from_row(cursor.fetchone())
    assert summary.count == 200
    assert summary.boxes[4326] == pytest.approx(naive(where, params)[4326], abs=1e-12)


def test_empty_and_single_point_tables():
    create_table(DATA_SCHEMA, TABLE, [("code", "text")])
    try:
        summary, geometry_type = measure(DATA_SCHEMA, TABLE)
        assert (summary.count, summary.boxes, geometry_type) == (0, {}, "")
        sql(f"INSERT INTO {qualified(DATA_SCHEMA, TABLE)} (code, geom) VALUES ('a', "
            f"ST_Transform(ST_SetSRID(ST_MakePoint(55.45, -20.9), 4326), 2154))")
        summary, geometry_type = measure(DATA_SCHEMA, TABLE)
        west, south, east, north = summary.boxes[4326]
        assert west < 55.45 < east and south < -20.9 < north and east - west < 1e-4
        assert geometry_type == "POINT"
    finally:
        drop_layer_tables(TABLE)


def test_request_boxes_find_rows_anywhere(world_table):
    """storage_box_sql: a request box of any CRS, anywhere on Earth (world tile included), finds
    the rows inside it through the Lambert-93 index."""
    table = qualified(DATA_SCHEMA, TABLE)
    for srid, box in ((4326, (163.0, -23.0, 169.0, -19.0)),          # New Caledonia
                      (3857, (-20037508.34, -20037508.34, 20037508.34, 20037508.34)),  # world
                      (4326, (-180.0, -90.0, 180.0, 90.0))):
        expression = extents.storage_box_sql(f"ST_MakeEnvelope({', '.join(map(repr, box))}, "
                                             f"{srid})", srid)
        (found,), = sql(f"SELECT count(*) FROM {table} t WHERE t.geom && {expression} AND "
                        f"ST_Intersects(ST_Transform(t.geom, {srid}), "
                        f"ST_MakeEnvelope({', '.join(map(repr, box))}, {srid}))")
        (expected,), = sql(f"SELECT count(*) FROM {table} t WHERE ST_Intersects("
                           f"ST_Transform(t.geom, {srid}), "
                           f"ST_MakeEnvelope({', '.join(map(repr, box))}, {srid}))")
        assert found == expected > 0, (srid, box)
