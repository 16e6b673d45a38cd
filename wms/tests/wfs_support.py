"""Helpers of the WFS tests: a polygon layer big enough to page through, the scenario users,
Basic credentials, and the live server holding it."""
import base64

import pytest
from django.db import connection

from layers.models import Audience, Layer, Permission
from layers.tables import DATA_SCHEMA, create_table, qualified, refresh_layer_metadata

PASSWORD = "demo-capgeo"
PARCELS = "wfs_parcelles"
PARCEL_COUNT = 1234
PUBLIC_DOWNLOAD = [{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}]


def basic(username, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def query(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def make_parcels(name=PARCELS, count=PARCEL_COUNT, rules=PUBLIC_DOWNLOAD):
    """A grid of `count` 40 m squares around La Baule, with typed attributes (built in SQL)."""
    from layers.models import AccessRule, Theme

    layer = Layer.objects.create(name=name, title="Parcelles de test WFS",
                                 abstract="Grille de carrés pour les tests WFS.",
                                 keywords=["test", "wfs"],
                                 theme=Theme.objects.order_by("order").first())
    create_table(DATA_SCHEMA, name, [("numero", "integer"), ("nom", "text"),
                                     ("surface", "double precision"), ("actif", "boolean"),
                                     ("date_maj", "date")], "POLYGON")
    query(
        f"INSERT INTO {qualified(DATA_SCHEMA, name)} (numero, nom, surface, actif, date_maj, geom) "
        "SELECT n, 'Parcelle n°' || n || CASE WHEN n %% 7 = 0 THEN ' l''îlot \"A\"' ELSE '' END, "
        "1600.0 + n / 10.0, n %% 2 = 0, DATE '2024-01-01' + n, "
        "ST_MakeEnvelope(288000 + (n %% 40) * 50, 6700000 + (n / 40) * 50, "
        "288040 + (n %% 40) * 50, 6700040 + (n / 40) * 50, 2154) "
        "FROM generate_series(1, %s) n", [count])
    query(f"ANALYZE {qualified(DATA_SCHEMA, name)}")
    refresh_layer_metadata(layer)
    for rule in rules:
        AccessRule.objects.create(layer=layer, **rule)
    return layer


@pytest.fixture
def server(live_server):
    """The /ows address of a live server holding the parcels layer (OWSLib and GDAL tests); the
    snapshot restore (conftest.py) takes it away afterwards."""
    make_parcels()
    return live_server.url + "/ows"


def table_fids(where="TRUE", params=()):
    """The parcels' fids PostGIS selects with this predicate (what a WFS filter must return)."""
    return {row[0] for row in query(f'SELECT fid FROM layers_data."{PARCELS}" t WHERE {where}',
                                    params)}
