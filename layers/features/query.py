"""What a protocol asks of a feature source, and the SELECT built from it.

A FeatureQuery says which rows (an area, attribute and spatial conditions, a page), in which
order, which properties and in which CRS; the source turns it into SQL over the layer's table
aliased ``t``, its row filter always first. Conditions are a small tree of values, never SQL: the
REST equality filters, WFS filters and OGC API CQL2 (through pygeofilter) compile to it, and
every value travels as a query parameter.

    query = FeatureQuery(area=storage_area(bbox, 4326), where=All(Compare("surface", ">", 10),
                         In("code_insee", ["44069"])), crs=4326, limit=100, after=12345)
"""
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction

from ..sql import quote_ident
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID
from .columns import UnknownColumn

# Output projections offered: Lambert-93 (storage), WGS 84, Web Mercator.
OUTPUT_SRIDS = (2154, 4326, 3857)
# Decimal digits of output coordinates: ~1 cm in degrees, 1 cm in metres.
COORDINATE_DIGITS = {4326: 7, 2154: 2, 3857: 2}
# Where Lambert-93 is defined (in degrees: everywhere but near the south pole, its projection's
# point at infinity): a box asked in another CRS is clipped to it before being projected, so a
# world-wide box is not a projection error, and overseas boxes find their rows.
LAMBERT93_DEFINED_WGS84 = (-180.0, -89.0, 180.0, 90.0)

FID = f"t.{quote_ident(PRIMARY_KEY)}"
GEOM = f"t.{quote_ident(GEOMETRY_COLUMN)}"


# --- conditions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Compare:
    """column <op> value; op in = <> < <= > >= (an untyped literal: it takes the column's type)."""
    column: str
    op: str
    value: object

    OPS = ("=", "<>", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class In:
    """column IN (values): the REST API's ?attribute=v1&attribute=v2."""
    column: str
    values: tuple


@dataclass(frozen=True)
class Like:
    """column LIKE pattern (% and _ wildcards, backslash escape); ILIKE when not case_sensitive;
    accents ignored too with accent_insensitive (unaccent)."""
    column: str
    pattern: str
    case_sensitive: bool = True
    accent_insensitive: bool = False


@dataclass(frozen=True)
class Between:
    column: str
    low: object
    high: object


@dataclass(frozen=True)
class IsNull:
    column: str


@dataclass(frozen=True)
class Spatial:
    """A spatial predicate between the feature's geometry and a geometry given as EWKB hex in
    EPSG:2154 (storage_area, storage_geometry): intersects, disjoint, within, contains, touches,
    crosses, overlaps, equals; dwithin with distance in metres."""
    op: str
    ewkb: str
    distance: float | None = None

    OPS = ("intersects", "disjoint", "within", "contains", "touches", "crosses", "overlaps",
           "equals", "dwithin")


@dataclass(frozen=True)
class Fids:
    """fid IN (fids)."""
    fids: tuple


@dataclass(frozen=True)
class All:
    items: tuple

    def __init__(self, *items):
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Any:
    items: tuple

    def __init__(self, *items):
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Not:
    item: object


@dataclass(frozen=True)
class FeatureQuery:
    """Which rows, which properties, in which CRS and order, which page."""
    area: str | None = None          # EWKB hex (EPSG:2154) the rows must intersect (storage_area)
    clip: str | None = None          # EWKB hex (EPSG:2154): output geometries cut to it
    where: object = None             # a condition tree (Compare, In, Like, All, Any, Not, …)
    crs: int = 4326                  # output CRS of geometries
    properties: tuple | None = None  # readable column names to output; None: all readable
    sort: tuple = ()                 # ((column, ascending), …); fid always breaks ties
    limit: int | None = None
    offset: int = 0
    after: int | None = None         # keyset paging: the rows after row `after` in the order
    digits: int | None = None        # coordinate decimals (None: COORDINATE_DIGITS[crs])
    with_geometry: bool = True
    latitude_first: bool = False     # EPSG:4326 as its definition orders it (OGC API Part 2)
    options: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.crs not in OUTPUT_SRIDS:
            raise ValueError(f"unsupported output SRID {self.crs}")
        if self.latitude_first and self.crs != 4326:
            raise ValueError("only EPSG:4326 is written latitude first")

    @property
    def coordinate_digits(self):
        return self.digits if self.digits is not None else COORDINATE_DIGITS[self.crs]

    def page(self, limit=None, offset=0, after=None):
        """The same query, another window."""
        from dataclasses import replace
        return replace(self, limit=limit, offset=offset, after=after)

    def unpaged(self):
        from dataclasses import replace
        return replace(self, limit=None, offset=0, after=None, sort=())


# --- areas ---------------------------------------------------------------------------------------
def storage_area(bbox, srid):
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


def storage_geometry(text, srid, kind="wkt"):
    """A geometry given as WKT or GeoJSON in `srid`, as EWKB hex in EPSG:2154 (for Spatial).
    Raises ValueError when PostGIS cannot read or project it."""
    reader = "ST_GeomFromGeoJSON(%s)" if kind == "geojson" else "ST_GeomFromText(%s)"
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(f"SELECT ST_AsEWKB(ST_Transform(ST_SetSRID({reader}, %s), %s))",
                               [text, int(srid), SRID])
                (ewkb,) = cursor.fetchone()
        except (DatabaseError, ValueError) as error:
            raise ValueError(str(error)) from None
    return bytes(ewkb).hex()


# --- SQL -----------------------------------------------------------------------------------------
_SPATIAL_SQL = {
    "intersects": "ST_Intersects", "disjoint": "ST_Disjoint", "within": "ST_Within",
    "contains": "ST_Contains", "touches": "ST_Touches", "crosses": "ST_Crosses",
    "overlaps": "ST_Overlaps", "equals": "ST_Equals",
}


class ConditionCompiler:
    """A condition tree as (sql, params) over readable columns of the source."""

    def __init__(self, columns):
        self.columns = {c.name: c for c in columns if c.readable}

    def column(self, name):
        column = self.columns.get(name)
        if column is None:
            raise UnknownColumn(name, self.columns)
        return column.sql

    def compile(self, node):
        if isinstance(node, Compare):
            if node.op not in Compare.OPS:
                raise ValueError(f"unknown comparison {node.op!r}")
            return f"{self.column(node.column)} {node.op} %s", [node.value]
        if isinstance(node, In):
            if not node.values:
                return "FALSE", []
            marks = ", ".join(["%s"] * len(node.values))
            return f"{self.column(node.column)} IN ({marks})", list(node.values)
        if isinstance(node, Like):
            column = f"{self.column(node.column)}::text"
            operator = "LIKE" if node.case_sensitive else "ILIKE"
            if node.accent_insensitive:
                return f"unaccent({column}) {operator} unaccent(%s)", [node.pattern]
            return f"{column} {operator} %s", [node.pattern]
        if isinstance(node, Between):
            return f"{self.column(node.column)} BETWEEN %s AND %s", [node.low, node.high]
        if isinstance(node, IsNull):
            return f"{self.column(node.column)} IS NULL", []
        if isinstance(node, Fids):
            return f"{FID} = ANY(%s)", [list(node.fids)]
        if isinstance(node, Spatial):
            if node.op == "dwithin":
                return f"ST_DWithin({GEOM}, %s::geometry, %s)", [node.ewkb, float(node.distance)]
            function = _SPATIAL_SQL.get(node.op)
            if function is None:
                raise ValueError(f"unknown spatial operator {node.op!r}")
            return f"{function}({GEOM}, %s::geometry)", [node.ewkb]
        if isinstance(node, (All, Any)):
            if not node.items:
                return ("TRUE" if isinstance(node, All) else "FALSE"), []
            parts, params = [], []
            for item in node.items:
                sql, item_params = self.compile(item)
                parts.append(f"({sql})")
                params += item_params
            joiner = " AND " if isinstance(node, All) else " OR "
            return joiner.join(parts), params
        if isinstance(node, Not):
            sql, params = self.compile(node.item)
            return f"NOT ({sql})", params
        raise TypeError(f"not a feature condition: {node!r}")


def where_sql(rows, columns, query, table=None):
    """The WHERE clause (sql, params): the source's row filter first, then the query's area,
    conditions and keyset position (table: what the source reads from, for a sorted query's
    anchor row)."""
    clauses, params = [rows.sql], list(rows.params)
    if query is None:
        return clauses[0], params
    if query.area is not None:
        clauses.append(f"({GEOM} && %s::geometry AND ST_Intersects({GEOM}, %s::geometry))")
        params += [query.area, query.area]
    if query.where is not None:
        sql, condition_params = ConditionCompiler(columns).compile(query.where)
        clauses.append(f"({sql})")
        params += condition_params
    if query.after is not None:
        if query.sort:
            sql, keyset_params = keyset_sql(rows, columns, query, table)
            clauses.append(f"({sql})")
            params += keyset_params
        else:
            clauses.append(f"{FID} > %s")
            params.append(int(query.after))
    return " AND ".join(clauses), params


def keyset_sql(rows, columns, query, table):
    """The rows after the anchor row (fid = query.after) in the order of order_sql: sort keys
    as PostgreSQL orders them (ascending: nulls last; descending: nulls first), then fid. The
    anchor's values are read in SQL from the same table under the same row filter (typed as
    their columns, and never a row the reader may not see), one scalar subquery per key."""
    if table is None:
        raise ValueError("a sorted keyset page needs the source's table")
    compiler = ConditionCompiler(columns)
    anchor_where = f"{FID} = %s AND ({rows.sql})"
    anchor_params = [int(query.after), *rows.params]
    ors, params, equal, equal_params = [], [], [], []
    for name, ascending in query.sort:
        column = compiler.column(name)
        anchor = f"(SELECT {column} FROM {table} t WHERE {anchor_where})"
        if ascending:
            after = f"({column} > {anchor} OR ({column} IS NULL AND {anchor} IS NOT NULL))"
        else:
            after = f"({column} < {anchor} OR ({column} IS NOT NULL AND {anchor} IS NULL))"
        ors.append(" AND ".join(equal + [after]))
        params += equal_params + anchor_params * 2
        equal.append(f"{column} IS NOT DISTINCT FROM {anchor}")
        equal_params += anchor_params
    ors.append(" AND ".join(equal + [f"{FID} > %s"]))
    params += equal_params + [int(query.after)]
    return " OR ".join(f"({part})" for part in ors), params


def order_sql(columns, query):
    compiler = ConditionCompiler(columns)
    keys = [f"{compiler.column(name)} {'ASC' if ascending else 'DESC'}"
            for name, ascending in query.sort]
    return " ORDER BY " + ", ".join(keys + [FID])


def window_sql(columns, query):
    sql = order_sql(columns, query)
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    if query.offset:
        sql += f" OFFSET {int(query.offset)}"
    return sql


def projected_geometry(crs, expression=GEOM):
    if crs == SRID:
        return expression
    return f"ST_Transform({expression}, {int(crs)})"


def output_geometry(query):
    """(SQL, params) of a query's output geometry: cut to its clip area, in its CRS (latitude
    before longitude when the query asks EPSG:4326's own axis order)."""
    if query.clip is None:
        sql, params = projected_geometry(query.crs), []
    else:
        sql, params = (projected_geometry(query.crs, f"ST_Intersection({GEOM}, %s::geometry)"),
                       [query.clip])
    if query.latitude_first:
        sql = f"ST_FlipCoordinates({sql})"
    return sql, params
