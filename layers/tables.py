"""The PostGIS tables behind vector layers: create, describe, swap, archive, drop.

Only this module and layers.publishing issue DDL on the layer schemas. Table and column names are
always quoted with quote_ident; layer names are validated by layers.models.LAYER_NAME_RE.
"""
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import extents
from .sql import quote_ident
from .models import DATA_SCHEMA, HISTORY_SCHEMA, LAYER_NAME_RE, STAGING_SCHEMA, GeometryType

GEOMETRY_COLUMN = "geom"
PRIMARY_KEY = "fid"
SRID = settings.CAPGEO_STORAGE_SRID


def qualified(schema, table):
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def table_exists(schema, table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [qualified(schema, table)])
        return cursor.fetchone()[0]


def create_table(schema, table, attributes, geometry_type="GEOMETRY", srid=SRID):
    """An empty layer table: fid primary key, typed attributes, geom with a GiST index.

    attributes: [(column name, PostgreSQL type)], names already validated by the caller.
    """
    if not LAYER_NAME_RE.match(table) and schema == DATA_SCHEMA:
        raise ValueError(f"invalid layer table name {table!r}")
    columns = [f"{quote_ident(PRIMARY_KEY)} bigserial PRIMARY KEY"]
    columns += [f"{quote_ident(name)} {pgtype}" for name, pgtype in attributes]
    columns.append(f"{quote_ident(GEOMETRY_COLUMN)} geometry({geometry_type}, {int(srid)})")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {qualified(schema, table)} ({', '.join(columns)})")
        finish_table(cursor, schema, table)


def finish_table(cursor, schema, table):
    """GiST index and fresh statistics: what every published table gets."""
    cursor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote_ident(table[:50] + '_geom_gist')} "
        f"ON {qualified(schema, table)} USING gist ({quote_ident(GEOMETRY_COLUMN)})"
    )
    cursor.execute(f"ANALYZE {qualified(schema, table)}")


def describe_columns(schema, table):
    """[{name, type}] of the attribute columns (neither the key nor the geometry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """,
            [qualified(schema, table)],
        )
        return [
            {"name": name, "type": pgtype}
            for name, pgtype in cursor.fetchall()
            if name not in (PRIMARY_KEY, GEOMETRY_COLUMN)
        ]


def measure(schema, table, with_checks=False):
    """(Summary, dominant geometry type) of a table: its count and its extent in every
    advertised CRS, each measured on the rows themselves (layers.extents). with_checks: a third
    value, {"missing", "invalid", "empty"}, the rows without geometry and the invalid and empty
    geometries counted in the same pass (a publication's checks, layers.publishing.finalise)."""
    row = extents.run_measure(*extents.measure_sql(qualified(schema, table), with_types=True,
                                                   with_checks=with_checks))
    summary, types = extents.summary_from_row(row)
    if not with_checks:
        return summary, _dominant_type(types or [])
    missing, invalid, empty = (int(value) for value in row[-3:])
    return summary, _dominant_type(types or []), {"missing": missing, "invalid": invalid,
                                                  "empty": empty, "types": list(types or [])}


def _dominant_type(types):
    types = [t for t in types if t]
    if not types:
        return ""
    if len(types) == 1:
        return types[0] if types[0] in GeometryType.values else GeometryType.GEOMETRY
    families = {t.replace("MULTI", "") for t in types}
    if len(families) == 1:
        return "MULTI" + families.pop()
    return GeometryType.GEOMETRY


def refresh_layer_metadata(layer, save=True, measured=None):
    """Recompute the catalogue's computed fields of a vector layer from its live table: count,
    extents in every advertised CRS, geometry type, attributes. Every change of a layer's rows
    ends here (publication, restore, WFS-T, field sync publication, administration).
    measured: (Summary, geometry type) of these very rows when already measured (a publication
    measures its staging table while checking it: layers.publishing.finalise)."""
    summary, geometry_type = measured or measure(DATA_SCHEMA, layer.name)
    extents.store(layer, summary)
    layer.geometry_type = geometry_type
    layer.attributes = describe_columns(DATA_SCHEMA, layer.name)
    layer.data_updated_at = timezone.now()
    if save:
        layer.save(update_fields=[*extents.EXTENT_FIELDS, "geometry_type", "attributes",
                                  "data_updated_at", "updated_at"])
    return layer


def archive_name(layer_name, version):
    return f"{layer_name}__v{int(version)}"


@transaction.atomic
def swap_in(staging_table, layer_name, archive_as=None):
    """Make a staging table the live table of a layer, in one transaction.

    The previous live table, if any, moves to the history schema as `archive_as` (or is
    dropped when archive_as is None). Readers see the old table or the new one, never a half.
    """
    live = qualified(DATA_SCHEMA, layer_name)
    with connection.cursor() as cursor:
        if table_exists(DATA_SCHEMA, layer_name):
            cursor.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
            if archive_as:
                cursor.execute(f"DROP TABLE IF EXISTS {qualified(HISTORY_SCHEMA, archive_as)}")
                cursor.execute(f"ALTER TABLE {live} RENAME TO {quote_ident(archive_as)}")
                cursor.execute(
                    f"ALTER TABLE {qualified(DATA_SCHEMA, archive_as)} SET SCHEMA {quote_ident(HISTORY_SCHEMA)}"
                )
            else:
                cursor.execute(f"DROP TABLE {live}")
        cursor.execute(f"ALTER TABLE {qualified(STAGING_SCHEMA, staging_table)} "
                       f"SET SCHEMA {quote_ident(DATA_SCHEMA)}")
        if staging_table != layer_name:
            cursor.execute(f"ALTER TABLE {qualified(DATA_SCHEMA, staging_table)} "
                           f"RENAME TO {quote_ident(layer_name)}")


def copy_table(source_schema, source_table, target_schema, target_table):
    """A full copy (structure, data, indexes) of a table, for archives and restorations."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {qualified(target_schema, target_table)} "
            f"(LIKE {qualified(source_schema, source_table)} INCLUDING ALL)"
        )
        cursor.execute(
            f"INSERT INTO {qualified(target_schema, target_table)} "
            f"SELECT * FROM {qualified(source_schema, source_table)}"
        )
        # LIKE … INCLUDING ALL shares the source's sequence: give the copy its own.
        sequence = f"{target_table[:40]}_fid_seq"
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {qualified(target_schema, sequence)} "
                       f"OWNED BY {qualified(target_schema, target_table)}.{quote_ident(PRIMARY_KEY)}")
        cursor.execute(
            f"ALTER TABLE {qualified(target_schema, target_table)} ALTER COLUMN "
            f"{quote_ident(PRIMARY_KEY)} SET DEFAULT nextval('{qualified(target_schema, sequence)}')"
        )
        cursor.execute(
            f"SELECT setval('{qualified(target_schema, sequence)}', "
            f"coalesce((SELECT max({quote_ident(PRIMARY_KEY)}) FROM {qualified(target_schema, target_table)}), 0) + 1, false)"
        )
        cursor.execute(f"ANALYZE {qualified(target_schema, target_table)}")


def drop_layer_tables(layer_name):
    """Drop a layer's live table and its archives (when the layer is deleted)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qualified(DATA_SCHEMA, layer_name)}")
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            [HISTORY_SCHEMA, layer_name.replace("_", r"\_") + r"\_\_v%"],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE IF EXISTS {qualified(HISTORY_SCHEMA, table)}")
