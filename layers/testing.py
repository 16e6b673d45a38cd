"""Builders for tests of every protocol: real layer tables and the shared access scenario.

Each protocol's tests (REST, exports, WMS, WFS, tiles, sync) check the same matrix, built here
once: layers under every kind of rule, features in two communes, and who must see what.
"""
from django.db import connection

from territory.models import Commune, TownHall

from .sql import quote_ident
from .models import AccessRule, Audience, Layer, Permission, RowRestriction, Style, Theme
from .tables import DATA_SCHEMA, create_table, qualified, refresh_layer_metadata


def make_vector_layer(name, geometry_type, attributes, rows, rules=(), **metadata):
    """A catalogue layer with its own table in layers_data, filled with rows.

    attributes: [(name, pgtype)]; rows: dicts of attribute values plus "geom" as EWKT or WKT in
    EPSG:2154. rules: dicts of AccessRule fields, "communes" as a list of INSEE codes.
    """
    metadata.setdefault("title", name.replace("_", " ").capitalize())
    metadata.setdefault("theme", Theme.objects.order_by("order").first())
    layer = Layer.objects.create(name=name, **metadata)
    create_table(DATA_SCHEMA, name, attributes, geometry_type.upper())
    columns = [attribute for attribute, _ in attributes]
    with connection.cursor() as cursor:
        for row in rows:
            names = [quote_ident(c) for c in columns] + ['"geom"']
            placeholders = ["%s"] * len(columns) + ["ST_SetSRID(ST_GeomFromText(%s), 2154)"]
            cursor.execute(
                f"INSERT INTO {qualified(DATA_SCHEMA, name)} ({', '.join(names)}) "
                f"VALUES ({', '.join(placeholders)})",
                [row.get(c) for c in columns] + [row["geom"]],
            )
        cursor.execute(f"ANALYZE {qualified(DATA_SCHEMA, name)}")
    refresh_layer_metadata(layer)
    for rule in rules:
        rule = dict(rule)
        insee_codes = rule.pop("communes", [])
        access_rule = AccessRule.objects.create(layer=layer, **rule)
        if insee_codes:
            access_rule.communes.set(Commune.objects.filter(insee__in=insee_codes))
    return layer


GUERANDE, LA_BAULE = "44069", "44055"

# Layer name -> its rules. Every layer holds the two town halls (one per commune).
SCENARIO_RULES = {
    "acces_public": [
        {"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD},
    ],
    "acces_connectes": [
        {"audience": Audience.AUTHENTICATED, "permission": Permission.VIEW},
    ],
    "acces_guerande": [
        {"audience": Audience.COMMUNES, "communes": [GUERANDE], "permission": Permission.DOWNLOAD},
    ],
    "acces_spanc": [
        {"audience": Audience.ROLES, "roles": ["spanc_inspector", "spanc_manager"],
         "permission": Permission.EDIT},
    ],
    "acces_admins": [
        {"audience": Audience.ADMINS, "permission": Permission.VIEW},
    ],
    "acces_territoire": [
        {"audience": Audience.AUTHENTICATED, "permission": Permission.DOWNLOAD,
         "row_restriction": RowRestriction.COMMUNE_TERRITORY},
    ],
    "acces_insee": [
        {"audience": Audience.AUTHENTICATED, "permission": Permission.DOWNLOAD,
         "row_restriction": RowRestriction.COMMUNE_INSEE},
    ],
}

# Who sees which town halls (by INSEE code) in each layer; absent = the layer is invisible.
BOTH = {GUERANDE, LA_BAULE}
SCENARIO_EXPECTED_ROWS = {
    "anonymous": {"acces_public": BOTH},
    "agent.guerande": {
        "acces_public": BOTH, "acces_connectes": BOTH, "acces_guerande": BOTH,
        "acces_territoire": {GUERANDE}, "acces_insee": {GUERANDE},
    },
    "agent.labaule": {
        "acces_public": BOTH, "acces_connectes": BOTH,
        "acces_territoire": {LA_BAULE}, "acces_insee": {LA_BAULE},
    },
    "controleur.spanc": {  # an inspector of the intercommunality: whole territory
        "acces_public": BOTH, "acces_connectes": BOTH, "acces_spanc": BOTH,
        "acces_territoire": BOTH, "acces_insee": BOTH,
    },
    "admin.sig": {name: BOTH for name in SCENARIO_RULES},
}

# Which of those layers each user may download (exports, WFS).
SCENARIO_EXPECTED_DOWNLOAD = {
    "anonymous": {"acces_public"},
    "agent.guerande": {"acces_public", "acces_guerande", "acces_territoire", "acces_insee"},
    "agent.labaule": {"acces_public", "acces_territoire", "acces_insee"},
    "controleur.spanc": {"acces_public", "acces_spanc", "acces_territoire", "acces_insee"},
    "admin.sig": set(SCENARIO_RULES),
}


def build_access_scenario():
    """Create the scenario's layers (town halls of Guérande and La Baule in each)."""
    halls = {
        hall.commune.insee: hall
        for hall in TownHall.objects.select_related("commune").filter(
            commune__insee__in=[GUERANDE, LA_BAULE])
    }
    rows = [
        {"code_insee": insee, "nom": f"Mairie de {hall.commune.name}", "geom": hall.location.wkt}
        for insee, hall in sorted(halls.items())
    ]
    layers = {}
    for name, rules in SCENARIO_RULES.items():
        layers[name] = make_vector_layer(
            name, "POINT", [("code_insee", "varchar(5)"), ("nom", "text")], rows, rules,
            insee_field="code_insee",
        )
    return layers


def red_disc_style(layer):
    """Make a point layer's default style big red discs (30 px, #ff0000): map tests then find
    each feature drawn, or not, at its own pixel."""
    return Style.objects.create(layer=layer, name="gros", title="Gros points", is_default=True,
                                kind="single", definition={"kind": "single", "symbol": [
                                    {"type": "point", "mark": "circle", "size": 30,
                                     "fill": "#ff0000"}]})
