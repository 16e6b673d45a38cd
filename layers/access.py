"""The access policy: the one component that decides which layers, which rows, which columns
and which operations a user gets.

Every protocol (REST, exports, WMS, GetFeatureInfo, legends, WFS, WFS-T, tiles, MVT, sync, open
data, print, OGC API) asks it:

    policy = AccessPolicy.for_user(request.user)
    layers = policy.layers(Permission.VIEW)           # a Layer queryset, for listings
    source = policy.source("zones_activite", Permission.DOWNLOAD)  # or raises

and reads or writes features only through the returned FeatureSource (layers.features), which
builds every query on the layer's table with the rows (read filter, write filters), the columns
(readable, writable), the operations and the clipping decided here. A FeatureSource can only be
made here, so a protocol cannot reach a layer's rows without having asked.

Semantics (docs/guide-sig.md « Droits » explains them to GIS staff, docs/architecture.md to
developers):
- GIS administrators and superusers may do everything on every layer, without restriction.
- A rule (AccessRule) applies to a user when he is in its audience (the public, every
  authenticated user, members of communes, users with roles, named users, members of groups,
  administrators only) and today is within its validity dates.
- Operations (view, download, insert, update attributes, update geometry, delete) are decided
  separately. An ALLOW rule counts for an operation unless a DENY rule of equal or higher priority
  applying to the same user denies that operation or viewing (denying view denies everything).
- What a protocol asks: VIEW uses the rules counting for view, DOWNLOAD those counting for
  download, EDIT those counting for any write operation (each write then checks its own one).
  The rows are the union (OR) of those rules' read filters; a column is readable when one of
  them shows it, writable when a rule counting for insert or update attributes makes it
  read-write. Most permissive union of the allows, minus the denies.
- A rule's read filter is the AND of its parts: the user's commune (territory or INSEE code),
  an area (intersect: rows touching it, whole; clip: rows touching it, geometries cut to it), an
  attribute condition. Its write filter is its read filter AND its write parts (commune, area —
  the new geometry must lie inside it —, condition), checked before and after every change.
- Clip and intersect together: a row given by a rule that does not clip (no area, or intersect)
  is shown whole; a row given only by clipping rules is cut to the union of their areas.
- A rule restricted to the user's commune: members of the intercommunality (no commune) cover
  the whole territory; anonymous visitors have no commune, so such a rule gives them nothing.
- A layer the user may not view is reported as not found, never as forbidden, so its existence
  does not leak.
"""
import threading
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from .extents import Summary, stored_summary
from .features.columns import Column
from .features.query import Compare, ConditionCompiler, In, IsNull, Like, Not
from .features.source import _TOKEN, ALL_ROWS, NO_ROWS, Clip, FeatureSource, RowFilter
from .models import (AccessRule, AreaMode, Audience, ColumnAccess, Effect, Layer, Operation,
                     Permission, RowRestriction, RuleAudience)
from .sql import quote_ident


class LayerNotFound(Exception):
    """Unknown layer, or one the user may not view (indistinguishable on purpose)."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class AccessDenied(Exception):
    """The user may view the layer but not do what was asked (download, edit)."""

    def __init__(self, layer, permission):
        super().__init__(f"{layer.name}: {permission}")
        self.layer = layer
        self.permission = Permission(permission)


# What the policy hands out for a layer: the feature source (layers.features). The old name
# stays for the code that only reads its layer, permission and restriction.
Grant = FeatureSource
__all__ = ["ALL_ROWS", "NO_ROWS", "AccessDenied", "AccessPolicy", "FeatureSource", "Grant",
           "LayerNotFound", "LayerRights", "RowFilter", "quote_ident"]

WRITES = tuple(op.value for op in Operation.writes())
ALL_OPERATIONS = frozenset(op.value for op in Operation)
_ORDER = {ColumnAccess.HIDDEN: 0, ColumnAccess.READ: 1, ColumnAccess.WRITE: 2}


# --- facts about the rules, per catalogue version ---------------------------------------------
class _RuleFacts(threading.local):
    def __init__(self):
        self.version, self.facts = None, None


_facts_cache = _RuleFacts()


@dataclass(frozen=True)
class RuleFacts:
    named_users: frozenset       # ids of the users named by a rule
    groups: frozenset            # ids of the groups named by a rule
    boundaries: tuple            # validity dates (sorted): the rules in force change there
    members: dict                # user id -> ids of the groups named by rules he belongs to


def rule_facts(version=None):
    """What the audience keys need to know about all rules, read once per catalogue version
    (the counter bumped by every change to the rules: migrations wms 0001, layers 0009); the
    caller may give the version it has just read."""
    if version is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version FROM wms_catalogue_version WHERE id = 1")
            row = cursor.fetchone()
        version = row[0] if row else None
    if version is not None and version == _facts_cache.version:
        return _facts_cache.facts
    through_users = AccessRule.users.through.objects
    through_groups = AccessRule.groups.through.objects
    dates = set()
    for start, end in AccessRule.objects.filter(
            Q(valid_from__isnull=False) | Q(valid_until__isnull=False)
    ).values_list("valid_from", "valid_until"):
        if start:
            dates.add(start)
        if end:
            dates.add(end + timezone.timedelta(days=1))
    groups = frozenset(through_groups.values_list("group_id", flat=True))
    members = {}
    if groups:
        # Membership changes bump the catalogue version too (trigger on auth_user_groups,
        # migration layers 0010): read once per version, not per request.
        from django.contrib.auth import get_user_model
        for user_id, group_id in get_user_model().groups.through.objects.filter(
                group_id__in=groups).values_list("user_id", "group_id"):
            members.setdefault(user_id, set()).add(group_id)
    facts = RuleFacts(frozenset(through_users.values_list("user_id", flat=True)), groups,
                      tuple(sorted(dates)),
                      {user: frozenset(ids) for user, ids in members.items()})
    _facts_cache.version, _facts_cache.facts = version, facts
    return facts


class RuleFacet(NamedTuple):
    """What combining rules needs of one (listings)."""
    pk: int
    layer_id: int
    effect: str
    priority: int
    operations: list


class RuleView(NamedTuple):
    """What deciding operations, columns, rows and clipping needs of a rule (the rights screens:
    thousands of rules, read as tuples rather than models)."""
    pk: int
    layer_id: int
    effect: str
    priority: int
    operations: list
    columns: dict
    other_columns: str
    row_restriction: str
    read_condition: dict
    area: object
    area_mode: str


# --- one rule's filters as SQL ----------------------------------------------------------------
def _hex(geometry):
    return bytes(geometry.ewkb).hex()


def condition_node(condition):
    """A rule's structured condition as a node of the feature source's condition tree."""
    column, op, value = condition["column"], condition["op"], condition.get("value")
    if op == "in":
        return In(column, tuple(value))
    if op == "like":
        return Like(column, value)
    if op == "is_null":
        return IsNull(column)
    if op == "not_null":
        return Not(IsNull(column))
    return Compare(column, op, value)


@dataclass(frozen=True)
class LayerRights:
    """What a user gets on one layer, for the admin's rights screens (AccessPolicy.overview):
    the same decisions as AccessPolicy.source, without building the sources."""
    layer: Layer
    operations: frozenset       # Operation values
    readable: tuple             # names of the columns he may read (viewing)
    writable: tuple             # names of the columns he may write (editing)
    restricted: bool            # only some rows
    clipped: bool               # some geometries cut to an area


class AccessPolicy:
    def __init__(self, user):
        self.user = user
        self.authenticated = bool(user and user.is_authenticated and user.is_active)
        self.is_admin = self.authenticated and user.is_gis_admin
        self.commune_id = getattr(user, "commune_id", None) if self.authenticated else None
        self.role = getattr(user, "role", None) if self.authenticated else None
        self._groups = None

    @classmethod
    def for_user(cls, user):
        return cls(user)

    # --- who the user is, as far as rules are concerned --------------------------------------
    @property
    def user_id(self):
        return getattr(self.user, "pk", None) if self.authenticated else None

    def group_ids(self):
        if self._groups is None:
            explicit = getattr(self.user, "capgeo_group_ids", None)
            if not self.authenticated:
                self._groups = frozenset()
            elif explicit is not None:
                self._groups = frozenset(explicit)
            elif self.user_id is None:
                self._groups = frozenset()
            else:
                self._groups = frozenset(self.user.groups.values_list("pk", flat=True))
        return self._groups

    def audience_key(self, version=None):
        """Hashable: every fact about the user the rules may depend on. Two users with the same
        key get the same decisions on every layer (caches of decisions, capabilities and tiles
        are keyed by it): authenticated, administrator, commune, role, the user himself when a
        rule names him, his groups that rules name, and the rules in force today."""
        if not self.authenticated:
            facts = rule_facts(version)
            return ("anonymous", self._epoch(facts))
        if self.is_admin:
            return ("admin",)
        facts = rule_facts(version)
        named = self.user_id if self.user_id in facts.named_users else None
        explicit = getattr(self.user, "capgeo_group_ids", None)
        if explicit is not None or self.user_id is None:
            groups = tuple(sorted(self.group_ids() & facts.groups)) if facts.groups else ()
        else:
            groups = tuple(sorted(facts.members.get(self.user_id, ())))
        return (self.commune_id, self.role, named, groups, self._epoch(facts))

    @staticmethod
    def _epoch(facts):
        today = timezone.localdate()
        return sum(1 for day in facts.boundaries if day <= today)

    # --- rules that apply to this user ---------------------------------------------------
    def audience_q(self):
        """The audiences this user belongs to, as a filter on any model with the audience fields
        (audience, roles, communes): access rules, and what is shared like them (saved maps)."""
        q = Q(audience=Audience.PUBLIC)
        if not self.authenticated:
            return q
        q |= Q(audience=Audience.AUTHENTICATED)
        q |= Q(audience=Audience.ROLES, roles__contains=[self.role])
        if self.commune_id:
            q |= Q(audience=Audience.COMMUNES, communes=self.commune_id)
        return q

    def _rule_q(self):
        q = self.audience_q()
        if self.authenticated:
            if self.user_id is not None:
                q |= Q(audience=RuleAudience.USERS, users=self.user_id)
            groups = self.group_ids()
            if groups:
                q |= Q(audience=RuleAudience.GROUPS, groups__in=list(groups))
        else:
            # Anonymous visitors have no commune: a commune-restricted rule gives them nothing.
            q &= Q(row_restriction=RowRestriction.NONE)
        today = timezone.localdate()
        q &= Q(valid_from__isnull=True) | Q(valid_from__lte=today)
        q &= Q(valid_until__isnull=True) | Q(valid_until__gte=today)
        return q

    def rules(self, layer=None):
        """The rules in force for this user (on one layer), allows and denies."""
        queryset = AccessRule.objects.filter(self._rule_q())
        if layer is not None:
            queryset = queryset.filter(layer=layer)
        return list(queryset.distinct().order_by("-priority", "pk"))

    @staticmethod
    def counted(rules, operation):
        """The ALLOW rules that count for an operation: not beaten by a DENY of it (or of
        viewing) with equal or higher priority."""
        denies = [r for r in rules if r.effect == Effect.DENY
                  and (operation in r.operations or Operation.VIEW in r.operations)]
        return [r for r in rules if r.effect == Effect.ALLOW and operation in r.operations
                and not any(d.priority >= r.priority for d in denies)]

    def operations(self, layer, rules=None):
        """The operations the user holds on a layer."""
        if self.is_admin:
            return set(ALL_OPERATIONS)
        rules = self.rules(layer) if rules is None else rules
        if not self.counted(rules, Operation.VIEW):
            return set()
        return {op for op in ALL_OPERATIONS if self.counted(rules, op)}

    def _rules_for(self, rules, permission):
        if permission == Permission.VIEW:
            return self.counted(rules, Operation.VIEW)
        if permission == Permission.DOWNLOAD:
            return self.counted(rules, Operation.DOWNLOAD)
        found = {}
        for op in WRITES:
            for rule in self.counted(rules, op):
                found[rule.pk] = rule
        return list(found.values())

    # --- listings ----------------------------------------------------------------------------
    def layers(self, permission=Permission.VIEW) -> QuerySet:
        """The layers this user may use with that permission."""
        queryset = Layer.objects.all()
        if self.is_admin:
            return queryset
        permission = Permission(permission)
        by_layer = {}
        # Only what the combination needs, as light tuples (thousands of rules: no models).
        for values in (AccessRule.objects.filter(self._rule_q()).distinct()
                       .values_list("pk", "layer_id", "effect", "priority", "operations")):
            rule = RuleFacet(*values)
            by_layer.setdefault(rule.layer_id, []).append(rule)
        allowed = [pk for pk, rules in by_layer.items()
                   if self.counted(rules, Operation.VIEW) and self._rules_for(rules, permission)]
        return queryset.filter(pk__in=allowed)

    def permissions(self, layer):
        """The set of permissions the user holds on a layer (for display and capabilities)."""
        if self.is_admin:
            return set(Permission)
        held = self.operations(layer)
        levels = set()
        if Operation.VIEW in held:
            levels.add(Permission.VIEW)
        if Operation.DOWNLOAD in held:
            levels.add(Permission.DOWNLOAD)
        if held & set(WRITES):
            levels.add(Permission.EDIT)
        return levels

    def readable_columns(self, layer):
        """The names of the columns this user may read in the layer (viewing)."""
        if self.is_admin:
            return {a["name"] for a in (layer.attributes or [])}
        rules = self.rules(layer)
        chosen = self.counted(rules, Operation.VIEW)
        return {c.name for c in self._columns(layer, chosen) if c.readable}

    def overview(self, layers=None):
        """[LayerRights] of every layer this user may view (of `layers`, a Layer queryset, when
        given), by name: the rights screens (« Ce que voit un utilisateur », the REST
        /api/rules/effective/). Set-based: two queries whatever the number of layers — the rules
        in force for him on all layers at once, then the layers —, combined by the same methods
        as source() (operations, columns, read filters, clipping); no query on the layers'
        tables (counting his rows is source(...).summary(), asked per layer)."""
        queryset = (Layer.objects.all() if layers is None else layers).select_related(None) \
            .only("pk", "name", "title", "attributes", "insee_field", "kind", "feature_count")
        if self.is_admin:
            return [LayerRights(layer, ALL_OPERATIONS,
                                tuple(a["name"] for a in layer.attributes or []),
                                tuple(a["name"] for a in layer.attributes or []), False, False)
                    for layer in queryset.order_by("name")]
        in_force = AccessRule.objects.filter(self._rule_q()).values("pk")
        by_layer = {}
        for values in (AccessRule.objects.filter(pk__in=in_force).order_by("-priority", "pk")
                       .values_list(*RuleView._fields)):
            rule = RuleView(*values)
            by_layer.setdefault(rule.layer_id, []).append(rule)
        answer = []
        for layer in queryset.filter(pk__in=list(by_layer)).order_by("name"):
            rules = by_layer[layer.pk]
            viewing = self.counted(rules, Operation.VIEW)
            if not viewing:
                continue
            operations = frozenset(self.operations(layer, rules))
            readable = tuple(c.name for c in self._columns(layer, viewing) if c.readable)
            writable = ()
            if operations & set(WRITES):
                writable = tuple(c.name for c in self._columns(
                    layer, self._rules_for(rules, Permission.EDIT), rules) if c.writable)
            rows = self._union([self._read_filter(layer, r) for r in viewing])
            answer.append(LayerRights(layer, operations, readable, writable,
                                      not rows.is_unrestricted, bool(self._clipping(viewing))))
        return answer

    # --- a single layer ----------------------------------------------------------------------
    def summary(self, layer):
        """The Summary (count, extents) of a layer this user may see: the layer's own when his
        rows are all of them, else the count and extent of his rows only (whatever restricts
        them: commune, area, attribute condition), and an empty one for a layer he cannot view."""
        if not layer.is_vector or self.is_admin:
            return stored_summary(layer)
        try:
            source = self.source(layer, Permission.VIEW)
        except (LayerNotFound, AccessDenied):
            return Summary(0, {})
        return source.summary()

    def source(self, layer, permission=Permission.VIEW):
        """The FeatureSource of the layer (a Layer or its name) for this user and permission —
        its rows, columns, operations — or LayerNotFound / AccessDenied."""
        permission = Permission(permission)
        if not isinstance(layer, Layer):
            name = layer
            try:
                layer = Layer.objects.select_related("theme").get(name=name)
            except Layer.DoesNotExist:
                raise LayerNotFound(name) from None
        if self.is_admin:
            columns = tuple(Column(a["name"], a.get("type", ""), True,
                                   permission == Permission.EDIT)
                            for a in (layer.attributes or []))
            writes = tuple((op, ALL_ROWS) for op in WRITES) if permission == Permission.EDIT \
                else ()
            return self._make(layer, permission, ALL_ROWS, columns, ALL_OPERATIONS, writes, None)
        rules = self.rules(layer)
        if not self.counted(rules, Operation.VIEW):
            raise LayerNotFound(layer.name)
        chosen = self._rules_for(rules, permission)
        if not chosen:
            raise AccessDenied(layer, permission)
        operations = frozenset(self.operations(layer, rules))
        rows = self._union([self._read_filter(layer, r) for r in chosen])
        columns = self._columns(layer, chosen, rules if permission == Permission.EDIT else None)
        writes = ()
        if permission == Permission.EDIT:
            writes = tuple((op, self._union([self._write_filter(layer, r)
                                             for r in self.counted(rules, op)]))
                           for op in WRITES if op in operations)
        return self._make(layer, permission, rows, columns, operations, writes,
                          self._clip(layer, chosen))

    # The name of the first version (a Grant): same object.
    grant = source

    def _make(self, layer, permission, rows, columns, operations, writes, clip):
        write_rows = self._union([f for _, f in writes]) if writes else None
        return FeatureSource(layer, permission, rows, columns, self.user, write_rows,
                             frozenset(operations), writes, clip, _TOKEN)

    def rebind(self, source):
        """The same decision for this policy's user (a source cached for his audience by a
        per-worker cache, maps.decisions): the rows and columns of the cached one, this user
        recorded as the author of what he writes."""
        if not isinstance(source, FeatureSource):
            raise TypeError("rebind takes a FeatureSource")
        if source.user is self.user:
            return source
        return FeatureSource(source.layer, source.permission, source.rows, source.columns,
                             self.user, source.write_rows, source.operations,
                             source.write_filters, source.clip, _TOKEN)

    # --- columns -------------------------------------------------------------------------------
    @staticmethod
    def _rule_column(rule, name):
        if not rule.columns:
            writes = {Operation.INSERT, Operation.UPDATE_ATTRIBUTES} & set(rule.operations)
            return ColumnAccess.WRITE if writes else ColumnAccess.READ
        return rule.columns.get(name, rule.other_columns)

    def _columns(self, layer, chosen, rules=None):
        writers = []
        if rules is not None:
            seen = set()
            for op in (Operation.INSERT, Operation.UPDATE_ATTRIBUTES):
                for rule in self.counted(rules, op):
                    if rule.pk not in seen:
                        seen.add(rule.pk)
                        writers.append(rule)
        columns = []
        for attribute in layer.attributes or []:
            name = attribute["name"]
            readable = any(_ORDER[self._rule_column(r, name)] >= 1 for r in chosen)
            writable = readable and any(self._rule_column(r, name) == ColumnAccess.WRITE
                                        for r in writers)
            columns.append(Column(name, attribute.get("type", ""), readable, writable))
        return tuple(columns)

    # --- rows ----------------------------------------------------------------------------------
    @staticmethod
    def _union(filters):
        filters = [f for f in filters if f.sql != "FALSE"]
        if not filters:
            return NO_ROWS
        if any(f.is_unrestricted for f in filters):
            return ALL_ROWS
        unique = list(dict.fromkeys(filters))
        if len(unique) == 1:
            return unique[0]
        return RowFilter("(" + " OR ".join(f"({f.sql})" for f in unique) + ")",
                         tuple(p for f in unique for p in f.params))

    @staticmethod
    def _intersection(filters):
        filters = [f for f in filters if not f.is_unrestricted]
        if not filters:
            return ALL_ROWS
        if any(f.sql == "FALSE" for f in filters):
            return NO_ROWS
        if len(filters) == 1:
            return filters[0]
        return RowFilter(" AND ".join(f"({f.sql})" for f in filters),
                         tuple(p for f in filters for p in f.params))

    def _commune_filter(self, layer, restriction):
        if restriction == RowRestriction.NONE:
            return ALL_ROWS
        if self.commune_id is None:
            # Members of the intercommunality cover its whole territory.
            return ALL_ROWS if self.authenticated else NO_ROWS
        if restriction == RowRestriction.COMMUNE_TERRITORY:
            return RowFilter("ST_Intersects(t.geom, (SELECT c.geom FROM territory_commune c "
                             "WHERE c.id = %s))", (self.commune_id,))
        if restriction == RowRestriction.COMMUNE_INSEE and layer.insee_field:
            column = quote_ident(layer.insee_field)
            return RowFilter(f"t.{column}::text = (SELECT c.insee FROM territory_commune c "
                             "WHERE c.id = %s)", (self.commune_id,))
        return NO_ROWS

    @staticmethod
    def _condition_filter(layer, condition):
        if not condition:
            return ALL_ROWS
        columns = [Column(a["name"], a.get("type", ""), True, False)
                   for a in (layer.attributes or [])]
        try:
            sql, params = ConditionCompiler(columns).compile(condition_node(condition))
        except (ValueError, TypeError, KeyError):
            return NO_ROWS  # a condition on a column the layer no longer has: nothing (closed)
        return RowFilter(sql, tuple(params))

    def _read_filter(self, layer, rule):
        parts = [self._commune_filter(layer, rule.row_restriction),
                 self._condition_filter(layer, rule.read_condition)]
        if rule.area is not None:
            parts.append(RowFilter("ST_Intersects(t.geom, %s::geometry)", (_hex(rule.area),)))
        return self._intersection(parts)

    def _write_filter(self, layer, rule):
        parts = [self._read_filter(layer, rule),
                 self._commune_filter(layer, rule.write_restriction),
                 self._condition_filter(layer, rule.write_condition)]
        if rule.write_area is not None:
            parts.append(RowFilter("ST_CoveredBy(t.geom, %s::geometry)",
                                   (_hex(rule.write_area),)))
        return self._intersection(parts)

    @staticmethod
    def _clipping(chosen):
        """The rules that cut geometries to their area."""
        return [r for r in chosen if r.area is not None and r.area_mode == AreaMode.CLIP]

    def _clip(self, layer, chosen):
        clipping = self._clipping(chosen)
        if not clipping:
            return None
        whole = self._union([self._read_filter(layer, r) for r in chosen if r not in clipping])
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_AsEWKB(ST_Multi(ST_Union(g))) FROM unnest(%s::geometry[]) g",
                           [[_hex(r.area) for r in clipping]])
            area = bytes(cursor.fetchone()[0]).hex()
        return Clip(whole, area)
