"""OGC API – Features Part 3 filters: CQL2 text or JSON, parsed by pygeofilter, compiled to the
feature source's condition tree (layers.features.query). No SQL is written here: the source turns
the tree into parameterised SQL over the columns the user may read.

Supported: comparisons (= <> < <= > >=), LIKE (with CASEI / ACCENTI), BETWEEN, IN, IS NULL,
AND / OR / NOT (basic CQL2 and advanced comparisons); the spatial predicates S_INTERSECTS,
S_DISJOINT, S_WITHIN, S_CONTAINS, S_TOUCHES, S_CROSSES, S_OVERLAPS, S_EQUALS with a WKT or GeoJSON
geometry or BBOX(…) in filter-crs; temporal comparisons on date and timestamp properties
(T_BEFORE, T_AFTER, T_EQUALS, T_DURING…, and = < > with DATE() / TIMESTAMP()).
"""
import datetime
import json

from django.utils.translation import gettext as _
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text

from layers.features import (All, Any, Between, Compare, In, IsNull, Like, Not, Spatial,
                             storage_area, storage_geometry)

from .errors import ApiError

LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY_PROPERTY = "geom"
COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}
SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
           ast.GeometryWithin: "within", ast.GeometryContains: "contains",
           ast.GeometryTouches: "touches", ast.GeometryCrosses: "crosses",
           ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals"}
MAX_LENGTH = 20000


def bad(message):
    return ApiError(400, "InvalidParameterValue", message)


def parse(text, language):
    if language not in LANGUAGES:
        raise bad(_("Langage de filtre inconnu : %(language)s (cql2-text ou cql2-json).")
                  % {"language": language})
    if len(text) > MAX_LENGTH:
        raise bad(_("Filtre trop long."))
    try:
        if language == "cql2-json":
            return parse_json(json.loads(text))
        return parse_text(text)
    except ApiError:
        raise
    except Exception as error:  # noqa: BLE001 — lark, json and pygeofilter errors alike
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise bad(_("Filtre CQL2 illisible : %(error)s") % {"error": first[:300]}) from None


class Compiler:
    """A pygeofilter AST as a condition tree over the queryables (name -> Column)."""

    def __init__(self, queryables, srid, latitude_first):
        self.queryables = queryables
        self.srid, self.latitude_first = srid, latitude_first
        self.depth = 0

    def property(self, node):
        if not isinstance(node, ast.Attribute):
            raise bad(_("Le membre gauche d'une comparaison doit être une propriété."))
        if node.name not in self.queryables:
            raise bad(_("Propriété inconnue dans le filtre : « %(name)s ». Propriétés "
                        "interrogeables : %(names)s.")
                      % {"name": node.name, "names": ", ".join(sorted(self.queryables))})
        return node.name

    def literal(self, value):
        # Values travel as untyped text literals: PostgreSQL converts them to the column's type
        # (and refuses what it cannot convert, checked by the count before any streaming).
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, str):
            return value
        if isinstance(value, (datetime.datetime, datetime.date)):
            return value.isoformat()
        if isinstance(value, values.Interval):
            raise bad(_("Un intervalle n'est accepté que par T_DURING et les opérateurs "
                        "voisins."))
        raise bad(_("Valeur non prise en charge dans le filtre : %(value)s")
                  % {"value": repr(value)[:250]})

    def geometry(self, node):
        if isinstance(node, values.Geometry):
            geometry = node.geometry
            if self.latitude_first:
                geometry = swap_axes(geometry)
            try:
                return storage_geometry(json.dumps(geometry), self.srid, kind="geojson")
            except ValueError:
                raise bad(_("Géométrie illisible dans le filtre.")) from None
        if isinstance(node, values.Envelope):
            box = (node.x1, node.y1, node.x2, node.y2)
        elif isinstance(node, ast.Function) and node.name.lower() == "bbox":
            box = tuple(node.arguments)
        else:
            raise bad(_("Un prédicat spatial compare la géométrie à une géométrie (WKT, "
                        "GeoJSON) ou à BBOX(…)."))
        if len(box) == 6:
            box = (box[0], box[1], box[3], box[4])
        if len(box) != 4 or not all(isinstance(v, (int, float)) for v in box):
            raise bad(_("BBOX attend quatre nombres."))
        if self.latitude_first:
            box = (box[1], box[0], box[3], box[2])
        try:
            return storage_area(box, self.srid)
        except ValueError:
            raise bad(_("Boîte illisible dans le filtre.")) from None

    def compile(self, node):
        self.depth += 1
        if self.depth > 200:
            raise bad(_("Filtre trop imbriqué."))
        try:
            return self._compile(node)
        finally:
            self.depth -= 1

    def _compile(self, node):
        if isinstance(node, ast.And):
            return All(self.compile(node.lhs), self.compile(node.rhs))
        if isinstance(node, ast.Or):
            return Any(self.compile(node.lhs), self.compile(node.rhs))
        if isinstance(node, ast.Not):
            return Not(self.compile(node.sub_node))
        if isinstance(node, ast.Include):
            return All()
        if type(node) in COMPARISONS:
            return self.comparison(node, COMPARISONS[type(node)])
        if isinstance(node, ast.Like):
            like = Like(self.property(node.lhs), node.pattern, case_sensitive=not node.nocase)
            return Not(like) if node.not_ else like
        if isinstance(node, ast.Between):
            between = Between(self.property(node.lhs), self.literal(node.low),
                              self.literal(node.high))
            return Not(between) if node.not_ else between
        if isinstance(node, ast.In):
            found = In(self.property(node.lhs), tuple(self.literal(v) for v in node.sub_nodes))
            return Not(found) if node.not_ else found
        if isinstance(node, ast.IsNull):
            null = IsNull(self.property(node.lhs))
            return Not(null) if node.not_ else null
        if type(node) in SPATIAL:
            return self.spatial(node, SPATIAL[type(node)])
        if isinstance(node, ast.TemporalPredicate):
            return self.temporal(node)
        raise bad(_("Opérateur non pris en charge : %(operator)s.")
                  % {"operator": type(node).__name__})

    def comparison(self, node, op):
        lhs, rhs = node.lhs, node.rhs
        # CASEI(p) = CASEI('x') and ACCENTI(...): pygeofilter writes lower() for CASEI.
        if isinstance(lhs, ast.Function) and lhs.name.lower() in ("lower", "casei", "accenti"):
            if op not in ("=", "<>") or len(lhs.arguments) != 1:
                raise bad(_("CASEI et ACCENTI ne s'emploient qu'avec = et <>."))
            value = rhs.arguments[0] if isinstance(rhs, ast.Function) and rhs.arguments else rhs
            pattern = str(self.literal(value)).replace("\\", "\\\\").replace("%", "\\%") \
                .replace("_", "\\_")
            accent = lhs.name.lower() == "accenti"
            like = Like(self.property(lhs.arguments[0]), pattern, case_sensitive=accent,
                        accent_insensitive=accent)
            return like if op == "=" else Not(like)
        if isinstance(lhs, ast.Attribute):
            return Compare(self.property(lhs), op, self.literal(rhs))
        if isinstance(rhs, ast.Attribute):  # 3 < pop
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return Compare(self.property(rhs), flipped, self.literal(lhs))
        raise bad(_("Une comparaison porte sur une propriété."))

    def spatial(self, node, op):
        lhs, rhs = node.lhs, node.rhs
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            op = {"within": "contains", "contains": "within"}.get(op, op)
        if not isinstance(lhs, ast.Attribute) or lhs.name != GEOMETRY_PROPERTY:
            raise bad(_("Un prédicat spatial porte sur la propriété « %(name)s ».")
                      % {"name": GEOMETRY_PROPERTY})
        return Spatial(op, self.geometry(rhs))

    def temporal(self, node):
        name = self.property(node.lhs)
        value = node.rhs
        if isinstance(value, values.Interval):
            start, end = self.literal(value.start), self.literal(value.end)
        else:
            start = end = self.literal(value)
        kind = type(node).__name__
        if kind == "TimeBefore":
            return Compare(name, "<", start)
        if kind == "TimeAfter":
            return Compare(name, ">", end)
        if kind == "TimeEquals":
            return Compare(name, "=", start) if start == end else All(
                Compare(name, "=", start), Compare(name, "=", end))
        if kind in ("TimeDuring", "TimeContains", "TimeOverlaps", "TimeOverlappedBy"):
            return All(Compare(name, ">", start), Compare(name, "<", end)) \
                if kind == "TimeDuring" else Between(name, start, end)
        if kind in ("TimeBegins", "TimeBegunBy"):
            return Compare(name, "=", start)
        if kind in ("TimeEnds", "TimeEndedBy"):
            return Compare(name, "=", end)
        if kind == "TimeDisjoint":
            return Any(Compare(name, "<", start), Compare(name, ">", end))
        if kind in ("TimeBeforeOrDuring",):
            return Compare(name, "<=", end)
        if kind in ("TimeDuringOrAfter",):
            return Compare(name, ">=", start)
        raise bad(_("Opérateur temporel non pris en charge : %(operator)s.") % {"operator": kind})


def swap_axes(geometry):
    """A GeoJSON geometry with its first two coordinates swapped (EPSG:4326 given lat, lon)."""
    def swap(coordinates):
        if coordinates and isinstance(coordinates[0], (int, float)):
            return [coordinates[1], coordinates[0], *coordinates[2:]]
        return [swap(item) for item in coordinates]
    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [swap_axes(g) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": swap(geometry["coordinates"])}


def compile_filter(text, language, queryables, srid=4326, latitude_first=False):
    """The condition tree of a CQL2 filter (ApiError 400 when unreadable or unsupported)."""
    return Compiler(queryables, srid, latitude_first).compile(parse(text, language))
