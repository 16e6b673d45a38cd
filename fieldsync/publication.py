"""The field records published as catalogue layers (WMS, WFS, GeoJSON like any layer): each
record type (fieldsync.records) declares its layer (PublishedLayer, register); this module creates
the layers and keeps their tables up to date.

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
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext_lazy

from accounts.models import Role
from fieldsync import chunk
from layers.access import quote_ident
from layers.events import layer_data_changed
from layers.features.maintained import maintain
from layers.models import (
    AccessRule, Audience, Layer, Licence, Permission, RowRestriction, Theme, UpdateFrequency,
)
from layers.tables import DATA_SCHEMA, create_table, qualified, refresh_layer_metadata, table_exists

@dataclass(frozen=True)
class PublishedLayer:
    """A catalogue layer derived from one record type (declared by its module, fieldsync.records).

    select: the SELECT of its rows (fid first, then the columns, geometry last), with a {where}
    on `key` (the record's id); also: {other layer: SQL giving, from ids of this layer (%s),
    the other layer's rows that show them too}; follows: {other layer: SQL giving, from ids of
    the other layer, this layer's rows that show them}; hidden_by: SQL giving, from ids of this
    layer, the rows they hide (deleted from the table)."""
    name: str
    title: str
    abstract: str
    columns: list
    select: str
    key: str
    also: dict = field(default_factory=dict)
    follows: dict = field(default_factory=dict)
    hidden_by: str = ""
    # Personal data (RGPD): shown to the SPANC roles only, each read journaled (layers.access_log).
    personal_columns: list = field(default_factory=list)
    # The write operations the SPANC team's rule grants: the field sync's changes to the records
    # write the layer and obey its rules (its write filter and columns) like a WFS-T edit.
    field_operations: list = field(default_factory=list)


LAYERS = {}  # name: PublishedLayer, in the order the record types registered them


def register(layer):
    """A layer published from a record type's records: maintained by the field sync (protocol
    writes refused: layers.features.maintained)."""
    LAYERS[layer.name] = layer
    maintain(layer.name, gettext_lazy("les fiches SPANC (application terrain et gestion "
                                      "SPANC)"))
    return layer


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


def hide_personal_data(rule, spec):
    """Columns of a rule that does not show the personal data: every other column readable, the
    personal ones hidden, and any column added later hidden too."""
    rule.columns = {name: ("hidden" if name in spec.personal_columns else "read")
                    for name, _ in spec.columns}
    rule.other_columns = "hidden"


def ensure_layers():
    """Create the two catalogue layers, their tables and access rules when missing."""
    created = []
    for name, spec in LAYERS.items():
        layer = Layer.objects.filter(name=name).first()
        if layer is None:
            layer = Layer.objects.create(
                name=name, title=spec.title, abstract=spec.abstract,
                keywords=["SPANC", "assainissement non collectif", "ANC"],
                theme=Theme.objects.filter(slug="eau-assainissement").first(),
                licence=Licence.RESTRICTED, update_frequency=UpdateFrequency.CONTINUAL,
                insee_field="code_insee",
                lineage="Tenue à jour par la synchronisation des contrôles SPANC (fieldsync).",
            )
            for rule in ACCESS_RULES:
                rule = AccessRule(layer=layer, **rule)
                if spec.personal_columns and Role.MUNICIPAL_AGENT in rule.roles:
                    hide_personal_data(rule, spec)
                if spec.field_operations and Role.SPANC_INSPECTOR in rule.roles:
                    rule.operations = ["view", "download", *spec.field_operations]
                rule.save()
            created.append(name)
        if not table_exists(DATA_SCHEMA, name):
            create_table(DATA_SCHEMA, name, spec.columns, "POINT")
        elif spec.personal_columns:
            _add_personal_columns(layer, spec)
        if spec.personal_columns and layer.personal_columns != spec.personal_columns:
            Layer.objects.filter(pk=layer.pk).update(personal_columns=spec.personal_columns)
    return created


def _add_personal_columns(layer, spec):
    """A table published before its personal columns existed: add them, hidden from every rule
    that is not the SPANC team's (closed by default), before any row carries them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = %s AND column_name = ANY(%s)",
                       [DATA_SCHEMA, spec.name, spec.personal_columns])
        if cursor.fetchone()[0] == len(spec.personal_columns):
            return
        for rule in layer.access_rules.all():
            if not set(rule.roles) & {Role.SPANC_MANAGER, Role.SPANC_INSPECTOR}:
                hide_personal_data(rule, spec)
                rule.save()
        table = qualified(DATA_SCHEMA, spec.name)
        for column, pgtype in spec.columns:
            if column in spec.personal_columns:
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "
                               f"{quote_ident(column)} {pgtype}")
    refresh_layer_metadata(layer)


def _upsert(name, where, params):
    spec = LAYERS[name]
    names = [quote_ident(n) for n in ["fid", *(column for column, _ in spec.columns), "geom"]]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qualified(DATA_SCHEMA, name)} ({', '.join(names)}) "
            f"{spec.select.format(where=where)} "
            f"ON CONFLICT (fid) DO UPDATE SET {updates}",
            params,
        )


def publish(rows):
    """Refresh the published rows {layer name: record ids} (call inside the change's
    transaction, so the layers never show a change that was rolled back), with the rows of the
    other layers that show them (PublishedLayer.also), and delete the rows they hide. Tile
    caches are purged over the touched area once committed; the caller refreshes the catalogue
    metadata (refresh_metadata) once its batch or action is done.

    During a sync push, the ids are collected and the rows of the whole chunk refreshed at its
    end, in its transaction, by the same statements (fieldsync.batching)."""
    unit = chunk.current()
    if unit is not None:
        unit.publish({name: list(ids) for name, ids in rows.items()})
        return
    ensure_layers()
    wanted = {name: set(ids) for name, ids in rows.items() if ids}
    for name, ids in [(name, list(ids)) for name, ids in wanted.items()]:
        related = dict(LAYERS[name].also)
        related.update((other.name, other.follows[name]) for other in LAYERS.values()
                       if name in other.follows)
        for other, sql in related.items():
            with connection.cursor() as cursor:
                cursor.execute(sql, [ids])
                wanted.setdefault(other, set()).update(row[0] for row in cursor.fetchall())
    for name, spec in LAYERS.items():  # in the registry's order
        ids = list(wanted.get(name, ()))
        if not ids:
            continue
        hidden = []
        if spec.hidden_by:
            with connection.cursor() as cursor:
                cursor.execute(spec.hidden_by, [ids])
                hidden = [row[0] for row in cursor.fetchall()]
        before = _extent(name, ids + hidden)
        if hidden:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {qualified(DATA_SCHEMA, name)} "
                               "WHERE fid = ANY(%s)", [hidden])
        _upsert(name, f"{spec.key} = ANY(%s)", [ids])
        _changed(name, before, _extent(name, ids))


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
