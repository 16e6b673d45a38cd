"""Writes through the feature source: insert, update, delete, under the write filter and the
writable columns, with the history of every change (FeatureChange).

The caller (WFS-T today, OGC API Features Part 4 and field sync next) opens the transaction,
parses its own encoding, and hands over plain values and geometries:

    source = policy.source(name, Permission.EDIT)
    values = source.checked_values({"nom": "Zone A"})          # InvalidValue, ReadOnlyColumn…
    geometry = geometry_from_gml(gml_text, srid, flip)          # InvalidGeometry
    fid = source.insert(values, geometry)                       # then source.inside(fids)
    found = source.lock([fid, …])                               # {fid: inside the write filter}
    source.update(fids, values, geometry=…); source.delete(fids)
    source.record(FeatureChange.Action.UPDATE, fids, before, after, "wfs-t")

Nothing here commits: a refusal raised by the caller rolls everything back.
"""
import json
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction

from ..models import FeatureChange
from ..sql import quote_ident, quote_literal
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID
from .columns import UnknownColumn

FID_SQL = quote_ident(PRIMARY_KEY)
GEOM_SQL = quote_ident(GEOMETRY_COLUMN)
TEXT_TYPES = ("text", "character", "varchar", "char", "uuid")
ACCEPTED_SRIDS = {2154, 4326, 3857}


class ReadOnlyColumn(ValueError):
    """A column the user may read but not write."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class InvalidValue(ValueError):
    """A value its column's type refuses."""

    def __init__(self, name, value, pgtype):
        super().__init__(name)
        self.name, self.value, self.type = name, value, pgtype


class InvalidGeometry(ValueError):
    """kind: "unreadable" (detail: PostGIS's message), "empty", or "invalid" (detail: reason)."""

    def __init__(self, kind, detail=""):
        super().__init__(detail or kind)
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class GeometryValue:
    """A checked geometry in EPSG:2154: an SQL expression of parameters only, and those."""
    sql: str
    params: tuple
    kind: str                     # PostGIS GeometryType()


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__


def _checked_geometry(expression, params):
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(f"SELECT ST_IsValidReason(g), ST_IsEmpty(g), GeometryType(g) "
                               f"FROM (SELECT {expression} AS g) s", params)
                reason, empty, kind = cursor.fetchone()
        except (DatabaseError, ValueError) as error:
            raise InvalidGeometry("unreadable", first_line(error)) from None
    if empty:
        raise InvalidGeometry("empty")
    if reason != "Valid Geometry":
        raise InvalidGeometry("invalid", reason)
    return GeometryValue(expression, tuple(params), kind)


def geometry_from_gml(text, srid=SRID, flip=False):
    """A GML geometry (without srsName: srid given) read by PostGIS, axes swapped when flip,
    projected to Lambert-93 and checked (InvalidGeometry)."""
    expression = "ST_GeomFromGML(%s, %s)"
    if flip:
        expression = f"ST_FlipCoordinates({expression})"
    if srid != SRID:
        expression = f"ST_Transform({expression}, {SRID})"
    return _checked_geometry(expression, [text, int(srid)])


def geometry_from_geojson(text, srid=4326):
    """A GeoJSON geometry (x, y order) in srid, projected to Lambert-93 and checked."""
    expression = "ST_SetSRID(ST_GeomFromGeoJSON(%s), %s)"
    if srid != SRID:
        expression = f"ST_Transform({expression}, {SRID})"
    return _checked_geometry(expression, [text, int(srid)])


class WritingMixin:
    """FeatureSource's writes (self: the source, permission EDIT)."""

    def _writable_column(self, name):
        for column in self.columns:
            if column.name == name:
                if not column.writable:
                    raise ReadOnlyColumn(name)
                return column
        raise UnknownColumn(name, [c.name for c in self.columns if c.readable])

    def checked_values(self, values):
        """{column: text or None} -> same, each column writable (UnknownColumn, ReadOnlyColumn)
        and each value accepted by its column's type (InvalidValue); an empty string in a
        column that is not text becomes null."""
        checked = {}
        for name, value in values.items():
            column = self._writable_column(name)
            if value == "" and not column.type.startswith(TEXT_TYPES):
                value = None  # an emptied field of a number or date column: null
            if value is not None:
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"SELECT CAST(%s AS {column.type})", [value])
                except (DatabaseError, ValueError):
                    raise InvalidValue(name, value, column.type) from None
            checked[name] = value
        return checked

    def _geometry_sql(self, geometry):
        column_type = (self.layer.geometry_type or "").upper()
        if column_type.startswith("MULTI") and not geometry.kind.startswith("MULTI"):
            return f"ST_Multi({geometry.sql})"
        return geometry.sql

    def insert(self, values, geometry=None):
        """Insert one row (values checked by checked_values) and return its fid. The caller then
        checks inside([fid]) (the write filter) before committing."""
        columns, expressions, params = [], [], []
        if geometry is not None:
            columns.append(GEOM_SQL)
            expressions.append(self._geometry_sql(geometry))
            params += geometry.params
        for name, value in values.items():
            columns.append(quote_ident(self._writable_column(name).name))
            expressions.append("%s")
            params.append(value)
        body = f"({', '.join(columns)}) VALUES ({', '.join(expressions)})" if columns \
            else "DEFAULT VALUES"
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table} {body} RETURNING {FID_SQL}", params)
            return cursor.fetchone()[0]

    def lock(self, fids):
        """Lock the rows (FOR UPDATE); {fid: True when inside the write filter} of those found."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT t.{FID_SQL}, ({self.write_rows.sql}) FROM {self.table} t "
                           f"WHERE t.{FID_SQL} = ANY(%s) FOR UPDATE",
                           [*self.write_rows.params, list(fids)])
            return dict(cursor.fetchall())

    def update(self, fids, values, geometry=None, set_geometry=False):
        """Set the (checked) values, and the geometry when set_geometry (None: null), on the
        rows fids (locked first with lock()). Returns the number of rows changed."""
        assignments, params = [], []
        if set_geometry:
            if geometry is None:
                assignments.append(f"{GEOM_SQL} = NULL")
            else:
                assignments.append(f"{GEOM_SQL} = {self._geometry_sql(geometry)}")
                params += geometry.params
        for name, value in values.items():
            assignments.append(f"{quote_ident(self._writable_column(name).name)} = %s")
            params.append(value)
        if not assignments:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {self.table} SET {', '.join(assignments)} "
                           f"WHERE {FID_SQL} = ANY(%s)", [*params, list(fids)])
            return cursor.rowcount

    def delete(self, fids):
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.table} WHERE {FID_SQL} = ANY(%s)", [list(fids)])
            return cursor.rowcount

    def inside(self, fids):
        """True when every row fids is inside the write filter (after a change)."""
        if self.write_rows.is_unrestricted:
            return True
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.table} t WHERE t.{FID_SQL} = ANY(%s) "
                           f"AND {self.write_rows.sql}", [list(fids), *self.write_rows.params])
            return cursor.fetchone()[0] == len(set(fids))

    def snapshot(self, fids):
        """{fid: {column: value, "geom": GeoJSON in EPSG:2154}} of whole rows, for the history
        (an audit record: every column, whoever the user is)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.{FID_SQL}, (to_jsonb(t) - {quote_literal(GEOMETRY_COLUMN)} - "
                f"{quote_literal(PRIMARY_KEY)}) || jsonb_build_object("
                f"{quote_literal(GEOMETRY_COLUMN)}, ST_AsGeoJSON(t.{GEOM_SQL}, 2)::jsonb) "
                f"FROM {self.table} t WHERE t.{FID_SQL} = ANY(%s)", [list(fids)])
            return {fid: (json.loads(values) if isinstance(values, str) else values)
                    for fid, values in cursor.fetchall()}

    def extent_of(self, fids):
        """(minx, miny, maxx, maxy) in EPSG:2154 of the rows fids, None when none has a
        geometry (the box that changed, for caches)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                           f"ST_Extent(t.{GEOM_SQL}) AS e FROM {self.table} t "
                           f"WHERE t.{FID_SQL} = ANY(%s)) s", [list(fids)])
            row = cursor.fetchone()
        return tuple(row) if row and row[0] is not None else None

    def record(self, action, fids, before=None, after=None, source=""):
        """FeatureChange rows (history) for fids, by this source's user."""
        user = self.user if self.user is not None and self.user.is_authenticated else None
        before, after = before or {}, after or {}
        return FeatureChange.objects.bulk_create(
            FeatureChange(layer=self.layer, fid=fid, action=action, changed_by=user,
                          old_values=before.get(fid), new_values=after.get(fid), source=source)
            for fid in fids)
