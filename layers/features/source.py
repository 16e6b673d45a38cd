"""The feature source: one layer's features as one user may read or write them.

Only the access policy makes a FeatureSource (``AccessPolicy.for_user(user).source(layer,
permission)``); it carries what the policy decided — the layer, the permission, the rows (a read
filter, and a write filter for edits), the columns with their read/write rights — and builds every
SQL statement any protocol runs on the layer's table: REST pages and exports, WFS (the model and
queryset given to django-gisserver, the SQL encoders of its renderers), WFS-T writes, vector
tiles, GetFeatureInfo, the Mapnik datasource, thumbnails, search, style statistics, extents.
No other module builds SQL on the layer tables (tests/test_feature_source_boundary.py).

    source = AccessPolicy.for_user(user).source("zones_activite", Permission.DOWNLOAD)
    query = source.query(area=storage_area(bbox, 4326), where=In("code_insee", ["44069"]),
                         crs=4326, limit=100, after=None)
    source.count(query); source.geojson_collection(query, head); source.csv(query)

Writes (insert, update, delete, with the write filter, the writable columns and the history)
are in layers.features.writing, mixed in here.
"""
import json
import os
import subprocess
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils.translation import gettext as _

from platform_web.db_routing import read_alias, read_connection

from .. import extents
from ..models import DATA_SCHEMA, Permission
from ..sql import quote_ident
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID, qualified, table_exists
from . import encoders
from .columns import UnknownColumn
from .query import (FID, GEOM, FeatureQuery, Fids, output_geometry, projected_geometry,
                    where_sql, window_sql)
from .writing import WritingMixin

_TOKEN = object()
GEOMETRY_ALIAS = "_capgeo_geom"


@dataclass(frozen=True)
class RowFilter:
    """A boolean SQL expression over the layer's table (aliased ``t``) and its parameters."""
    sql: str
    params: tuple = ()

    @property
    def is_unrestricted(self):
        return self.sql == "TRUE"


ALL_ROWS = RowFilter("TRUE")
NO_ROWS = RowFilter("FALSE")


@dataclass(frozen=True)
class Clip:
    """Geometries cut to an area (a rule's area in clip mode): rows given whole by another rule
    (``whole``) keep their geometry, the others are cut to ``area`` (EWKB hex, EPSG:2154)."""
    whole: RowFilter
    area: str

    def __post_init__(self):
        int(self.area, 16)  # hexadecimal only: it is written into SQL as a literal

    def geometry_sql(self, geometry):
        """The clipped geometry expression over `geometry` (a column of a row aliased t)."""
        whole = self.whole.sql
        if self.whole.params:
            with connection.cursor() as cursor:
                whole = cursor.mogrify(whole, list(self.whole.params))
                whole = whole.decode() if isinstance(whole, bytes) else whole
        return (f"CASE WHEN ({whole}) THEN {geometry} ELSE "
                f"ST_Intersection({geometry}, '{self.area}'::geometry) END")


class InvalidFilterValue(ValueError):
    """An attribute filter value the column's type does not accept."""

    def __init__(self, attribute, pgtype, value):
        super().__init__(attribute)
        self.attribute, self.pgtype, self.value = attribute, pgtype, value


class ExportFailed(RuntimeError):
    """ogr2ogr could not write the file (its message is for the logs, not the user)."""


def export_timeout():
    # Below gunicorn's worker timeout (120 s in run.sh), so a stuck export ends as a clean 503.
    return int(getattr(settings, "CAPGEO_EXPORT_TIMEOUT", 100))


@dataclass(frozen=True, eq=False)
class FeatureSource(WritingMixin):
    """One layer, one permission, the rows and columns the policy gave to one user."""
    layer: object
    permission: Permission
    rows: RowFilter                 # the read filter
    columns: tuple                  # Column values (readable / writable)
    user: object
    write_rows: RowFilter = None    # the write filter (edits); the read filter when None
    operations: frozenset = frozenset()  # the operations the user holds on the layer
    write_filters: tuple = ()       # ((operation, RowFilter), …) for each write operation held
    clip: Clip = None               # geometries cut to an area (reads), or None
    _token: object = None

    def __post_init__(self):
        if self._token is not _TOKEN:
            raise TypeError("A FeatureSource is made by the access policy, never directly.")
        if self.write_rows is None:
            object.__setattr__(self, "write_rows", self.rows)
        if not self.operations:
            # Made without operations (the earlier form): those of the permission.
            from ..models import Operation
            object.__setattr__(self, "operations", frozenset(
                op.value for op in Operation
                if op == Operation.VIEW or (op == Operation.DOWNLOAD and self.permission != Permission.VIEW)
                or (op in Operation.writes() and self.permission == Permission.EDIT)))
        if not self.write_filters and self.permission == Permission.EDIT:
            from ..models import Operation
            object.__setattr__(self, "write_filters", tuple(
                (op.value, self.write_rows) for op in Operation.writes()))

    def holds(self, operation):
        """True when the user holds the operation (view, download, insert, update_attributes,
        update_geometry, delete) on the layer."""
        return str(operation) in self.operations

    def write_filter(self, operation):
        """The rows the user may change with that operation (NO_ROWS without it)."""
        for op, rows in self.write_filters:
            if op == str(operation):
                return rows
        return NO_ROWS

    @property
    def personal_columns(self):
        """The readable columns flagged as personal data (their reads are journaled)."""
        flagged = set(getattr(self.layer, "personal_columns", None) or ())
        return [name for name in self.readable_names() if name in flagged]

    # --- what the policy gave ---------------------------------------------------------------
    @property
    def restricted(self):
        """True when the user gets only some rows."""
        return not self.rows.is_unrestricted

    @property
    def row_filter(self):
        return self.rows

    @property
    def readable(self):
        return tuple(c for c in self.columns if c.readable)

    @property
    def writable(self):
        return tuple(c for c in self.columns if c.writable)

    def readable_names(self):
        return [c.name for c in self.readable]

    def column(self, name):
        for column in self.readable:
            if column.name == name:
                return column
        raise UnknownColumn(name, self.readable_names())

    @property
    def decision(self):
        """What the policy decided, hashable, for cache keys (two users with the same decision
        share cached answers; anything else they don't)."""
        return (self.layer.pk, self.layer.name, str(self.permission), self.rows.sql,
                tuple(map(str, self.rows.params)), self.write_rows.sql,
                tuple(map(str, self.write_rows.params)), self.columns,
                tuple(sorted(self.operations)), self.write_filters, self.clip)

    @property
    def sees_everything(self):
        """True when the user gets every row and every column (answers may be shared with
        anyone else who does)."""
        return (not self.restricted and self.clip is None
                and all(c.readable for c in self.columns))

    @property
    def view_key(self):
        """Hashable: what the user sees of the layer — the read filter, and the readable
        columns when some are hidden. Two sources of one layer with the same view_key show the
        same features (tile cache variants, thumbnail and map caches)."""
        key = (self.rows.sql, tuple(self.rows.params))
        if not all(c.readable for c in self.columns):
            key += (tuple(self.readable_names()),)
        if self.clip is not None:
            key += (self.clip,)
        return key

    def narrowed(self, where):
        """This source with only the rows that also match `where` (a condition of
        layers.features, on its readable columns): what a drawing asked for a subset of the
        user's rows reads (OGC API – Maps ``datetime``). Its view_key differs, so are its
        cached maps."""
        sql, params = where_sql(self.rows, self.columns, FeatureQuery(where=where))
        return replace(self, rows=RowFilter(f"({sql})", tuple(params)))

    def where(self, alias="t"):
        """The read filter as (sql, params) for a table aliased ``t``. Kept only for the modules
        still listed in tests/test_feature_source_boundary.py's allow-list: use the methods."""
        return self.rows.sql, self.rows.params

    # --- « qui a lu quoi » ----------------------------------------------------------------------
    def journal(self, names, rows=None, query=None):
        """Journal a read of the columns `names` when some are personal data (layers.access_log);
        rows: how many were output, else counted from query (its window applied)."""
        if not self.personal_columns or not set(names) & set(self.personal_columns):
            return None
        if rows is None and query is not None:
            rows = self.count(query)
            rows = max(0, rows - (query.offset or 0))
            if query.limit is not None:
                rows = min(rows, query.limit)
        from ..access_log import record
        return record(self, names, rows)

    # --- the table ---------------------------------------------------------------------------
    @property
    def table(self):
        return qualified(DATA_SCHEMA, self.layer.name)

    @property
    def read_table(self):
        """What reads select FROM (aliased t): the table, or — when geometries are clipped — the
        table with its geometry cut (Clip); the read filter applies to the whole geometries."""
        if self.clip is None:
            return self.table
        names = "".join(f", t.{quote_ident(a['name'])}" for a in (self.layer.attributes or []))
        return (f"(SELECT t.{quote_ident(PRIMARY_KEY)}{names}, "
                f"{self.clip.geometry_sql('t.' + quote_ident(GEOMETRY_COLUMN))} AS "
                f"{quote_ident(GEOMETRY_COLUMN)} FROM {self.table} t WHERE {self.inline_rows_filter()})")

    def published(self):
        """True when the layer's table exists (a vector layer whose data are published)."""
        return self.layer.is_vector and table_exists(DATA_SCHEMA, self.layer.name)

    # --- queries -----------------------------------------------------------------------------
    def query(self, **options):
        """A FeatureQuery over this source (properties checked against the readable columns)."""
        query = FeatureQuery(**options)
        self.properties(query)
        return query

    def properties(self, query):
        """The readable column names a query outputs (its properties, in table order)."""
        names = self.readable_names()
        if query is None or query.properties is None:
            return names
        for name in query.properties:
            if name not in names:
                raise UnknownColumn(name, names)
        wanted = set(query.properties)
        return [name for name in names if name in wanted]

    def where_sql(self, query=None):
        # Clipped reads: read_table already holds the read filter, tested on whole geometries.
        return where_sql(ALL_ROWS if self.clip is not None else self.rows, self.columns, query,
                         self.read_table)

    def exists(self, query=None):
        """True when the query has at least one row (stops at the first)."""
        sql, params = self.where_sql(query)
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.read_table} t WHERE {sql})", params)
            return cursor.fetchone()[0]

    def count(self, query=None):
        """numberMatched: the rows of the query, without its window."""
        sql, params = self.where_sql(query)
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.read_table} t WHERE {sql}", params)
            return cursor.fetchone()[0]

    def check_filter_values(self, equals):
        """Raise InvalidFilterValue for the first value its column's type refuses ({column:
        [values]}, checked before streaming), UnknownColumn for a column not readable."""
        reading = read_connection()
        with reading.cursor() as cursor:
            for name, values in equals.items():
                column = self.column(name)
                for value in values:
                    try:
                        with transaction.atomic(using=reading.alias):
                            # Literals are converted while the query is analysed: LIMIT 0 reads
                            # nothing.
                            cursor.execute(f"SELECT 1 FROM {self.table} t WHERE {column.sql} = %s "
                                           "LIMIT 0", [value])
                    except (DataError, ValueError):  # ValueError: psycopg2 refuses NUL
                        raise InvalidFilterValue(name, column.type, value) from None

    # --- GeoJSON -----------------------------------------------------------------------------
    def geojson_sql(self, query):
        """One row per feature: its GeoJSON text, encoded by PostgreSQL."""
        sql, params = self.where_sql(query)
        geometry, geometry_params = output_geometry(query) if query.with_geometry \
            else ("NULL::geometry", [])
        select = encoders.geojson_feature_select(
            f"{self.read_table} t", "t", self.properties(query), geometry, query.coordinate_digits)
        return f"{select} WHERE {sql}{window_sql(self.columns, query)}", geometry_params + params

    def geojson_batches(self, query, encoded=False):
        """The features' GeoJSON texts, one list per round trip of a server-side cursor; as
        UTF-8 bytes when encoded (for a response that sends them as they are)."""
        self.journal(self.properties(query), query=query)
        return encoders.stream_rows(*self.geojson_sql(query), encoded=encoded)

    def geojson_features(self, query, encoded=False):
        """The features as GeoJSON text chunks separated by commas (server-side cursor)."""
        return encoders.join_features(self.geojson_batches(query, encoded))

    def geojson_collection(self, query, head, encoded=False):
        """A streamed FeatureCollection: head's members, then the features."""
        return encoders.feature_collection(head, self.geojson_features(query, encoded))

    def features(self, query):
        """[{"id", "properties", "geometry"}] (GeoJSON dicts) of a bounded query, for Python."""
        sql, params = self.geojson_sql(query)
        with read_connection().cursor() as cursor:
            cursor.execute(sql, params)
            found = [json.loads(row[0]) for row in cursor.fetchall()]
        self.journal(self.properties(query), rows=len(found))
        return found

    def feature(self, fid, crs=4326, latitude_first=False):
        """One feature by id as a GeoJSON dict, or None (absent, or not among the rows)."""
        found = self.features(self.query(where=Fids((int(fid),)), crs=crs, limit=1,
                                         latitude_first=latitude_first))
        return found[0] if found else None

    # --- CSV ---------------------------------------------------------------------------------
    def csv(self, query):
        """CSV text chunks: header row first, CRLF line ends (RFC 4180). The read is journaled
        when asked (not when streamed: the request is over by then)."""
        names = self.properties(query)
        self.journal(names, query=query)
        return self._csv_chunks(query, names)

    def _csv_chunks(self, query, names):
        yield encoders.csv_header(self.layer, names)
        sql, params = self.where_sql(query)
        line = encoders.csv_line("t", names, "g.geom", query.coordinate_digits,
                                 encoders.csv_point_columns(self.layer))
        geometry, geometry_params = output_geometry(query)
        statement = (f"SELECT {line} FROM {self.read_table} t CROSS JOIN LATERAL "
                     f"(SELECT {geometry} AS geom) g "
                     f"WHERE {sql}{window_sql(self.columns, query)}")
        for batch in encoders.stream_rows(statement, geometry_params + params):
            yield "\r\n".join(batch) + "\r\n"

    # --- OGR (GeoPackage, Shapefile) -----------------------------------------------------------
    def ogr_sql(self, query, renamed=None, dbf=False):
        """The query as one SQL statement for ogr2ogr, parameters inlined by psycopg2's quoting.
        renamed: {column: output name} (Shapefile's 10-byte names); dbf: values the DBF format
        does not know cast to text."""
        renamed = renamed or {}
        columns = [f"{FID} AS {quote_ident(renamed.get(PRIMARY_KEY, PRIMARY_KEY))}"]
        for name in self.properties(query):
            column = self.column(name)
            value = encoders.dbf_value(column) if dbf else column.sql
            columns.append(f"{value} AS {quote_ident(renamed.get(name, name))}")
        geometry, geometry_params = output_geometry(query)
        columns.append(f"{geometry} AS {quote_ident(GEOMETRY_COLUMN)}")
        sql, params = self.where_sql(query)
        statement = (f"SELECT {', '.join(columns)} FROM {self.read_table} t WHERE {sql}"
                     f"{window_sql(self.columns, query)}")
        with connection.cursor() as cursor:
            return cursor.cursor.mogrify(statement, geometry_params + params).decode()

    def write_ogr(self, query, path, driver, extra=(), renamed=None, dbf=False):
        """Write the query with ogr2ogr (its own connection: committed rows only)."""
        from ..publishing.ogr import OGR2OGR, connection_string, environment

        alias = read_alias()  # the replica for protocol reads, when there is one
        env = environment(alias)
        env["PGAPPNAME"] = "capgeo-export"
        self.journal(self.properties(query), query=query)
        command = [OGR2OGR, "-f", driver, str(path), connection_string(alias=alias),
                   "-sql", self.ogr_sql(query, renamed, dbf), "-nln", self.layer.name, *extra]
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=export_timeout())
        except subprocess.TimeoutExpired:
            raise ExportFailed(_("Export interrompu : plus de %(seconds)d secondes.")
                               % {"seconds": export_timeout()}) from None
        if result.returncode != 0 or not os.path.exists(path):
            raise ExportFailed(result.stderr.strip()[-2000:] or "ogr2ogr failed")
        return path

    def write_geopackage(self, query, path):
        return self.write_ogr(query, path, "GPKG", [
            "-nlt", self.layer.geometry_type or "GEOMETRY", "-a_srs", f"EPSG:{int(query.crs)}",
            "-lco", f"FID={PRIMARY_KEY}", "-gt", "65536"])

    # --- extents -----------------------------------------------------------------------------
    def summary(self):
        """The Summary (count, extents per CRS) of the rows the user gets: the layer's stored
        one when unrestricted, else measured through the read filter (cached per process until
        the layer's data change)."""
        layer = self.layer
        if not self.restricted or not layer.is_vector:
            return extents.stored_summary(layer)
        key = (layer.pk, layer.name, layer.data_updated_at, self.rows.sql,
               tuple(self.rows.params))
        return extents.cached_summary(key, lambda: extents.summary_from_row(extents.run_measure(
            *extents.measure_sql(self.table, f"({self.rows.sql})", self.rows.params)))[0])

    def extent(self, crs=SRID, query=None):
        """(minx, miny, maxx, maxy) in crs of the query's rows (all the user's rows when no
        query), measured on the geometries in that CRS; None when there are none."""
        sql, params = self.where_sql(query)
        geometry = projected_geometry(crs)
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                           f"ST_Extent({geometry}) AS e FROM {self.read_table} t WHERE {sql}) s",
                           params)
            row = cursor.fetchone()
        return tuple(row) if row and row[0] is not None else None

    # --- values of a column (styles) ------------------------------------------------------------
    def distinct_values(self, name, limit):
        """The distinct non-null values of a readable column among the user's rows, sorted."""
        column = self.column(name).sql
        sql, params = self.where_sql()
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT {column} FROM {self.read_table} t "
                           f"WHERE {column} IS NOT NULL AND ({sql}) ORDER BY 1 LIMIT %s",
                           [*params, limit])
            return [row[0] for row in cursor.fetchall()]

    def quantiles(self, name, fractions):
        """percentile_cont of a readable numeric column at each fraction (None: no value)."""
        column = self.column(name).sql
        sql, params = self.where_sql()
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY {column})"
                           f" FROM {self.read_table} t WHERE {column} IS NOT NULL AND ({sql})",
                           [list(fractions), *params])
            return cursor.fetchone()[0]

    def value_range(self, name):
        """[min, max] of a readable numeric column (None: no value)."""
        column = self.column(name).sql
        sql, params = self.where_sql()
        with read_connection().cursor() as cursor:
            cursor.execute(f"SELECT ARRAY[min({column}), max({column})]::float8[] FROM "
                           f"{self.read_table} t WHERE {column} IS NOT NULL AND ({sql})", params)
            return cursor.fetchone()[0]

    # --- search (web map) ----------------------------------------------------------------------
    def search(self, names, patterns, limit):
        """[(label, (minx, miny, maxx, maxy) in EPSG:3857)] of rows whose label (the columns
        joined by " – ") holds every pattern (ILIKE, accents ignored), by label."""
        label = "concat_ws(' – ', " + ", ".join(f"{self.column(n).sql}::text" for n in names) + ")"
        match = " AND ".join(f"unaccent({label}) ILIKE unaccent(%s)" for _ in patterns)
        sql, params = self.where_sql()
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT label, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
                f" SELECT {label} AS label, ST_Envelope(ST_Transform({GEOM}, 3857)) b"
                f" FROM {self.read_table} t"
                f" WHERE ({match}) AND ({sql}) AND {GEOM} IS NOT NULL"
                " ORDER BY 1 LIMIT %s) s",
                [*patterns, *params, limit],
            )
            found = [(label, tuple(box)) for label, *box in cursor.fetchall()]
        self.journal(names, rows=len(found))
        return found

    # --- maps: vector tiles, Mapnik, GetFeatureInfo ---------------------------------------------
    def tile_sql(self, z, x, y, names, extent, buffer, tolerance, storage_box_sql, box=None):
        """(sql, params) of the MVT tile z/x/y (ST_AsMVT, layer name = the layer's) with the
        readable columns `names`; geometries simplified by `tolerance` (Lambert-93 metres) before
        being projected. storage_box_sql(box, 3857): the index box in Lambert-93.

        box: a Lambert-93 tile instead, (minx, miny, maxx, maxy) of a grid in the storage CRS
        (OGC API – Tiles' LAMB93): z, x, y are then ignored and nothing is reprojected."""
        columns = "".join(f", {self.column(name).sql}" for name in names)
        sql, params = self.where_sql()
        self.journal(names)  # rows: unknown (one tile)
        if box is None:
            envelopes = ("SELECT ST_TileEnvelope(%s, %s, %s) AS tile, "
                         "ST_TileEnvelope(%s, %s, %s, margin => %s) AS padded")
            envelope_params = [z, x, y, z, x, y, buffer / extent]
            area, projected = storage_box_sql("padded", 3857), "ST_Transform({}, 3857)"
        else:
            minx, miny, maxx, maxy = (float(v) for v in box)
            margin = (maxx - minx) * buffer / extent
            envelopes = (f"SELECT ST_MakeEnvelope(%s, %s, %s, %s, {SRID}) AS tile, "
                         f"ST_MakeEnvelope(%s, %s, %s, %s, {SRID}) AS padded")
            envelope_params = [minx, miny, maxx, maxy, minx - margin, miny - margin,
                               maxx + margin, maxy + margin]
            area, projected = "padded", "{}"
        geometry = projected.format("ST_Simplify(t.geom, %s, true)")
        # Douglas-Peucker at the tile's resolution; preserveCollapsed keeps small polygons and
        # short lines as a dot rather than dropping them (ST_AsMVTGeom repairs the rest).
        statement = f"""
            WITH envelopes AS (
                {envelopes}
            ), bounds AS (
                SELECT tile, {area} AS area FROM envelopes
            )
            SELECT ST_AsMVT(features, %s, {int(extent)}, 'geom', 'fid') FROM (
                SELECT t.fid{columns},
                       ST_AsMVTGeom({geometry},
                                    bounds.tile, {int(extent)}, {int(buffer)}, true) AS geom
                FROM {self.read_table} t, bounds
                WHERE t.geom && bounds.area AND ({sql})
            ) AS features
            WHERE features.geom IS NOT NULL
        """
        return statement, [*envelope_params, self.layer.name, tolerance, *params]

    def inline_rows_filter(self):
        """The read filter as literal SQL (values quoted by the driver, never by hand), for
        clients that take a query string (Mapnik's PostGIS datasource)."""
        sql, params = self.rows.sql, self.rows.params
        if not params:
            return sql
        with connection.cursor() as cursor:
            literal = cursor.mogrify(sql, list(params))
        return literal.decode() if isinstance(literal, bytes) else literal

    def mapnik_subquery(self, names, geometry, in_box):
        """The Mapnik PostGIS datasource's table: "(SELECT fid, <geometry> AS geom, columns
        FROM the table t WHERE <in_box> AND <read filter>) AS data". geometry and in_box are the
        renderer's SQL over t.geom and Mapnik's !bbox! tokens (no request value)."""
        columns = "".join(f", {self.column(name).sql}" for name in names)
        return (f"(SELECT t.fid, {geometry} AS geom{columns} FROM {self.read_table} t "
                f"WHERE {in_box} AND ({self.inline_rows_filter()})) AS data")

    def inline_geojson(self, names, srid, bbox_xy, pixel, max_rows):
        """(count, FeatureCollection text) of the rows over bbox_xy (in srid), generalised to
        the pixel size, with the readable columns `names` as properties (Mapnik's inline
        GeoJSON datasource: thumbnails drawn within the caller's transaction)."""
        properties = ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}', {self.column(n).sql}"
                               for n in names)
        geometry = projected_geometry(srid)
        sql, params = self.where_sql()
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT count(*), json_build_object('type', 'FeatureCollection', 'features', "
                "coalesce(json_agg(json_build_object('type', 'Feature', 'properties', p, "
                "'geometry', ST_AsGeoJSON(g, 2)::json)), '[]'::json))::text FROM ("
                f"  SELECT ST_SnapToGrid(ST_Simplify({geometry}, %s, true), %s) AS g, "
                f"  json_build_object({properties}) AS p FROM {self.read_table} t"
                f"  WHERE {GEOM} && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), {SRID})"
                f"  AND ({sql}) LIMIT {int(max_rows)}"
                ") s WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)",
                [pixel / 2, pixel / 4, *bbox_xy, srid, *params],
            )
            return cursor.fetchone()

    def features_near(self, x, y, tolerance, srid, count, gml_options):
        """[{"fid", "properties", "geojson", "gml"}] of the rows within tolerance of the
        Lambert-93 point (x, y), nearest first (GetFeatureInfo); geometries in srid."""
        names = self.readable_names()
        geometry = projected_geometry(srid)
        selected = ", ".join(f"{self.column(n).sql} AS {quote_ident(n)}" for n in names)
        properties = "row_to_json(p)::text" if names else "'{}'"
        lateral = f" CROSS JOIN LATERAL (SELECT {selected}) p" if names else ""
        sql, params = self.where_sql()
        point = f"ST_SetSRID(ST_MakePoint(%s, %s), {SRID})"
        with read_connection().cursor() as cursor:
            cursor.execute(
                f"SELECT t.fid, {properties}, ST_AsGeoJSON({geometry}, 6, 0),"
                f"       ST_AsGML(3, {geometry}, 6, %s)"
                f" FROM {self.read_table} t{lateral}"
                f" WHERE ST_DWithin({GEOM}, {point}, %s) AND ({sql})"
                f" ORDER BY ST_Distance({GEOM}, {point}), t.fid"
                f" LIMIT %s",
                [gml_options, x, y, tolerance, *params, x, y, count],
            )
            rows = cursor.fetchall()
        self.journal(names, rows=len(rows))
        return [{"fid": fid, "properties": json.loads(properties), "geojson": geojson,
                 "gml": gml} for fid, properties, geojson, gml in rows]

    # --- django-gisserver (WFS) -----------------------------------------------------------------
    def model(self):
        """The Django model of the layer's table with the readable columns usable as fields."""
        from .django_model import layer_model
        return layer_model(self.layer, self.readable)

    def queryset(self):
        """The model's rows the user gets, in fid order (stable pages)."""
        queryset = self.model().objects.using(read_alias()).all()
        if self.restricted:
            key = f'{self.table}."{PRIMARY_KEY}"'
            queryset = queryset.extra(
                where=[f'{key} IN (SELECT t."{PRIMARY_KEY}" FROM {self.table} t '
                       f'WHERE {self.rows.sql})'], params=list(self.rows.params))
        return queryset.order_by(PRIMARY_KEY)

    def wrap_queryset_sql(self, queryset, names, start=0, stop=None):
        """(sql, params) of a gisserver queryset of this source's model as rows of fid, the
        columns `names` and the raw geometry (aliased GEOMETRY_ALIAS), sliced to the page."""
        from django.db import models
        from django.db.models.expressions import RawSQL

        for name in names:
            self.column(name)
        self.journal(names)  # rows: unknown (a WFS page, streamed by django-gisserver)
        geometry = f'{self.table}."{GEOMETRY_COLUMN}"'
        if self.clip is not None:
            geometry = (f"(SELECT {self.clip.geometry_sql('t.' + quote_ident(GEOMETRY_COLUMN))} "
                        f'FROM {self.table} t WHERE t."{PRIMARY_KEY}" = {self.table}."{PRIMARY_KEY}")')
        queryset = queryset.values(PRIMARY_KEY, *names).annotate(**{
            GEOMETRY_ALIAS: RawSQL(geometry, (), output_field=models.TextField())})
        if stop is not None:
            queryset = queryset[start:stop]
        elif start:
            queryset = queryset[start:]
        return queryset.query.sql_with_params()

