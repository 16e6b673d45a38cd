"""Reading a vector layer's features, always through a Grant of the access policy.

Every query built here is over the layer's live table aliased ``t`` and includes
``grant.where("t")``, so a protocol cannot read rows the policy did not give. Features are encoded
by PostgreSQL (GeoJSON per row, CSV lines, or ogr2ogr reading a query for GeoPackage) and read in
batches from a server-side cursor: Python never holds more than one batch.

    selection = FeatureSelection(grant, crs=4326, bbox=bbox_in_storage(...), equals={...})
    count(selection)                      # numberMatched
    stream_geojson_features(selection)    # iterator of str chunks: '{"type":"Feature",…},…'
    stream_csv(selection)                 # iterator of str chunks, header first
    write_geopackage(selection, path)     # ogr2ogr into a new .gpkg file
"""
import os
import subprocess
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, DataError, connection, transaction
from django.utils.translation import gettext as _

from .access import Grant, quote_ident
from .models import DATA_SCHEMA
from .tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID, qualified, table_exists

# Output projections offered by the API: Lambert-93 (storage), WGS 84, Web Mercator.
OUTPUT_SRIDS = (2154, 4326, 3857)
# Decimal digits of output coordinates: ~1 cm in degrees, 1 cm in metres.
COORDINATE_DIGITS = {4326: 7, 2154: 2, 3857: 2}
# Where Lambert-93 is defined (in degrees: everywhere but near the south pole, its projection's
# point at infinity): a box asked in another CRS is clipped to it before being projected, so a
# world-wide box is not a projection error, and overseas boxes find their rows.
LAMBERT93_DEFINED_WGS84 = (-180.0, -89.0, 180.0, 90.0)


def fetch_rows():
    """Rows read per round trip from the server-side cursor (memory bound of a stream)."""
    return int(getattr(settings, "CAPGEO_EXPORT_FETCH_ROWS", 2000))


def export_timeout():
    # Below gunicorn's worker timeout (120 s in run.sh), so a stuck export ends as a clean 503.
    return int(getattr(settings, "CAPGEO_EXPORT_TIMEOUT", 100))


class InvalidFilterValue(ValueError):
    """An attribute filter value the column's type does not accept."""

    def __init__(self, attribute, pgtype, value):
        super().__init__(attribute)
        self.attribute, self.pgtype, self.value = attribute, pgtype, value


@dataclass(frozen=True)
class FeatureSelection:
    """Which rows of a granted layer, in which projection, in which window (fid order)."""
    grant: Grant
    crs: int = 4326
    bbox: str | None = None           # EWKB hex of the filter area in EPSG:2154 (bbox_in_storage)
    equals: dict = field(default_factory=dict)  # attribute name -> list of accepted values
    limit: int | None = None
    offset: int = 0

    def __post_init__(self):
        if not isinstance(self.grant, Grant):
            raise TypeError("FeatureSelection needs a Grant from the access policy.")
        if self.crs not in OUTPUT_SRIDS:
            raise ValueError(f"unsupported output SRID {self.crs}")

    @property
    def layer(self):
        return self.grant.layer

    @property
    def table(self):
        return qualified(DATA_SCHEMA, self.layer.name)

    @property
    def attributes(self):
        return list(self.layer.attributes)


def layer_table_exists(layer):
    return table_exists(DATA_SCHEMA, layer.name)


# --- filters -------------------------------------------------------------------------------------
def bbox_in_storage(bbox, srid):
    """The box (minx, miny, maxx, maxy) given in `srid`, as an EWKB hex polygon in EPSG:2154.

    Boxes in another CRS go through WGS 84, are clipped to where Lambert-93 is defined (the whole
    Earth but the south pole: overseas rows are stored in Lambert-93 too, layers.extents) and
    densified (edges of constant latitude are curves in Lambert-93). Raises ValueError if PostGIS
    cannot project it.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                if srid == SRID:
                    cursor.execute("SELECT ST_AsEWKB(ST_MakeEnvelope(%s, %s, %s, %s, %s))",
                                   [minx, miny, maxx, maxy, SRID])
                else:
                    cursor.execute(
                        """
                        SELECT ST_AsEWKB(ST_Transform(ST_Segmentize(b, greatest(least(0.01,
                            (ST_XMax(b) - ST_XMin(b)) / 32), (ST_XMax(b) - ST_XMin(b)) / 1000,
                            1e-9)), %s))
                        FROM (SELECT ST_Intersection(ST_Transform(ST_Segmentize(
                            ST_MakeEnvelope(%s, %s, %s, %s, %s), greatest(%s, %s) / 32), 4326),
                            ST_MakeEnvelope(%s, %s, %s, %s, 4326)) AS b) s
                        """,
                        [SRID, minx, miny, maxx, maxy, srid, maxx - minx, maxy - miny,
                         *LAMBERT93_DEFINED_WGS84],
                    )
                (ewkb,) = cursor.fetchone()
        except DatabaseError as error:
            raise ValueError(str(error)) from None
    return bytes(ewkb).hex()


def where(selection):
    """The WHERE clause (sql, params) of a selection: the grant's row filter first."""
    grant_sql, grant_params = selection.grant.where("t")
    clauses, params = [grant_sql], list(grant_params)
    if selection.bbox is not None:
        geom = f"t.{quote_ident(GEOMETRY_COLUMN)}"
        clauses.append(f"({geom} && %s::geometry AND ST_Intersects({geom}, %s::geometry))")
        params += [selection.bbox, selection.bbox]
    for name, values in selection.equals.items():
        # Untyped literals take the column's own type: '12' compares as an integer, a date as a
        # date, and the column's index stays usable.
        clauses.append(f"t.{quote_ident(name)} IN ({', '.join(['%s'] * len(values))})")
        params += list(values)
    return " AND ".join(clauses), params


def check_filter_values(layer, equals):
    """Raise InvalidFilterValue for the first value its column's type refuses (before streaming)."""
    types = {attribute["name"]: attribute["type"] for attribute in layer.attributes}
    table = qualified(DATA_SCHEMA, layer.name)
    with connection.cursor() as cursor:
        for name, values in equals.items():
            for value in values:
                try:
                    with transaction.atomic():
                        # Literals are converted while the query is analysed: LIMIT 0 reads nothing.
                        cursor.execute(f"SELECT 1 FROM {table} t WHERE t.{quote_ident(name)} = %s "
                                       "LIMIT 0", [value])
                except (DataError, ValueError):  # ValueError: psycopg2 refuses NUL characters
                    raise InvalidFilterValue(name, types.get(name, ""), value) from None


def _window(selection):
    sql = f" ORDER BY t.{quote_ident(PRIMARY_KEY)}"
    if selection.limit is not None:
        sql += f" LIMIT {int(selection.limit)}"
    if selection.offset:
        sql += f" OFFSET {int(selection.offset)}"
    return sql


def count(selection):
    """numberMatched: the rows of the selection, without its window."""
    sql, params = where(selection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {selection.table} t WHERE {sql}", params)
        return cursor.fetchone()[0]


# --- encoders ------------------------------------------------------------------------------------
def _projected_geometry(selection):
    geom = f"t.{quote_ident(GEOMETRY_COLUMN)}"
    if selection.crs == SRID:
        return geom
    return f"ST_Transform({geom}, {int(selection.crs)})"


def geojson_features_sql(selection):
    """One row per feature: its GeoJSON text, encoded by PostgreSQL."""
    properties = ", ".join(f"t.{quote_ident(a['name'])} AS {quote_ident(a['name'])}"
                           for a in selection.attributes)
    digits = COORDINATE_DIGITS[selection.crs]
    sql, params = where(selection)
    query = (
        "SELECT '{\"type\":\"Feature\",\"id\":' || t." + quote_ident(PRIMARY_KEY)
        + " || ',\"geometry\":' || coalesce(ST_AsGeoJSON(" + _projected_geometry(selection)
        + f", {digits}), 'null') || ',\"properties\":' || row_to_json(p)::text || '}}' "
        f"FROM {selection.table} t CROSS JOIN LATERAL (SELECT {properties}) p "
        f"WHERE {sql}{_window(selection)}"
    )
    return query, params


def _csv_field(expression):
    """SQL turning a value into a CSV field (RFC 4180): quoted only when it must be."""
    value = f"({expression})::text"
    return (
        f"CASE WHEN {value} IS NULL THEN '' "
        f"WHEN strpos({value}, '\"') + strpos({value}, ',') + strpos({value}, E'\\n') "
        f"+ strpos({value}, E'\\r') > 0 THEN '\"' || replace({value}, '\"', '\"\"') || '\"' "
        f"ELSE {value} END"
    )


def csv_point_columns(layer):
    """Point layers get x and y columns; other geometries a WKT column."""
    return layer.geometry_type == "POINT"


def csv_header(selection):
    names = [PRIMARY_KEY] + [a["name"] for a in selection.attributes]
    names += ["x", "y"] if csv_point_columns(selection.layer) else ["wkt"]
    return ",".join(_quote_csv_name(name) for name in names) + "\r\n"


def _quote_csv_name(name):
    if any(char in name for char in '",\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name


def csv_rows_sql(selection):
    """One row per feature: its CSV line (without line end), encoded by PostgreSQL."""
    geometry = _projected_geometry(selection)
    digits = COORDINATE_DIGITS[selection.crs]
    fields = [f"t.{quote_ident(PRIMARY_KEY)}"]
    fields += [f"t.{quote_ident(a['name'])}" for a in selection.attributes]
    if csv_point_columns(selection.layer):
        fields += [f"round(ST_X(g.geom)::numeric, {digits})", f"round(ST_Y(g.geom)::numeric, {digits})"]
    else:
        fields.append(f"ST_AsText(g.geom, {digits})")
    line = " || ',' || ".join(_csv_field(expression) for expression in fields)
    sql, params = where(selection)
    query = (f"SELECT {line} FROM {selection.table} t CROSS JOIN LATERAL (SELECT {geometry} AS geom) g "
             f"WHERE {sql}{_window(selection)}")
    return query, params


def stream_rows(query, params):
    """Yield lists of first-column values, one batch per round trip of a server-side cursor.

    The cursor lives in its own transaction (a savepoint inside an outer one), opened when the
    first batch is asked and closed when the generator ends or is closed (client gone).
    """
    size = fetch_rows()
    with transaction.atomic():
        with connection.chunked_cursor() as cursor:
            cursor.execute(query, params)
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield [row[0] for row in rows]


def stream_geojson_features(selection):
    """The features of the selection as GeoJSON text chunks, separated by commas."""
    query, params = geojson_features_sql(selection)
    first = True
    for batch in stream_rows(query, params):
        chunk = ",".join(batch)
        yield chunk if first else "," + chunk
        first = False


def stream_csv(selection):
    """The selection as CSV text chunks: header row first, CRLF line ends (RFC 4180)."""
    yield csv_header(selection)
    query, params = csv_rows_sql(selection)
    for batch in stream_rows(query, params):
        yield "\r\n".join(batch) + "\r\n"


# --- GeoPackage ----------------------------------------------------------------------------------
def geopackage_sql(selection):
    """The selection as one SQL statement, parameters inlined by psycopg2's own quoting."""
    columns = [f"t.{quote_ident(PRIMARY_KEY)}"]
    columns += [f"t.{quote_ident(a['name'])}" for a in selection.attributes]
    columns.append(f"{_projected_geometry(selection)} AS {quote_ident(GEOMETRY_COLUMN)}")
    sql, params = where(selection)
    query = f"SELECT {', '.join(columns)} FROM {selection.table} t WHERE {sql}{_window(selection)}"
    with connection.cursor() as cursor:
        return cursor.cursor.mogrify(query, params).decode()


class ExportFailed(RuntimeError):
    """ogr2ogr could not write the GeoPackage (its message is for the logs, not the user)."""


def write_geopackage(selection, path):
    """Write the selection into a new GeoPackage at path with ogr2ogr reading PostgreSQL.

    ogr2ogr opens its own connection: it reads committed data only.
    """
    from .publishing.ogr import OGR2OGR, connection_string, environment

    env = environment()
    env["PGAPPNAME"] = "capgeo-export"
    command = [
        OGR2OGR, "-f", "GPKG", str(path), connection_string(), "-sql", geopackage_sql(selection),
        "-nln", selection.layer.name, "-nlt", selection.layer.geometry_type or "GEOMETRY",
        "-a_srs", f"EPSG:{int(selection.crs)}", "-lco", f"FID={PRIMARY_KEY}",
        "-gt", "65536",
    ]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=export_timeout())
    except subprocess.TimeoutExpired:
        raise ExportFailed(_("Export interrompu : plus de %(seconds)d secondes.")
                           % {"seconds": export_timeout()}) from None
    if result.returncode != 0 or not os.path.exists(path):
        raise ExportFailed(result.stderr.strip()[-2000:] or "ogr2ogr failed")
    return path
