"""The access policy: the one component that decides which layers, which rows and which columns
a user may see, download or edit.

Every protocol (REST, exports, WMS, GetFeatureInfo, legends, WFS, tiles, MVT, sync) asks it:

    policy = AccessPolicy.for_user(request.user)
    layers = policy.layers(Permission.VIEW)           # a Layer queryset, for listings
    source = policy.source("zones_activite", Permission.DOWNLOAD)  # or raises

and reads or writes features only through the returned FeatureSource (layers.features), which
builds every query on the layer's table with the rows (read filter, write filter) and columns
decided here. A FeatureSource can only be made here, so a protocol cannot reach a layer's rows
without having asked. (``grant`` is the earlier name of ``source``.)

Semantics (docs/guide-sig.md explains them to GIS staff):
- GIS administrators and superusers may do everything on every layer, without row restriction.
- A rule grants a permission (view < download < edit: each includes the previous ones) to an
  audience: the anonymous public, every authenticated user, the members of given communes, the
  users having given roles, or administrators only.
- A rule may restrict rows to the user's commune: features intersecting the commune's territory,
  or whose INSEE attribute equals the commune's code. Members of the intercommunality (no commune)
  cover the whole territory and are not restricted; anonymous visitors have no commune, so a
  restricted rule grants them nothing.
- Several matching rules add up: one unrestricted rule lifts every restriction.
- A layer the user may not view is reported as not found, never as forbidden, so its existence
  does not leak.
"""
from django.db.models import Exists, OuterRef, Q, QuerySet

from .features.columns import layer_columns
from .features.source import _TOKEN, ALL_ROWS, NO_ROWS, FeatureSource, RowFilter
from .models import AccessRule, Audience, Layer, Permission, RowRestriction
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
           "LayerNotFound", "RowFilter", "quote_ident"]


class AccessPolicy:
    def __init__(self, user):
        self.user = user
        self.authenticated = bool(user and user.is_authenticated and user.is_active)
        self.is_admin = self.authenticated and user.is_gis_admin
        self.commune_id = getattr(user, "commune_id", None) if self.authenticated else None
        self.role = getattr(user, "role", None) if self.authenticated else None

    @classmethod
    def for_user(cls, user):
        return cls(user)

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

    def _audience_q(self):
        if not self.authenticated:
            # Anonymous visitors have no commune: a commune-restricted rule gives them nothing.
            return self.audience_q() & Q(row_restriction=RowRestriction.NONE)
        return self.audience_q()

    def _rules(self, permission):
        return AccessRule.objects.filter(
            self._audience_q(), permission__in=Permission.levels_granting(permission)
        )

    # --- listings ----------------------------------------------------------------------------
    def layers(self, permission=Permission.VIEW) -> QuerySet:
        """The layers this user may use with that permission."""
        queryset = Layer.objects.all()
        if self.is_admin:
            return queryset
        return queryset.filter(Exists(self._rules(permission).filter(layer=OuterRef("pk"))))

    def permissions(self, layer):
        """The set of permissions the user holds on a layer (for display and capabilities)."""
        if self.is_admin:
            return set(Permission)
        granted = set(
            self._rules(Permission.VIEW).filter(layer=layer).values_list("permission", flat=True)
        )
        held = set()
        for level in (Permission.VIEW, Permission.DOWNLOAD, Permission.EDIT):
            if any(p in granted for p in Permission.levels_granting(level)):
                held.add(level)
        return held

    # --- a single layer ----------------------------------------------------------------------
    def source(self, layer, permission=Permission.VIEW):
        """The FeatureSource of the layer (a Layer or its name) for this user and permission —
        its rows and columns — or LayerNotFound / AccessDenied."""
        permission = Permission(permission)
        if not isinstance(layer, Layer):
            name = layer
            try:
                layer = Layer.objects.select_related("theme").get(name=name)
            except Layer.DoesNotExist:
                raise LayerNotFound(name) from None
        if self.is_admin:
            return self._make(layer, permission, ALL_ROWS)
        rules = list(self._rules(Permission.VIEW).filter(layer=layer))
        if not rules:
            raise LayerNotFound(layer.name)
        matching = [r for r in rules if r.permission in Permission.levels_granting(permission)]
        if not matching:
            raise AccessDenied(layer, permission)
        return self._make(layer, permission, self._row_filter(layer, matching))

    # The name of the first version (a Grant): same object.
    grant = source

    def _make(self, layer, permission, rows, write_rows=None):
        # Columns: every attribute readable; writable with the EDIT permission. A rule kind
        # hiding columns or making them read-only returns other Column values here.
        columns = layer_columns(layer, writable=permission == Permission.EDIT)
        return FeatureSource(layer, permission, rows, columns, self.user, write_rows, _TOKEN)

    def rebind(self, source):
        """The same decision for this policy's user (a source cached for his audience by a
        per-worker cache, maps.decisions): the rows and columns of the cached one, this user
        recorded as the author of what he writes."""
        if not isinstance(source, FeatureSource):
            raise TypeError("rebind takes a FeatureSource")
        if source.user is self.user:
            return source
        return FeatureSource(source.layer, source.permission, source.rows, source.columns,
                             self.user, source.write_rows, _TOKEN)

    def _row_filter(self, layer, rules):
        if any(rule.row_restriction == RowRestriction.NONE for rule in rules):
            return ALL_ROWS
        if self.commune_id is None:
            # Members of the intercommunality cover its whole territory.
            return ALL_ROWS if self.authenticated else NO_ROWS
        clauses, params = [], []
        kinds = {rule.row_restriction for rule in rules}
        if RowRestriction.COMMUNE_TERRITORY in kinds:
            clauses.append(
                "ST_Intersects(t.geom, (SELECT c.geom FROM territory_commune c WHERE c.id = %s))"
            )
            params.append(self.commune_id)
        if RowRestriction.COMMUNE_INSEE in kinds and layer.insee_field:
            column = quote_ident(layer.insee_field)
            clauses.append(
                f"t.{column}::text = (SELECT c.insee FROM territory_commune c WHERE c.id = %s)"
            )
            params.append(self.commune_id)
        if not clauses:
            return NO_ROWS
        return RowFilter("(" + " OR ".join(clauses) + ")", tuple(params))

