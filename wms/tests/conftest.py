"""Fixtures of the WMS tests.

Mapnik reads PostGIS through its own connections, so it only sees committed rows: the tests that
render use a transactional database (``wms_world``); what they commit (layers, tables, styles) is
undone after each test by the snapshot restore (conftest.py). Mapnik's pooled connections are
closed at the end of the session so that the test database can be dropped.
"""
import io

import pytest
from django.db import connection
from PIL import Image

from accounts.models import User
from territory.models import Commune
from layers.models import Audience, Permission, Style
from layers.testing import build_access_scenario, make_vector_layer

PUBLIC_VIEW = [{"audience": Audience.PUBLIC, "permission": Permission.VIEW}]
RED, GREEN, BLUE = "#ff0000", "#00c000", "#0000ff"


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


@pytest.fixture
def wms_world(transactional_db):
    """A committed database (the demo territory, accounts and catalogue) and fresh WMS caches."""
    from maps import legend, renderer

    renderer.clear_cache()
    legend.clear_cache()


def make_style(layer, definition, name="test", title="Style de test", default=True, **fields):
    return Style.objects.create(layer=layer, name=name, title=title, is_default=default,
                                kind=definition["kind"], definition=definition, **fields)


def fill_style(color, family="polygon", size=30):
    if family == "point":
        symbol = [{"type": "point", "mark": "circle", "size": size, "fill": color}]
    else:
        symbol = [{"type": "polygon", "fill": color, "fill_opacity": 1, "stroke": None}]
    return {"kind": "single", "symbol": symbol}


@pytest.fixture
def communes_layer(wms_world):
    """The 15 communes as a public, queryable layer."""
    rows = [{"insee": c.insee, "nom": c.name, "population": c.population, "geom": c.geom.wkt}
            for c in Commune.objects.order_by("insee")]
    layer = make_vector_layer("wms_communes", "MULTIPOLYGON",
                              [("insee", "varchar(5)"), ("nom", "text"), ("population", "integer")],
                              rows, PUBLIC_VIEW, title="Communes (test WMS)",
                              abstract="Limites communales", keywords=["communes", "limites"],
                              attribution="IGN – ADMIN EXPRESS")
    return layer


# The lower-left corner of this lon/lat box holds a red square (axis-order tests).
LONLAT_BOX = (-2.60, 47.20, -2.20, 47.50)
SQUARE_LONLAT = (-2.58, 47.21, -2.46, 47.29)


@pytest.fixture
def corner_square(wms_world):
    (wkt,) = sql("SELECT ST_AsText(ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, "
                 "4326), 0.005), 2154))", SQUARE_LONLAT)[0]
    layer = make_vector_layer("wms_carre", "POLYGON", [("nom", "text")],
                              [{"nom": "carré", "geom": wkt}], PUBLIC_VIEW, title="Carré témoin")
    make_style(layer, fill_style(RED))
    return layer


def transform_box(box, source, target):
    """(minx, miny, maxx, maxy) of a box reprojected by PostGIS (east/north order)."""
    return sql("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
               "SELECT ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s)::box2d b) s",
               [*box, source, target])[0]


def transform_point(x, y, source, target):
    return sql("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), "
               "%s) p", [x, y, source, target])[0]


def pixel_of(x, y, box, width, height):
    """(i, j) of a point in an image of box (east/north order)."""
    minx, miny, maxx, maxy = box
    return (int((x - minx) / (maxx - minx) * width), int((maxy - y) / (maxy - miny) * height))


def image_of(content):
    return Image.open(io.BytesIO(content)).convert("RGBA")


def near(pixel, color, tolerance=40):
    target = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
    return pixel[3] > 200 and all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], target))


@pytest.fixture
def scenario(wms_world):
    """The shared access scenario (layers/testing.py), committed."""
    return build_access_scenario()


@pytest.fixture
def user():
    return lambda username: User.objects.get(username=username)
