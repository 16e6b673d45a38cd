"""Access rules over REST (/api/rules/), for GIS administrators only: the same rules as the
layer's admin page (layers.models.AccessRule, combined by layers.access), as JSON.

    GET /api/rules/?layer=zones_activite        the rules of a layer
    POST /api/rules/                            {"layer": "zones_activite", "audience": "roles",
                                                 "roles": ["municipal_agent"],
                                                 "operations": ["view", "update_attributes"],
                                                 "columns": {"nom": "write", "code_insee": "read"},
                                                 "write_restriction": "commune_insee"}
    GET|PUT|PATCH|DELETE /api/rules/{id}/
    GET /api/rules/effective?user=agent.guerande  what a user gets, per layer (same code as the
                                                 protocols: AccessPolicy.overview)

Areas are GeoJSON (Multi)Polygons in WGS 84; conditions {"column", "op", "value"} on a column of
the layer (never SQL). Every change bumps the catalogue version (database triggers): caches,
capabilities and tiles follow on the next request.
"""
import json

from django.contrib.auth.models import Group
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (OpenApiParameter, extend_schema, extend_schema_field,
                                   extend_schema_view)
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.models import User
from territory.models import Commune

from ..access import AccessPolicy
from ..models import AccessRule, Layer

TAG = "Droits"


class GisAdminsOnly(permissions.BasePermission):
    message = gettext_lazy("Seuls les administrateurs SIG gèrent les droits.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_gis_admin)


@extend_schema_field({"type": "object", "nullable": True,
                      "description": "Polygone ou multipolygone GeoJSON en WGS 84."})
class AreaField(serializers.Field):
    """A (Multi)Polygon as a GeoJSON geometry in WGS 84; stored in Lambert-93."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, required=False, **kwargs)

    def to_representation(self, value):
        return json.loads(value.transform(4326, clone=True).geojson) if value else None

    def to_internal_value(self, data):
        try:
            geometry = GEOSGeometry(json.dumps(data), srid=4326)
        except (GEOSException, ValueError, TypeError):
            raise serializers.ValidationError(_("Géométrie GeoJSON illisible.")) from None
        if geometry.geom_type == "Polygon":
            geometry = MultiPolygon(geometry, srid=4326)
        if geometry.geom_type != "MultiPolygon" or not geometry.valid:
            raise serializers.ValidationError(_("Un polygone ou multipolygone valide est attendu "
                                                "(GeoJSON, WGS 84)."))
        return geometry.transform(2154, clone=True)


class NamedRelated(serializers.SlugRelatedField):
    pass


class AccessRuleSerializer(serializers.ModelSerializer):
    layer = serializers.SlugRelatedField(slug_field="name", queryset=Layer.objects.all())
    communes = NamedRelated(slug_field="insee", many=True, required=False,
                            queryset=Commune.objects.all())
    users = NamedRelated(slug_field="username", many=True, required=False,
                         queryset=User.objects.all())
    groups = NamedRelated(slug_field="name", many=True, required=False,
                          queryset=Group.objects.all())
    area = AreaField()
    write_area = AreaField()

    class Meta:
        model = AccessRule
        fields = ["id", "layer", "description", "effect", "priority", "audience", "communes",
                  "roles", "users", "groups", "permission", "operations", "columns",
                  "other_columns", "row_restriction", "area", "area_mode", "read_condition",
                  "write_restriction", "write_area", "write_condition", "valid_from",
                  "valid_until"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        related = {name: attrs.pop(name) for name in ("communes", "users", "groups")
                   if name in attrs}
        instance = self.instance or AccessRule()
        for name, value in attrs.items():
            setattr(instance, name, value)
        audience = attrs.get("audience", instance.audience)
        needed = {"communes": "communes", "users": "users", "groups": "groups"}.get(audience)
        if needed and not related.get(needed, list(getattr(instance, needed).all())
                                      if instance.pk else []):
            raise serializers.ValidationError({needed: _("Au moins un élément est demandé pour "
                                                         "cette audience.")})
        try:
            instance.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages) from None
        attrs.update(related)
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        return super().create(validated_data)

    @transaction.atomic
    def update(self, instance, validated_data):
        return super().update(instance, validated_data)


class EffectiveRightsSerializer(serializers.Serializer):
    layer = serializers.CharField()
    operations = serializers.ListField(child=serializers.CharField())
    readable_columns = serializers.ListField(child=serializers.CharField())
    writable_columns = serializers.ListField(child=serializers.CharField())
    rows_restricted = serializers.BooleanField()
    clipped = serializers.BooleanField()


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Règles d'accès (administrateurs SIG)", parameters=[
        OpenApiParameter("layer", str, description="Nom technique d'une couche.")]),
    retrieve=extend_schema(tags=[TAG], summary="Une règle d'accès"),
    create=extend_schema(tags=[TAG], summary="Créer une règle d'accès"),
    update=extend_schema(tags=[TAG], summary="Remplacer une règle d'accès"),
    partial_update=extend_schema(tags=[TAG], summary="Modifier une règle d'accès"),
    destroy=extend_schema(tags=[TAG], summary="Supprimer une règle d'accès"),
)
class AccessRuleViewSet(viewsets.ModelViewSet):
    serializer_class = AccessRuleSerializer
    permission_classes = [GisAdminsOnly]

    def get_queryset(self):
        queryset = (AccessRule.objects.select_related("layer")
                    .prefetch_related("communes", "users", "groups").order_by("layer__name",
                                                                               "-priority", "pk"))
        layer = self.request.query_params.get("layer")
        if layer:
            queryset = queryset.filter(layer__name=layer)
        return queryset

    @extend_schema(tags=[TAG], summary="Ce que voit un utilisateur, couche par couche",
                   parameters=[OpenApiParameter("user", str, required=True,
                                                description="Identifiant de l'utilisateur.")],
                   responses={200: EffectiveRightsSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def effective(self, request):
        username = request.query_params.get("user", "")
        target = User.objects.filter(username=username).first()
        if target is None:
            raise NotFound(_("Utilisateur « %(name)s » introuvable.") % {"name": username[:150]})
        answer = [{"layer": rights.layer.name, "operations": sorted(rights.operations),
                   "readable_columns": list(rights.readable),
                   "writable_columns": list(rights.writable),
                   "rows_restricted": rights.restricted, "clipped": rights.clipped}
                  for rights in AccessPolicy.for_user(target).overview()]
        return Response(EffectiveRightsSerializer(answer, many=True).data)
