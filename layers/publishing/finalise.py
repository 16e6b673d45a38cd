"""Turning a freshly loaded staging table into a publishable one, in SQL.

- Attribute names are laundered to plain SQL identifiers (lower-case ASCII letters, digits, "_",
  never a reserved word), so every client (QGIS, WFS filters, exports) can use them unquoted;
  each renaming is listed in the import report.
- Invalid geometries are counted, repaired with ST_MakeValid and brought back to the layer's
  geometry family; geometries left empty are dropped (counted as skipped).
- The geometry column gets its real type and SRID 2154 as typmod, then a GiST index and fresh
  statistics (layers.tables.finish_table).
"""
import hashlib
import re
import unicodedata

from django.db import DataError, connection
from django.utils.translation import gettext as _

from ..sql import quote_ident
from ..models import DATA_SCHEMA, STAGING_SCHEMA
from ..tables import (GEOMETRY_COLUMN, PRIMARY_KEY, SRID, copy_table, describe_columns,
                      measure as measure_table, qualified)
from .errors import PublishError
from .ogr import geometry_family

EXTRACT_DIMENSION = {"POINT": 1, "LINESTRING": 2, "POLYGON": 3}
GEOM = quote_ident(GEOMETRY_COLUMN)


def _reserved_words():
    with connection.cursor() as cursor:
        # R: reserved, T: reserved but allowed as function or type names; both need quoting.
        cursor.execute("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")
        return {word for (word,) in cursor.fetchall()}


def launder(name, taken, reserved):
    """A safe column name for `name`, unique among `taken` (which it joins)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    candidate = re.sub(r"[^a-z0-9_]+", "_", ascii_name.lower()).strip("_") or "champ"
    if candidate[0].isdigit():
        candidate = "c_" + candidate
    candidate = candidate[:58]
    if candidate in reserved:
        candidate += "_"
    unique, number = candidate, 2
    while unique in taken:
        unique, number = f"{candidate}_{number}", number + 1
    taken.add(unique)
    return unique


def launder_columns(schema, table):
    """Rename the attribute columns to safe names; returns {original: new} for those renamed."""
    reserved = _reserved_words()
    taken = {PRIMARY_KEY, GEOMETRY_COLUMN}
    columns = [column["name"] for column in describe_columns(schema, table)]
    renames = {name: launder(name, taken, reserved) for name in columns}
    renames = {old: new for old, new in renames.items() if old != new}
    target = qualified(schema, table)
    with connection.cursor() as cursor:
        # Two steps, so that "A" -> "a" never meets an existing "a" on the way.
        for number, old in enumerate(renames):
            cursor.execute(f"ALTER TABLE {target} RENAME COLUMN {quote_ident(old)} "
                           f"TO {quote_ident(f'__capgeo_{number}')}")
        for number, new in enumerate(renames.values()):
            cursor.execute(f"ALTER TABLE {target} RENAME COLUMN {quote_ident(f'__capgeo_{number}')} "
                           f"TO {quote_ident(new)}")
    return renames


def geometry_column_type(schema, table):
    """(type, srid) of the geometry column as declared (typmod), e.g. ("MULTIPOLYGON", 2154)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT upper(type), srid FROM geometry_columns WHERE f_table_schema = %s "
            "AND f_table_name = %s AND f_geometry_column = %s",
            [schema, table, GEOMETRY_COLUMN],
        )
        row = cursor.fetchone()
    return row if row else (None, None)


def _target_type(types):
    families = {geometry_family(name) for name in types}
    if len(families) != 1 or None in families:
        return "GEOMETRY"
    family = families.pop()
    if family == "POINT" and "MULTIPOINT" not in types:
        return "POINT"
    return "MULTI" + family


def fix_geometries(schema, table, measure=False):
    """Repair and type the geometries of a staging table; returns the figures for the report.

    measure=True (the table has its spatial index): the checks are made in the pass that
    measures the table's count and extents (layers.tables.measure); figures["measured"] is then
    (Summary, geometry type) for the catalogue, or None when repairs changed the rows.
    """
    target = qualified(schema, table)
    declared, srid = geometry_column_type(schema, table)
    checks = (f"count(*) FILTER (WHERE NOT ST_IsValid({GEOM})), "
              f"count(*) FILTER (WHERE ST_IsEmpty({GEOM}))")
    measured = None
    with connection.cursor() as cursor:
        # One parallel pass over the rows; no JIT (compiling it costs more than it saves here).
        cursor.execute("SET LOCAL jit = off")
        if measure:
            summary, dominant, found = measure_table(schema, table, with_checks=True)
            measured = (summary, dominant)
            features, null_geometries = summary.count, found["missing"]
            invalid, empty, types = found["invalid"], found["empty"], set(found["types"])
        else:
            if declared and declared != "GEOMETRY":
                # A typed column (ogr2ogr knew the layer's type): one type, no grouping (a GROUP
                # BY on "geom IS NULL" sorted every row).
                cursor.execute(f"SELECT count(*) FILTER (WHERE {GEOM} IS NULL), "
                               f"count(*) FILTER (WHERE {GEOM} IS NOT NULL), {checks} FROM {target}")
                nulls, present, invalid_count, empty_count = cursor.fetchone()
                stats = [(None, nulls, 0, 0)] if nulls else []
                if present:
                    stats.append((declared, present, invalid_count, empty_count))
            else:
                cursor.execute(f"SELECT upper(GeometryType({GEOM})), count(*), {checks} "
                               f"FROM {target} GROUP BY 1")
                stats = cursor.fetchall()
            features = sum(row[1] for row in stats)
            null_geometries = sum(row[1] for row in stats if row[0] is None)
            invalid = sum(row[2] or 0 for row in stats)
            empty = sum(row[3] or 0 for row in stats)
            types = {row[0] for row in stats if row[0] is not None}
        if features == 0:
            raise PublishError(_("La source ne contient aucun objet."))
        if not types:
            raise PublishError(_("Aucun objet de la source n'a de géométrie (vérifiez les colonnes "
                                 "de coordonnées ou de géométrie)."))
        geometry_type = _target_type(types)
        family = geometry_family(geometry_type)
        repaired = 0
        if invalid:
            expression = f"ST_MakeValid({GEOM})"
            if family:
                expression = f"ST_CollectionExtract({expression}, {EXTRACT_DIMENSION[family]})"
            if geometry_type.startswith("MULTI"):
                expression = f"ST_Multi({expression})"
            cursor.execute(f"UPDATE {target} SET {GEOM} = {expression} WHERE NOT ST_IsValid({GEOM})")
            repaired = cursor.rowcount
        skipped = 0
        if invalid or empty:
            cursor.execute(f"DELETE FROM {target} WHERE {GEOM} IS NOT NULL AND ST_IsEmpty({GEOM})")
            skipped = cursor.rowcount
        if declared != geometry_type or srid != SRID:
            cast = f"ST_SetSRID({GEOM}, {SRID})"
            if geometry_type.startswith("MULTI"):
                cast = f"ST_Multi({cast})"
            cursor.execute(f"ALTER TABLE {target} ALTER COLUMN {GEOM} "
                           f"TYPE geometry({geometry_type}, {SRID}) USING {cast}")
    if repaired or skipped or declared != geometry_type or srid != SRID:
        measured = None  # the rows changed: measured again once live
    return {
        "measured": measured,
        "features_loaded": features,
        "geometry_type": geometry_type,
        "invalid_geometries": invalid,
        "geometries_repaired": repaired,
        "skipped": skipped,
        "null_geometries": null_geometries,
    }


def give_unique_names(schema, table):
    """Rename the table's indexes, constraints and sequence after the table (hashed), so that
    versions moving between schemas never meet an object of the same name."""
    digest = hashlib.md5(f"{schema}.{table}".encode()).hexdigest()[:8]
    stem = f"{table[:40]}_{digest}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, ix.indisprimary, am.amname FROM pg_index ix "
            "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_am am ON am.oid = i.relam "
            "WHERE ix.indrelid = to_regclass(%s) ORDER BY i.relname",
            [qualified(schema, table)],
        )
        for number, (name, primary, method) in enumerate(cursor.fetchall()):
            suffix = "pkey" if primary else ("gist" if method == "gist" else f"idx{number}")
            if name != f"{stem}_{suffix}":
                cursor.execute(f"ALTER INDEX {qualified(schema, name)} "
                               f"RENAME TO {quote_ident(f'{stem}_{suffix}')}")
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.oid = pg_get_serial_sequence(%s, %s)::regclass",
            [qualified(schema, table), PRIMARY_KEY],
        )
        row = cursor.fetchone()
        if row and row[0] != f"{stem}_seq":
            cursor.execute(f"ALTER SEQUENCE {qualified(schema, row[0])} "
                           f"RENAME TO {quote_ident(f'{stem}_seq')}")


def merge_for_append(layer_name, new_table, merged_table):
    """A copy of the live table plus the new rows, in staging; returns (appended, warnings).

    The caller holds a lock on the live table, so nothing changes it between copy and swap.
    """
    live_type, _srid = geometry_column_type(DATA_SCHEMA, layer_name)
    new_type, _srid = geometry_column_type(STAGING_SCHEMA, new_table)
    geometry = GEOM
    if live_type != "GEOMETRY" and new_type != live_type:
        if live_type == f"MULTI{new_type}":
            geometry = f"ST_Multi({GEOM})"
        else:
            raise PublishError(
                _("Les géométries ajoutées (%(new)s) ne sont pas du type de la couche (%(live)s).")
                % {"new": new_type.lower(), "live": live_type.lower()}
            )
    live_columns = {c["name"]: c["type"] for c in describe_columns(DATA_SCHEMA, layer_name)}
    new_columns = [c["name"] for c in describe_columns(STAGING_SCHEMA, new_table)]
    common = [name for name in new_columns if name in live_columns]
    warnings = []
    ignored = [name for name in new_columns if name not in live_columns]
    if ignored:
        warnings.append(_("Colonnes absentes de la couche, ignorées : %(names)s.")
                        % {"names": ", ".join(ignored)})
    missing = [name for name in live_columns if name not in new_columns]
    if missing:
        warnings.append(_("Colonnes de la couche absentes de la source, laissées vides : "
                          "%(names)s.") % {"names": ", ".join(missing)})
    copy_table(DATA_SCHEMA, layer_name, STAGING_SCHEMA, merged_table)
    targets = ", ".join([quote_ident(name) for name in common] + [GEOM])
    values = ", ".join(
        [f"{quote_ident(name)}::{live_columns[name]}" for name in common] + [geometry]
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                f"INSERT INTO {qualified(STAGING_SCHEMA, merged_table)} ({targets}) "
                f"SELECT {values} FROM {qualified(STAGING_SCHEMA, new_table)} "
                f"ORDER BY {quote_ident(PRIMARY_KEY)}"
            )
        except DataError as error:
            # The caller's transaction is rolled back: nothing of the merge remains.
            raise PublishError(
                _("Les valeurs ajoutées ne sont pas compatibles avec les types des colonnes de la "
                  "couche (%(detail)s).") % {"detail": str(error).splitlines()[0]}
            ) from None
        appended = cursor.rowcount
        cursor.execute(f"ANALYZE {qualified(STAGING_SCHEMA, merged_table)}")
    return appended, warnings
