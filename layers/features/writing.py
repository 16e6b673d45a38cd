"""Writes through the feature source: insert, update, delete, under the write filter and the
writable columns, with the history of every change (FeatureChange).

The caller (WFS-T, OGC API Features Part 4; the field sync checks its installations' writes
with check_write, its publisher writing the rows set-based) opens the transaction,
parses its own encoding, and hands over plain values and geometries:

    source = policy.source(name, Permission.EDIT)
    values = source.checked_values({"nom": "Zone A"})          # InvalidValue, ReadOnlyColumn…
    geometry = geometry_from_gml(gml_text, srid, flip)          # InvalidGeometry
    fid = source.insert(values, geometry)                       # then source.inside(fids)
    found = source.lock([fid, …])                               # {fid: inside the write filter}
    source.update(fids, values, geometry=…); source.delete(fids)
    source.record(FeatureChange.Action.UPDATE, fids, before, after, "wfs-t")

The source enforces the user's rights by itself, whatever the caller checked: a write of a
column that is not writable (ReadOnlyColumn), an operation he does not hold — insert, update
attributes, update geometry, delete — (OperationDenied), a change of a row outside the write
filter of that operation, before or after (OutsideWriteFilter), is refused inside a savepoint,
so nothing of it remains. Nothing here commits: a refusal raised by the caller rolls everything
back.
"""
import json
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from ..models import FeatureChange
from ..sql import quote_ident, quote_literal
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID
from .columns import UnknownColumn
from .maintained import maintainer

FID_SQL = quote_ident(PRIMARY_KEY)
GEOM_SQL = quote_ident(GEOMETRY_COLUMN)
TEXT_TYPES = ("text", "character", "varchar", "char", "uuid")
ACCEPTED_SRIDS = {2154, 4326, 3857}


class ReadOnlyColumn(ValueError):
    """A column the user may read but not write."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class OperationDenied(PermissionError):
    """An operation the user does not hold on the layer (insert, update_attributes,
    update_geometry, delete). reason: a message for the user when the refusal is not about his
    rights (MaintainedLayer), else None and the protocol words it."""

    def __init__(self, operation, reason=None):
        super().__init__(operation)
        self.operation = operation
        self.reason = reason


class MaintainedLayer(OperationDenied):
    """A protocol write to a layer a domain application maintains (layers.features.maintained):
    it would be overwritten by the application's next publication."""

    def __init__(self, operation, layer_name, application):
        super().__init__(operation, _(
            "La couche « %(layer)s » est tenue à jour par %(application)s : modifiez-la là, ses "
            "objets seraient sinon remplacés à la prochaine publication. Rien n'a été "
            "enregistré.") % {"layer": layer_name, "application": application})


class OutsideWriteFilter(PermissionError):
    """Rows (before or after the change) outside what the user may change with the operation."""

    def __init__(self, operation, fids):
        super().__init__(f"{operation}: {fids}")
        self.operation, self.fids = operation, sorted(fids)


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

    def require(self, operation):
        """Raise OperationDenied unless the user holds the operation."""
        if not self.holds(operation):
            raise OperationDenied(operation)

    def require_protocol_write(self, operation):
        """require(operation), for a write through a protocol: MaintainedLayer on a layer a
        domain application maintains, whatever the user's rights."""
        application = maintainer(self.layer.name)
        if application is not None:
            raise MaintainedLayer(operation, self.layer.name, application)
        self.require(operation)

    def _filters(self, operations):
        """The write filters of operations, as one RowFilter's (sql, params) (AND)."""
        if not operations:
            return self.write_rows.sql, list(self.write_rows.params)
        parts, params = [], []
        for operation in operations:
            rows = self.write_filter(operation)
            parts.append(f"({rows.sql})")
            params += rows.params
        return " AND ".join(parts), params

    def _outside(self, fids, operations):
        """The fids (among those that exist) outside the write filters of operations."""
        sql, params = self._filters(operations)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT t.{FID_SQL} FROM {self.table} t WHERE t.{FID_SQL} = ANY(%s) "
                           f"AND NOT coalesce(({sql}), false)", [list(fids), *params])
            return [row[0] for row in cursor.fetchall()]

    def insert(self, values, geometry=None):
        """Insert one row (values checked by checked_values) and return its fid; refused
        (OperationDenied, OutsideWriteFilter: nothing inserted) without the insert operation or
        when the new row is outside its write filter."""
        self.require_protocol_write("insert")
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
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {self.table} {body} RETURNING {FID_SQL}", params)
            fid = cursor.fetchone()[0]
            if self._outside([fid], ["insert"]):
                raise OutsideWriteFilter("insert", [fid])
        return fid

    def lock(self, fids, operations=()):
        """Lock the rows (FOR UPDATE); {fid: True when inside the write filters of operations
        (all of them; none given: any write)} of those found."""
        sql, params = self._filters(operations)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT t.{FID_SQL}, coalesce(({sql}), false) FROM {self.table} t "
                           f"WHERE t.{FID_SQL} = ANY(%s) FOR UPDATE", [*params, list(fids)])
            return dict(cursor.fetchall())

    @staticmethod
    def update_operations(values, set_geometry):
        """The operations an update needs: update_attributes for values, update_geometry for
        a geometry."""
        return (["update_attributes"] if values else []) + \
            (["update_geometry"] if set_geometry else [])

    def update(self, fids, values, geometry=None, set_geometry=False):
        """Set the (checked) values, and the geometry when set_geometry (None: null), on the
        rows fids (locked first with lock()). Returns the number of rows changed. Refused
        (nothing changed) without update_attributes / update_geometry, or when a row is outside
        their write filters before or after."""
        operations = self.update_operations(values, set_geometry)
        for operation in operations:
            self.require_protocol_write(operation)
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
        outside = self._outside(fids, operations)
        if outside:
            raise OutsideWriteFilter(operations[0], outside)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {self.table} SET {', '.join(assignments)} "
                           f"WHERE {FID_SQL} = ANY(%s)", [*params, list(fids)])
            count = cursor.rowcount
            outside = self._outside(fids, operations)
            if outside:
                raise OutsideWriteFilter(operations[0], outside)
        return count

    def delete(self, fids):
        """Delete the rows fids; refused (nothing deleted) without the delete operation or when
        a row is outside its write filter."""
        self.require_protocol_write("delete")
        outside = self._outside(fids, ["delete"])
        if outside:
            raise OutsideWriteFilter("delete", outside)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.table} WHERE {FID_SQL} = ANY(%s)", [list(fids)])
            return cursor.rowcount

    def check_write(self, operations, columns, fid=None, proposed=None):
        """Check a write that a domain makes to a layer it publishes from its own records (the
        field sync's installations), before it is published, as insert/update check theirs:
        OperationDenied without one of the operations, ReadOnlyColumn / UnknownColumn for a
        column it sets that is not writable, OutsideWriteFilter when the row is outside the
        write filters of the operations before (fid, its current row, if any) or after
        (proposed: (sql, params) of a SELECT giving the row as it will be published, named like
        the table's columns). One query at most."""
        for operation in operations:
            self.require(operation)
        for name in columns:
            self._writable_column(name)
        sql, params = self._filters(operations)
        if sql == "TRUE":
            return
        parts, values = [], []
        if fid is not None:
            parts.append(f"(SELECT coalesce(({sql}), false) FROM {self.table} t "
                         f"WHERE t.{FID_SQL} = %s)")
            values += [*params, fid]
        if proposed is not None:
            parts.append(f"(SELECT coalesce(({sql}), false) FROM ({proposed[0]}) t)")
            values += [*params, *proposed[1]]
        if not parts:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(parts)}", values)
            if any(inside is False for inside in cursor.fetchone()):
                raise OutsideWriteFilter(operations[0] if operations else "update", [fid])

    def inside(self, fids, operations=()):
        """True when every row fids is inside the write filters of operations (after a change;
        none given: any write)."""
        sql, params = self._filters(operations)
        if sql == "TRUE":
            return True
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.table} t WHERE t.{FID_SQL} = ANY(%s) "
                           f"AND coalesce(({sql}), false)", [list(fids), *params])
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
