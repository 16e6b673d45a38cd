"""Output encoders run by PostgreSQL: each feature leaves the database already encoded (GeoJSON
text, a CSV line, a GML member), and is read in batches from a server-side cursor.

Each encoder is a SELECT list over rows aliased ``alias`` that hold the key (fid), the columns
and the geometry; the FeatureSource wraps its own SELECT with them, and WFS wraps the query
django-gisserver built (wms/wfs/renderers.py), so one GeoJSON encoder serves both.

To add an output format: write its row encoder here (one SQL expression per feature, values
escaped by PostgreSQL), add a FeatureSource method streaming it (as ``csv`` does), and answer it
from the protocol's view. The rows and columns are the source's: nothing else to check.
"""
import json

import psycopg2.extensions
from django.conf import settings
from django.db import connections, transaction

from platform_web.db_routing import read_alias

from ..sql import quote_ident
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY


def fetch_rows():
    """Rows read per round trip from the server-side cursor (memory bound of a stream)."""
    return int(getattr(settings, "CAPGEO_EXPORT_FETCH_ROWS", 2000))


def stream_rows(query, params, encoded=False):
    """Yield lists of first-column values, one batch per round trip of a server-side cursor.

    The cursor lives in its own transaction (a savepoint inside an outer one), opened when the
    first batch is asked and closed when the generator ends or is closed (client gone).
    encoded: text values come as the UTF-8 bytes PostgreSQL sent (the connection's client
    encoding), for a response that writes them as they are — not decoded here to be encoded
    again on the way out.
    """
    # The read alias of the request (the replica for protocol reads, platform_web.db_routing),
    # taken when the stream is made: it is read while the response is sent.
    return _stream_rows(query, params, read_alias(), encoded)


def _stream_rows(query, params, alias, encoded=False):
    size = fetch_rows()
    with transaction.atomic(using=alias):
        with connections[alias].chunked_cursor() as cursor:
            if encoded:
                psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
            cursor.execute(query, params)
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield [row[0] for row in rows]


# --- GeoJSON -------------------------------------------------------------------------------------
def geojson_feature_select(from_sql, alias, names, geometry, digits, id_sql=None, indent=""):
    """SELECT of one GeoJSON Feature text per row of from_sql (whose rows are aliased alias):
    id, geometry (the SQL expression `geometry`, `digits` decimals, null when missing) and the
    properties `names`, in that order. id_sql: the id's JSON text (default: the bare fid)."""
    id_sql = id_sql or f"{alias}.{quote_ident(PRIMARY_KEY)}"
    properties = ", ".join(f"{alias}.{quote_ident(n)} AS {quote_ident(n)}" for n in names)
    properties_sql = "row_to_json(p)::text" if names else "'{}'"
    lateral = f" CROSS JOIN LATERAL (SELECT {properties}) p" if names else ""
    return (
        "SELECT '" + indent + "{\"type\":\"Feature\",\"id\":' || " + id_sql
        + " || ',\"geometry\":' || coalesce(ST_AsGeoJSON(" + geometry
        + f", {int(digits)}), 'null') || ',\"properties\":' || {properties_sql} || '}}' "
        f"FROM {from_sql}{lateral}"
    )


def join_features(batches):
    """GeoJSON Feature texts (str or bytes), batch by batch, as chunks separated by commas."""
    first = True
    for batch in batches:
        comma = b"," if isinstance(batch[0], bytes) else ","
        chunk = comma.join(batch)
        yield chunk if first else comma + chunk
        first = False


def feature_collection(head, features):
    """A FeatureCollection: the head members (dict) first, then the feature chunks."""
    opening = json.dumps({"type": "FeatureCollection", **head}, ensure_ascii=False,
                         separators=(",", ":"))
    yield opening[:-1] + (',' if len(opening) > 2 else '') + '"features":['
    yield from features
    yield "]}"


# --- CSV -----------------------------------------------------------------------------------------
def csv_field(expression):
    """SQL turning a value into a CSV field (RFC 4180): quoted only when it must be."""
    value = f"({expression})::text"
    return (
        f"CASE WHEN {value} IS NULL THEN '' "
        f"WHEN strpos({value}, '\"') + strpos({value}, ',') + strpos({value}, E'\\n') "
        f"+ strpos({value}, E'\\r') > 0 THEN '\"' || replace({value}, '\"', '\"\"') || '\"' "
        f"ELSE {value} END"
    )


def csv_name(name):
    if any(char in name for char in '",\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name


def csv_point_columns(layer):
    """Point layers get x and y columns; other geometries a WKT column."""
    return layer.geometry_type == "POINT"


def csv_header(layer, names):
    names = [PRIMARY_KEY, *names] + (["x", "y"] if csv_point_columns(layer) else ["wkt"])
    return ",".join(csv_name(name) for name in names) + "\r\n"


def csv_line(alias, names, geometry_alias, digits, points):
    """SQL of one CSV line (no line end) from the row alias and its geometry g.geom."""
    fields = [f"{alias}.{quote_ident(PRIMARY_KEY)}"]
    fields += [f"{alias}.{quote_ident(n)}" for n in names]
    if points:
        fields += [f"round(ST_X({geometry_alias})::numeric, {digits})",
                   f"round(ST_Y({geometry_alias})::numeric, {digits})"]
    else:
        fields.append(f"ST_AsText({geometry_alias}, {digits})")
    return " || ',' || ".join(csv_field(expression) for expression in fields)


# --- GML 3.2 (WFS) -------------------------------------------------------------------------------
def gml32_member_select(from_sql, alias, names, geometry, digits, tag, prefix, type_name,
                        options, bounded_by):
    """SELECT of one GML 3.2 feature member text per row (xmlforest() escapes the values)."""
    fid = f"{alias}.{quote_ident(PRIMARY_KEY)}"
    gml_id = f"'{type_name}.' || {fid}"
    forest = ", ".join(f"{alias}.{quote_ident(n)} AS {quote_ident(prefix + n)}" for n in names)
    attributes = f"coalesce(xmlforest({forest})::text, '')" if names else "''"
    bounded = ""
    if bounded_by:
        bounded = (f"coalesce('<gml:boundedBy>' || ST_AsGML(3, {geometry}, {digits}, "
                   f"{options | 32}) || '</gml:boundedBy>' || E'\\n', '') || ")
    return (
        f"SELECT '<{tag} gml:id=\"' || {gml_id} || '\">' || E'\\n' || {bounded}"
        f"{attributes} || coalesce('<{prefix}{GEOMETRY_COLUMN}>' || ST_AsGML(3, {geometry}, "
        f"{digits}, {options}, 'gml', {gml_id} || '.1') || '</{prefix}{GEOMETRY_COLUMN}>', "
        f"'<{prefix}{GEOMETRY_COLUMN} xsi:nil=\"true\"/>') || E'\\n</{tag}>\\n' "
        f"FROM {from_sql}"
    )


# --- OGR (GeoPackage, Shapefile) -----------------------------------------------------------------
# Types the DBF keeps as such; anything else is written as text (ISO for timestamps).
DBF_NATIVE_PREFIXES = ("smallint", "integer", "bigint", "numeric", "double precision", "real",
                       "date", "boolean", "text", "character varying", "character", "varchar")


def dbf_value(column):
    if column.type.startswith(DBF_NATIVE_PREFIXES) and "[]" not in column.type:
        return column.sql
    return f"({column.sql})::text"
