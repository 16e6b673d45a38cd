"""Installations and controls published as catalogue layers (WMS, WFS, GeoJSON like any layer).

Decision: the Django models are the source of truth, and each layer is a real, typed table in
layers_data (fid = the model's id, geom Point 2154, GiST index) that this module keeps up to date
*in the same transaction* as every accepted change. A VIEW would have been always fresh, but the
catalogue's contract is "one typed table per layer": the publishing code swaps, archives and drops
tables, the WFS-T code edits them, and a view would break each of these. The installations'
table holds the owner's name and phone (personal data, their reads journaled): the access rules
show these columns to the SPANC roles only, municipal agents read the other columns of their
commune's rows (column rights, layers.access).

`manage.py spanc_publier_couches` creates the layers and rebuilds both tables from the models.
"""
from django.db import connection, transaction

from accounts.models import Role
from fieldsync import chunk
from fieldsync.models import Control
from layers.access import quote_ident
from layers.events import layer_data_changed
from layers.models import (
    AccessRule, Audience, Layer, Licence, Permission, RowRestriction, Theme, UpdateFrequency,
)
from layers.tables import DATA_SCHEMA, create_table, qualified, refresh_layer_metadata, table_exists

INSTALLATIONS_LAYER = "spanc_installations"
CONTROLS_LAYER = "spanc_controles"

INSTALLATION_COLUMNS = [
    ("uuid", "uuid"), ("code_insee", "varchar(5)"), ("commune", "text"), ("adresse", "text"),
    ("parcelles", "text"), ("capacite_eh", "integer"), ("annee", "integer"),
    ("zone_sanitaire", "boolean"), ("zone_environnementale", "boolean"),
    ("dernier_controle", "date"), ("conclusion", "varchar(50)"), ("conclusion_libelle", "text"),
    ("conforme", "boolean"), ("travaux_obligatoires", "boolean"), ("echeance_travaux", "date"),
    ("prochain_controle", "date"), ("couleur", "varchar(7)"),
    ("proprietaire", "text"), ("telephone_proprietaire", "varchar(30)"),
]
# Personal data (RGPD): shown to the SPANC roles only, each read journaled (layers.access_log).
OWNER_COLUMNS = ["proprietaire", "telephone_proprietaire"]
CONTROL_COLUMNS = [
    ("uuid", "uuid"), ("installation", "uuid"), ("code_insee", "varchar(5)"), ("commune", "text"),
    ("nature", "text"), ("statut", "varchar(20)"), ("date_visite", "date"),
    ("controleur", "text"), ("conclusion", "varchar(50)"), ("conclusion_libelle", "text"),
    ("travaux_obligatoires", "boolean"), ("echeance_travaux", "date"),
    ("prochain_controle", "date"), ("version", "integer"), ("couleur", "varchar(7)"),
]

# The latest validated verdict of each installation (a correction counts once validated).
INSTALLATION_SELECT = """
SELECT i.id, i.uuid, c.insee, c.name, i.address, array_to_string(i.parcels, ', '),
       i.capacity_eh, i.year_built, i.sanitary_zone, i.environmental_zone,
       last.visit_date, last.code, last.label, last.compliant, coalesce(last.works_required, false),
       last.works_due_on, last.next_control_on, coalesce(last.color, '#777777'),
       nullif(i.owner_name, ''), nullif(i.owner_phone, ''), i.location
FROM fieldsync_installation i
JOIN territory_commune c ON c.id = i.commune_id
LEFT JOIN LATERAL (
    SELECT ctl.visit_date, cc.code, cc.label, cc.compliant, ctl.works_required,
           ctl.works_due_on, ctl.next_control_on, cc.color
    FROM fieldsync_control ctl JOIN fieldsync_conclusion cc ON cc.id = ctl.conclusion_id
    WHERE ctl.installation_id = i.id AND ctl.status = 'validated'
      AND NOT EXISTS (SELECT 1 FROM fieldsync_control n
                      WHERE n.supersedes_id = ctl.id AND n.status = 'validated')
    ORDER BY ctl.visit_date DESC NULLS LAST, ctl.id DESC LIMIT 1
) last ON true
WHERE {where}
"""

# Each control chain shows its current version only.
CONTROL_SELECT = """
SELECT ctl.id, ctl.uuid, i.uuid, c.insee, c.name, k.label, ctl.status, ctl.visit_date,
       nullif(trim(u.first_name || ' ' || u.last_name), ''), cc.code, cc.label,
       ctl.works_required, ctl.works_due_on, ctl.next_control_on, ctl.version,
       coalesce(cc.color, '#777777'), i.location
FROM fieldsync_control ctl
JOIN fieldsync_installation i ON i.id = ctl.installation_id
JOIN territory_commune c ON c.id = i.commune_id
JOIN fieldsync_controlkind k ON k.id = ctl.kind_id
LEFT JOIN fieldsync_conclusion cc ON cc.id = ctl.conclusion_id
LEFT JOIN accounts_user u ON u.id = ctl.inspector_id
WHERE NOT EXISTS (SELECT 1 FROM fieldsync_control n WHERE n.supersedes_id = ctl.id)
  AND {where}
"""

LAYERS = {
    INSTALLATIONS_LAYER: {
        "title": "Installations d'assainissement non collectif (SPANC)",
        "abstract": "Installations d'ANC contrôlées par le SPANC, avec la dernière conclusion "
                    "validée (grille de l'annexe II de l'arrêté du 27 avril 2012), l'échéance des "
                    "travaux et la date du prochain contrôle. Sans données personnelles.",
        "columns": INSTALLATION_COLUMNS, "select": INSTALLATION_SELECT, "key": "i.id",
    },
    CONTROLS_LAYER: {
        "title": "Contrôles SPANC",
        "abstract": "Contrôles des installations d'ANC (dernière version de chacun) : nature, "
                    "état, date de visite, conclusion et échéances.",
        "columns": CONTROL_COLUMNS, "select": CONTROL_SELECT, "key": "ctl.id",
    },
}

ACCESS_RULES = [
    # SPANC staff: their commune, or everything for the intercommunality's staff; every column.
    {"audience": Audience.ROLES, "roles": [Role.SPANC_MANAGER, Role.SPANC_INSPECTOR],
     "permission": Permission.DOWNLOAD, "row_restriction": RowRestriction.COMMUNE_INSEE,
     "description": "Équipe SPANC : toutes les colonnes, propriétaires compris"},
    # Municipal agents: their own commune's rows only, without the owners (hidden columns).
    {"audience": Audience.ROLES, "roles": [Role.MUNICIPAL_AGENT],
     "permission": Permission.DOWNLOAD, "row_restriction": RowRestriction.COMMUNE_INSEE,
     "description": "Agents municipaux : leur commune, sans les propriétaires"},
]


def hide_owners(rule):
    """Columns of a rule that does not show the owners: every other column readable, the owners'
    hidden, and any column added later hidden too."""
    rule.columns = {name: ("hidden" if name in OWNER_COLUMNS else "read")
                    for name, _ in INSTALLATION_COLUMNS}
    rule.other_columns = "hidden"


def ensure_layers():
    """Create the two catalogue layers, their tables and access rules when missing."""
    created = []
    for name, spec in LAYERS.items():
        layer = Layer.objects.filter(name=name).first()
        if layer is None:
            layer = Layer.objects.create(
                name=name, title=spec["title"], abstract=spec["abstract"],
                keywords=["SPANC", "assainissement non collectif", "ANC"],
                theme=Theme.objects.filter(slug="eau-assainissement").first(),
                licence=Licence.RESTRICTED, update_frequency=UpdateFrequency.CONTINUAL,
                insee_field="code_insee",
                lineage="Tenue à jour par la synchronisation des contrôles SPANC (fieldsync).",
            )
            for rule in ACCESS_RULES:
                rule = AccessRule(layer=layer, **rule)
                if name == INSTALLATIONS_LAYER and Role.MUNICIPAL_AGENT in rule.roles:
                    hide_owners(rule)
                rule.save()
            created.append(name)
        if not table_exists(DATA_SCHEMA, name):
            create_table(DATA_SCHEMA, name, spec["columns"], "POINT")
        elif name == INSTALLATIONS_LAYER:
            _add_owner_columns(layer)
        if name == INSTALLATIONS_LAYER and layer.personal_columns != OWNER_COLUMNS:
            Layer.objects.filter(pk=layer.pk).update(personal_columns=OWNER_COLUMNS)
    return created


def _add_owner_columns(layer):
    """A table published before the owners' columns existed: add them, hidden from every rule
    that is not the SPANC team's (closed by default), before any row carries them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = %s AND column_name = ANY(%s)",
                       [DATA_SCHEMA, INSTALLATIONS_LAYER, OWNER_COLUMNS])
        if cursor.fetchone()[0] == len(OWNER_COLUMNS):
            return
        for rule in layer.access_rules.all():
            if not set(rule.roles) & {Role.SPANC_MANAGER, Role.SPANC_INSPECTOR}:
                hide_owners(rule)
                rule.save()
        table = qualified(DATA_SCHEMA, INSTALLATIONS_LAYER)
        for column, pgtype in INSTALLATION_COLUMNS:
            if column in OWNER_COLUMNS:
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "
                               f"{quote_ident(column)} {pgtype}")
    refresh_layer_metadata(layer)


def _upsert(name, where, params):
    spec = LAYERS[name]
    names = [quote_ident(n) for n in ["fid", *(column for column, _ in spec["columns"]), "geom"]]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qualified(DATA_SCHEMA, name)} ({', '.join(names)}) "
            f"{spec['select'].format(where=where)} "
            f"ON CONFLICT (fid) DO UPDATE SET {updates}",
            params,
        )


def publish(installation_ids=(), control_ids=()):
    """Refresh the published rows of these installations and controls (call inside the change's
    transaction, so the layers never show a change that was rolled back). Tile caches are purged
    over the touched area once committed; the caller refreshes the catalogue metadata
    (refresh_metadata) once its batch or action is done.

    During a sync push, the ids are collected and the rows of the whole chunk refreshed at its
    end, in its transaction, by the same statements (fieldsync.batching)."""
    unit = chunk.current()
    if unit is not None:
        unit.publish(list(installation_ids), list(control_ids))
        return
    ensure_layers()
    control_ids = list(set(control_ids))
    if control_ids:  # a control's verdict shows on its installation's row
        installation_ids = list(installation_ids) + list(
            Control.objects.filter(pk__in=control_ids).values_list("installation_id", flat=True))
    installation_ids = list(set(installation_ids))
    if installation_ids:
        before = _extent(INSTALLATIONS_LAYER, installation_ids)
        _upsert(INSTALLATIONS_LAYER, "i.id = ANY(%s)", [installation_ids])
        _changed(INSTALLATIONS_LAYER, before, _extent(INSTALLATIONS_LAYER, installation_ids))
    if control_ids:
        superseded = list(Control.objects.filter(pk__in=control_ids, supersedes__isnull=False)
                          .values_list("supersedes_id", flat=True))
        before = _extent(CONTROLS_LAYER, control_ids + superseded)
        if superseded:  # a correction hides the version it supersedes
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {qualified(DATA_SCHEMA, CONTROLS_LAYER)} "
                               "WHERE fid = ANY(%s)", [superseded])
        _upsert(CONTROLS_LAYER, "ctl.id = ANY(%s)", [control_ids])
        _changed(CONTROLS_LAYER, before, _extent(CONTROLS_LAYER, control_ids))


def _extent(name, fids):
    """(minx, miny, maxx, maxy) of these rows of a published table, or None."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       f"(SELECT ST_Extent(geom) AS e FROM {qualified(DATA_SCHEMA, name)} "
                       f"WHERE fid = ANY(%s)) s", [list(fids)])
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def _changed(name, before, after):
    """Tell the catalogue's listeners (tile caches) which area the change touched: the old and
    the new places of the rows. The catalogue's counts and extent follow per batch
    (refresh_metadata), not per change."""
    boxes = [box for box in (before, after) if box]
    layer = Layer.objects.filter(name=name).first()
    if layer is None or not boxes:
        return
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
    layer_data_changed.send(sender=Layer, layer=layer, bbox=bbox)


@transaction.atomic
def rebuild():
    """Rebuild both tables from the models and refresh the catalogue metadata."""
    ensure_layers()
    for name in LAYERS:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {qualified(DATA_SCHEMA, name)}")
        _upsert(name, "TRUE", [])
        refresh_metadata(name)


def refresh_metadata(*names):
    """The catalogue's count, extent and data date of the published layers (once per batch or
    management action: it measures the whole table, and bumps the catalogue version)."""
    for layer in Layer.objects.filter(name__in=names or list(LAYERS)):
        if table_exists(DATA_SCHEMA, layer.name):
            refresh_layer_metadata(layer)
