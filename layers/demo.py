"""Demo catalogue: five layers over Cap Atlantique, each showing a different kind of access rule
(the generated ones with named styles: categories, classes, dashes, marks).

- ``communes`` and ``mairies`` come from the demo territory (IGN – ADMIN EXPRESS);
- ``zones_activite``, ``reseau_fibre`` and ``installations_anc`` are generated inside the real
  commune boundaries, deterministically: PostGIS's seeded ST_GeneratePoints places them, and
  attribute values derive from md5 hashes of fixed salts, so every run builds the same data.

Idempotent: a layer that already exists in the catalogue is left alone (even if someone changed
it). Each layer is created in its own transaction: nothing is ever half-created.
"""
import datetime
import hashlib
import json
from dataclasses import dataclass, field

from django.db import connection, transaction

from accounts.models import Role
from territory.models import Commune

from .models import (
    AccessRule, AreaMode, Audience, Effect, Layer, Licence, Operation, Permission, Publication,
    RowRestriction, RuleAudience, Style, Theme, UpdateFrequency,
)
from .events import layer_published
from .styles import clean_definition
from .tables import DATA_SCHEMA, create_table, finish_table, qualified, refresh_layer_metadata


GENERATOR_VERSION = 1
SOURCE_NAME = "démo"
IGN_ATTRIBUTION = "IGN – ADMIN EXPRESS, Licence Ouverte 2.0"
DEMO_ATTRIBUTION = "Cap Atlantique – données de démonstration générées"


def rand(salt, key_sql):
    """SQL for a uniform number in [0, 1) derived from a fixed salt and a row key (no state)."""
    return (f"(('x' || substr(md5('{salt}:' || ({key_sql})::text), 1, 8))::bit(32)::bigint"
            f" / 4294967296.0)")


def pick(values, salt, key_sql):
    """SQL picking one of the values (SQL literals), evenly, for a row key."""
    array = "ARRAY[" + ", ".join(values) + "]"
    return f"({array})[1 + floor({rand(salt, key_sql)} * {len(values)})::int]"


def weighted(choices, salt, key_sql):
    """SQL picking a value according to weights: choices = [(SQL literal, weight)]."""
    total = sum(weight for _, weight in choices)
    r = rand(salt, key_sql)
    cases, cumulative = [], 0
    for value, weight in choices[:-1]:
        cumulative += weight
        cases.append(f"WHEN {r} < {cumulative / total:.4f} THEN {value}")
    return f"CASE {' '.join(cases)} ELSE {choices[-1][0]} END"


def literal(text):
    return "'" + text.replace("'", "''") + "'"


@dataclass
class DemoLayer:
    name: str
    geometry_type: str
    attributes: list
    select_sql: str  # yields the attribute columns then geom, in order
    theme: str
    metadata: dict
    rules: list
    parameters: dict = field(default_factory=dict)
    styles: list = field(default_factory=list)  # [(name, title, is_default, definition)]

    def checksum(self):
        generator = {"layer": self.name, "version": GENERATOR_VERSION, "sql": self.select_sql,
                     "parameters": self.parameters}
        return hashlib.sha256(json.dumps(generator, sort_keys=True).encode()).hexdigest()


COMMUNES = DemoLayer(
    name="communes",
    geometry_type="MULTIPOLYGON",
    attributes=[("insee", "varchar(5)"), ("nom", "text"), ("departement", "varchar(3)"),
                ("population", "integer")],
    select_sql="SELECT c.insee, c.name, c.department, c.population, c.geom "
               "FROM territory_commune c ORDER BY c.insee",
    theme="administratif",
    metadata={
        "title": "Communes de Cap Atlantique",
        "abstract": "Limites des 15 communes membres de Cap Atlantique (généralisées), avec leur "
                    "code INSEE, leur département et leur population municipale.",
        "keywords": ["commune", "limite administrative", "INSEE", "population"],
        "licence": Licence.ETALAB_2,
        "attribution": IGN_ATTRIBUTION,
        "update_frequency": UpdateFrequency.YEARLY,
        "inspire_theme": "au", "scale_denominator": 50000,
        "lineage": "IGN ADMIN EXPRESS, limites généralisées ; population municipale INSEE.",
        "insee_field": "insee",
        "searchable": True,
        "search_fields": ["nom", "insee"],
        "cacheable": True,  # cached tiles (WMTS/TMS) in the demo
    },
    rules=[{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
    styles=[
        ("limites", "Limites et noms des communes", True, {
            "kind": "single",
            "symbol": [{"type": "polygon", "fill": "#f4efe4", "fill_opacity": 0.85,
                        "stroke": "#8c7a66", "stroke_width": 1.2}],
            "label": {"attribute": "nom", "font": "DejaVu Sans Bold", "size": 11,
                      "color": "#3d3a36", "halo_color": "#ffffff", "halo_radius": 1.5}}),
        # Quartiles of the communes' population (the data are fixed: IGN / INSEE).
        ("population", "Population municipale", False, {
            "kind": "graduated", "attribute": "population", "method": "quantile",
            "breaks": [1007, 2095.5, 3220, 4593, 16132], "colors": ["#fef0d9", "#b30000"],
            "symbol": [{"type": "polygon", "fill": "#fef0d9", "fill_opacity": 0.9,
                        "stroke": "#6b5d50", "stroke_width": 0.8}],
            "label": {"attribute": "nom", "size": 10, "color": "#222222",
                      "halo_color": "#ffffff", "halo_radius": 1.2}}),
    ],
)

MAIRIES = DemoLayer(
    name="mairies",
    geometry_type="POINT",
    attributes=[("insee", "varchar(5)"), ("commune", "text"), ("adresse", "text"),
                ("telephone", "varchar(30)")],
    select_sql="SELECT c.insee, c.name, h.address, h.phone, h.location "
               "FROM territory_townhall h JOIN territory_commune c ON c.id = h.commune_id "
               "ORDER BY c.insee",
    theme="administratif",
    metadata={
        "title": "Mairies",
        "abstract": "Les hôtels de ville des 15 communes de Cap Atlantique, avec leur adresse et "
                    "leur téléphone.",
        "keywords": ["mairie", "hôtel de ville", "service public"],
        "licence": Licence.ETALAB_2,
        "attribution": IGN_ATTRIBUTION,
        "update_frequency": UpdateFrequency.AS_NEEDED,
        "inspire_theme": "us", "scale_denominator": 5000,
        "lineage": "Adresses des mairies ; positions relevées sur l'IGN ADMIN EXPRESS.",
        "insee_field": "insee",
        "searchable": True,
        "search_fields": ["commune"],
    },
    rules=[{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
)

ZONE_COUNT, ZONE_SEED = 40, 42
VOCATIONS = ["artisanale", "commerciale", "industrielle", "tertiaire"]
PLACES = ["du Moulin", "de la Lande", "des Salines", "du Pré Rond", "de Kerquessaud",
          "des Pierres Blanches", "de Bréhadour", "du Closo", "de la Brière", "de Villejames",
          "du Poull", "de Beaulieu", "des Forges", "de la Croix Blanche", "du Marais"]

ZONES_ACTIVITE = DemoLayer(
    name="zones_activite",
    geometry_type="POLYGON",
    attributes=[("nom", "text"), ("code_insee", "varchar(5)"), ("surface_ha", "numeric(10,2)"),
                ("vocation", "varchar(20)")],
    select_sql=f"""
        WITH inner_commune AS (
            SELECT c.insee, c.name, ST_Buffer(c.geom, -400) AS g FROM territory_commune c
        ), seeds AS (
            SELECT d.path[1] AS n, d.geom AS p
            FROM ST_Dump(ST_GeneratePoints(
                (SELECT ST_Union(g) FROM inner_commune WHERE NOT ST_IsEmpty(g)),
                {ZONE_COUNT}, {ZONE_SEED})) d
        ), zones AS (
            SELECT s.n, i.insee, i.name,
                   {pick([literal(v) for v in VOCATIONS], 'za-vocation', 's.n')} AS vocation,
                   ST_ConvexHull(ST_GeneratePoints(
                       ST_Buffer(s.p, 120 + 240 * {rand('za-size', 's.n')}), 9,
                       {ZONE_SEED} + s.n)) AS geom
            FROM seeds s JOIN inner_commune i ON ST_Intersects(i.g, s.p)
        )
        SELECT initcap(CASE vocation WHEN 'tertiaire' THEN 'parc' ELSE 'zone' END) || ' '
                   || vocation || ' '
                   || {pick([literal(p) for p in PLACES], 'za-place', 'n')} || ' (' || name || ')',
               insee, round((ST_Area(geom) / 10000)::numeric, 2), vocation, geom
        FROM zones ORDER BY n
    """,
    theme="economie",
    metadata={
        "title": "Zones d'activité économique",
        "abstract": "Périmètres des zones d'activité (artisanales, commerciales, industrielles, "
                    "tertiaires) gérées par Cap Atlantique. Données de démonstration.",
        "keywords": ["zone d'activité", "économie", "foncier économique", "entreprises"],
        "licence": Licence.ETALAB_2,
        "attribution": DEMO_ATTRIBUTION,
        "update_frequency": UpdateFrequency.YEARLY,
        "inspire_theme": "lu", "scale_denominator": 5000,
        "lineage": "Données générées pour la démonstration (polygones aléatoires reproductibles "
                   "à l'intérieur des communes).",
        "insee_field": "code_insee",
        "searchable": True,
        "search_fields": ["nom"],
        "cacheable": True,
    },
    rules=[{"audience": Audience.PUBLIC, "permission": Permission.DOWNLOAD}],
    parameters={"count": ZONE_COUNT, "seed": ZONE_SEED},
    styles=[
        ("vocation", "Par vocation", True, {
            "kind": "categorized", "attribute": "vocation",
            "categories": [
                {"value": value, "title": value.capitalize(), "symbol": [
                    {"type": "polygon", "fill": fill, "fill_opacity": 0.75, "stroke": stroke,
                     "stroke_width": 1}]}
                for value, fill, stroke in (("artisanale", "#fdae61", "#a6611a"),
                                            ("commerciale", "#d7191c", "#8c0d0f"),
                                            ("industrielle", "#7b3294", "#4d1a5e"),
                                            ("tertiaire", "#2c7bb6", "#184a6e"))],
            "other": [{"type": "polygon", "fill": "#bababa", "stroke": "#707070"}]}),
        ("surface", "Par surface (ha)", False, {
            "kind": "graduated", "attribute": "surface_ha", "method": "equal_interval",
            "breaks": [0, 4, 8, 12, 20], "colors": ["#ffffcc", "#006837"],
            "symbol": [{"type": "polygon", "fill": "#ffffcc", "fill_opacity": 0.85,
                        "stroke": "#4d4d4d", "stroke_width": 0.8}]}),
    ],
)

FIBRE_NODES_PER_COMMUNE = 24

RESEAU_FIBRE = DemoLayer(
    name="reseau_fibre",
    geometry_type="LINESTRING",
    attributes=[("type", "varchar(20)"), ("annee", "smallint"), ("operateur", "text"),
                ("code_insee", "varchar(5)")],
    # In each commune, a tree from the town hall: every generated node joins the nearest node
    # closer to the hall whose straight segment stays inside the commune.
    select_sql=f"""
        WITH halls AS (
            SELECT c.id AS cid, c.insee, c.department, c.geom AS cgeom, h.location AS hall
            FROM territory_commune c JOIN territory_townhall h ON h.commune_id = c.id
        ), nodes AS (
            SELECT cid, insee, department, cgeom, hall AS p, 0::bigint AS rank FROM halls
            UNION ALL
            SELECT h.cid, h.insee, h.department, h.cgeom, d.geom,
                   row_number() OVER (PARTITION BY h.cid
                                      ORDER BY ST_Distance(d.geom, h.hall), d.path[1])
            FROM halls h CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(
                h.cgeom, {FIBRE_NODES_PER_COMMUNE}, h.insee::int)) d
        ), segments AS (
            SELECT a.insee, a.department, a.rank, parent.rank AS parent_rank,
                   ST_MakeLine(parent.p, a.p) AS geom
            FROM nodes a CROSS JOIN LATERAL (
                SELECT b.p, b.rank FROM nodes b
                WHERE b.cid = a.cid AND b.rank < a.rank
                  AND ST_Within(ST_MakeLine(b.p, a.p), a.cgeom)
                ORDER BY b.p <-> a.p LIMIT 1
            ) parent
            WHERE a.rank > 0
        )
        SELECT CASE WHEN parent_rank = 0 OR rank <= 4 THEN 'transport' ELSE 'distribution' END,
               (2016 + floor({rand('fibre-year', "insee || '-' || rank")} * 9))::smallint,
               'Réseau d''initiative publique ' || department,
               insee, geom
        FROM segments ORDER BY insee, rank
    """,
    theme="reseaux",
    metadata={
        "title": "Réseau fibre optique",
        "abstract": "Tracé du réseau de fibre optique (transport et distribution) déployé sur "
                    "le territoire. Données de démonstration.",
        "keywords": ["fibre optique", "très haut débit", "télécommunications", "réseau"],
        "licence": Licence.RESTRICTED,
        "attribution": DEMO_ATTRIBUTION,
        "update_frequency": UpdateFrequency.MONTHLY,
        "inspire_theme": "us", "scale_denominator": 2000,
        "lineage": "Données générées pour la démonstration (arbre reproductible partant de "
                   "chaque mairie).",
        "insee_field": "code_insee",
        "cacheable": True,
    },
    styles=[
        ("type_de_reseau", "Transport et distribution", True, {
            "kind": "categorized", "attribute": "type",
            "categories": [
                {"value": "transport", "title": "Transport", "symbol": [
                    {"type": "line", "stroke": "#54278f", "stroke_width": 3}]},
                {"value": "distribution", "title": "Distribution", "symbol": [
                    {"type": "line", "stroke": "#9e9ac8", "stroke_width": 1.5,
                     "stroke_dasharray": [6, 3]}]}]}),
    ],
    rules=[
        # Every connected user sees the network of their own commune (intercommunality staff:
        # all of it); municipal agents may also download their commune's part.
        {"audience": Audience.AUTHENTICATED, "permission": Permission.VIEW,
         "row_restriction": RowRestriction.COMMUNE_TERRITORY},
        {"audience": Audience.ROLES, "roles": [Role.MUNICIPAL_AGENT],
         "permission": Permission.DOWNLOAD, "row_restriction": RowRestriction.COMMUNE_TERRITORY},
    ],
    parameters={"nodes_per_commune": FIBRE_NODES_PER_COMMUNE, "seed": "insee"},
)

ANC_TOTAL = 4000
FILIERES = [
    ("'fosse toutes eaux + épandage'", 45), ("'fosse toutes eaux + filtre à sable'", 20),
    ("'micro-station'", 15), ("'filtre compact'", 10), ("'filtre planté de roseaux'", 5),
    ("'fosse septique seule'", 5),
]
CONFORMITES = [
    ("'conforme'", 55), ("'non conforme'", 28),
    ("'non conforme – risque sanitaire'", 10), ("'absence d''installation'", 7),
]
ANC_KEY = "insee || '-' || n"

INSTALLATIONS_ANC = DemoLayer(
    name="installations_anc",
    geometry_type="POINT",
    attributes=[("code_insee", "varchar(5)"), ("filiere", "text"),
                ("annee_installation", "smallint"), ("conformite", "text")],
    # Installations spread over each commune in proportion to its area.
    select_sql=f"""
        WITH shares AS (
            SELECT c.insee, c.geom,
                   round({ANC_TOTAL} * ST_Area(c.geom) / sum(ST_Area(c.geom)) OVER ())::int AS n
            FROM territory_commune c
        ), points AS (
            SELECT s.insee, d.path[1] AS n, d.geom
            FROM shares s CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(
                s.geom, greatest(s.n, 1), 1000 + s.insee::int)) d
        )
        SELECT insee,
               {weighted(FILIERES, 'anc-filiere', ANC_KEY)},
               (1975 + floor({rand('anc-year', ANC_KEY)} * 49))::smallint,
               {weighted(CONFORMITES, 'anc-conformite', ANC_KEY)},
               geom
        FROM points ORDER BY insee, n
    """,
    theme="eau-assainissement",
    metadata={
        "title": "Installations d'assainissement non collectif (ANC)",
        "abstract": "Installations d'assainissement non collectif contrôlées par le SPANC : "
                    "filière, année d'installation et conformité au dernier contrôle. "
                    "Données personnelles : accès restreint. Données de démonstration.",
        "keywords": ["SPANC", "assainissement non collectif", "ANC", "contrôle", "conformité"],
        "licence": Licence.RESTRICTED,
        "attribution": DEMO_ATTRIBUTION,
        "update_frequency": UpdateFrequency.CONTINUAL,
        "inspire_theme": "us", "scale_denominator": 2000,
        "lineage": "Données générées pour la démonstration (points reproductibles, répartis "
                   "selon la superficie des communes).",
        "insee_field": "code_insee",
    },
    rules=[
        # The SPANC team edits everything; municipal agents view their commune's installations.
        {"audience": Audience.ROLES, "roles": [Role.SPANC_MANAGER, Role.SPANC_INSPECTOR],
         "permission": Permission.EDIT},
        {"audience": Audience.ROLES, "roles": [Role.MUNICIPAL_AGENT],
         "permission": Permission.VIEW, "row_restriction": RowRestriction.COMMUNE_INSEE},
    ],
    parameters={"total": ANC_TOTAL, "seed": "1000 + insee"},
    styles=[
        ("conformite", "Conformité au dernier contrôle", True, {
            "kind": "categorized", "attribute": "conformite",
            "categories": [
                {"value": value, "title": value[0].upper() + value[1:], "symbol": [
                    {"type": "point", "mark": mark, "size": 7, "fill": fill,
                     "stroke": "#ffffff", "stroke_width": 1}]}
                for value, mark, fill in (
                    ("conforme", "circle", "#1a9641"),
                    ("non conforme", "circle", "#fdae61"),
                    ("non conforme – risque sanitaire", "triangle", "#d7191c"),
                    ("absence d'installation", "square", "#404040"))]}),
    ],
)

DEMO_LAYERS = [COMMUNES, MAIRIES, ZONES_ACTIVITE, RESEAU_FIBRE, INSTALLATIONS_ANC]


@transaction.atomic
def create_demo_layer(spec):
    theme = Theme.objects.get_or_create(slug=spec.theme, defaults={"name": spec.theme})[0]
    layer = Layer.objects.create(name=spec.name, theme=theme, **spec.metadata)
    create_table(DATA_SCHEMA, spec.name, spec.attributes, spec.geometry_type)
    columns = ", ".join(f'"{name}"' for name, _ in spec.attributes) + ', "geom"'
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qualified(DATA_SCHEMA, spec.name)} ({columns}) "
                       f"{spec.select_sql}")
        finish_table(cursor, DATA_SCHEMA, spec.name)
    refresh_layer_metadata(layer)
    for rule in spec.rules:
        AccessRule.objects.create(layer=layer, **rule)
    # Without signals: the thumbnails are drawn once at the end, no tile cache exists yet.
    Style.objects.bulk_create([
        Style(layer=layer, name=name, title=title, is_default=is_default,
              kind=definition["kind"], definition=clean_definition(definition, layer))
        for name, title, is_default, definition in spec.styles])
    Publication.objects.create(
        layer=layer, version=1, mode=Publication.Mode.CREATE, source_name=SOURCE_NAME,
        source_checksum=spec.checksum(), feature_count=layer.feature_count,
        report={"générateur": "layers.demo", "version": GENERATOR_VERSION,
                "paramètres": spec.parameters},
    )
    return layer


def load_catalogue_demo(thumbnails=True):
    """Create the demo layers that do not exist yet; returns the names created."""
    existing = set(Layer.objects.filter(name__in=[s.name for s in DEMO_LAYERS])
                   .values_list("name", flat=True))
    created = [create_demo_layer(spec).name for spec in DEMO_LAYERS if spec.name not in existing]
    ensure_demo_rights()
    if thumbnails:
        # Their thumbnails drawn now by the map engine (a failure is logged, never stops the
        # demo; the catalogue page draws a missing one when shown).
        for layer in Layer.objects.filter(name__in=[s.name for s in DEMO_LAYERS], thumbnail=""):
            layer_published.send(sender=Layer, layer=layer)
    return created


# --- rights as fine as the data charter asks (docs/guide-sig.md « Droits ») -------------------
CONTRACT_END = datetime.date(2027, 6, 30)
CONTRACTOR = "prestataire.fibre"
CONTRACTOR_COMMUNES = ("44069", "44055")  # Guérande, La Baule-Escoublac


def demo_rights():
    """The demo rules showing the model at work, created once (keyed by their description):
    - zones_activite: municipal agents update the attributes of their commune's zones (name and
      vocation; INSEE code and area read-only), never their outlines;
    - reseau_fibre: the contractor's group is denied the network (priority 0, which beats the
      "every connected user" rule of the same priority); the contractor himself, by a rule of
      higher priority, reads and downloads it over Guérande and La Baule only, geometries clipped
      to those communes, until the end of his contract.
    (spanc_installations: owners shown to the SPANC roles only, fieldsync.publication.)"""
    communes = Commune.objects.filter(insee__in=CONTRACTOR_COMMUNES)
    area = None
    for commune in communes:
        area = commune.geom if area is None else area.union(commune.geom)
    if area is not None and area.geom_type == "Polygon":
        from django.contrib.gis.geos import MultiPolygon
        area = MultiPolygon(area, srid=area.srid)
    return [
        ("zones_activite", {
            "description": "Agents municipaux : attributs des zones de leur commune, sans "
                           "déplacer les contours",
            "audience": Audience.ROLES, "roles": [Role.MUNICIPAL_AGENT],
            "operations": [Operation.VIEW, Operation.DOWNLOAD, Operation.UPDATE_ATTRIBUTES],
            "write_restriction": RowRestriction.COMMUNE_INSEE,
            "columns": {"nom": "write", "vocation": "write", "code_insee": "read",
                        "surface_ha": "read"},
        }, {}),
        ("reseau_fibre", {
            "description": "Prestataires : pas d'accès au réseau par défaut",
            "audience": RuleAudience.GROUPS, "effect": Effect.DENY, "priority": 0,
            "operations": [Operation.VIEW],
        }, {"groups": ["Prestataires"]}),
        ("reseau_fibre", {
            "description": "Prestataire fibre : Guérande et La Baule, jusqu'à la fin du contrat",
            "audience": RuleAudience.USERS, "priority": 10,
            "operations": [Operation.VIEW, Operation.DOWNLOAD],
            "area": area, "area_mode": AreaMode.CLIP, "valid_until": CONTRACT_END,
        }, {"users": [CONTRACTOR]}),
    ]


def ensure_demo_rights():
    from django.contrib.auth.models import Group

    from accounts.models import User

    for layer_name, fields, related in demo_rights():
        layer = Layer.objects.filter(name=layer_name).first()
        if layer is None or layer.access_rules.filter(description=fields["description"]).exists():
            continue
        users = list(User.objects.filter(username__in=related.get("users", [])))
        if related.get("users") and not users:
            continue  # loaded without the demo accounts
        rule = AccessRule.objects.create(layer=layer, **fields)
        if users:
            rule.users.set(users)
        if related.get("groups"):
            rule.groups.set([Group.objects.get_or_create(name=name)[0]
                             for name in related["groups"]])
