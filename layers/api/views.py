"""The catalogue's REST API: layers (/api/layers/) and their features and exports.

Everything starts from the access policy. The list is ``policy.layers(VIEW)``; a layer the user
may not view is a 404 (never a 403: its existence does not leak); a page of features needs VIEW,
an export (f=geojson|csv|gpkg|shp) needs DOWNLOAD (403 otherwise); rows and columns always come
from the user's FeatureSource (layers.features).
Only GIS administrators create, change or delete layers.
"""
import os
import tempfile

from django.contrib.gis.geos import Polygon
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema,
                                   extend_schema_view, inline_serializer)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import AccessDenied, AccessPolicy, LayerNotFound
from ..features import All, In, InvalidFilterValue, storage_area
from ..models import Permission, Theme
from ..search import search_layers
from . import encoders
from .params import FORMATS, BadParameter, default_limit, max_limit, parse_bbox, parse_feature_params
from .serializers import (ImportJobSerializer, LayerCreateSerializer, LayerMetadataSerializer,
                          LayerSerializer)

TAG = "Catalogue"
ERROR = inline_serializer("ApiError", {
    "detail": serializers.CharField(),
    "parameter": serializers.CharField(required=False, help_text="Paramètre en cause."),
})


def granted(policy, layer, permission):
    """policy.source, with its refusals as REST errors (404 invisible, 403 not allowed)."""
    try:
        return policy.source(layer, permission)
    except LayerNotFound:
        raise NotFound(_("Couche « %(name)s » introuvable.") % {"name": getattr(layer, "name", layer)}) \
            from None
    except AccessDenied as denied:
        if denied.permission == Permission.DOWNLOAD:
            message = _("Vous pouvez consulter la couche « %(name)s » mais pas la télécharger.")
        else:
            message = _("Vous n'avez pas le droit de modifier la couche « %(name)s ».")
        raise PermissionDenied(message % {"name": denied.layer.name}) from None


class GisAdminWrites(permissions.BasePermission):
    """Anyone may read (the policy then filters); only GIS administrators write."""
    message = gettext_lazy("Seuls les administrateurs SIG peuvent modifier le catalogue.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_gis_admin)


class CataloguePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Recherche plein texte (titre, résumé, mots-clés, "
                     "thème, nom technique), en français, sans accents obligatoires."),
    OpenApiParameter("theme", str, description="Identifiant (slug) du thème."),
    OpenApiParameter("bbox", str, description="Emprise « ouest,sud,est,nord » en degrés (EPSG:4326) "
                     "qui doit croiser l'emprise de la couche.", examples=[
                         OpenApiExample("Guérande", value="-2.5,47.28,-2.35,47.38")]),
]


@extend_schema_view(
    list=extend_schema(tags=[TAG], summary="Couches visibles", parameters=LIST_PARAMETERS,
                       responses={200: LayerSerializer(many=True), 400: ERROR}),
    retrieve=extend_schema(tags=[TAG], summary="Fiche d'une couche",
                           responses={200: LayerSerializer, 404: ERROR}),
    create=extend_schema(
        tags=[TAG], summary="Publier une nouvelle couche (administrateurs SIG)",
        description="Envoie un fichier ; l'import se fait en arrière-plan (réponse 202 avec la tâche "
                    "d'import). Les autres métadonnées se renseignent ensuite par PATCH.",
        request={"multipart/form-data": LayerCreateSerializer},
        responses={202: ImportJobSerializer, 400: ERROR, 403: ERROR}),
    update=extend_schema(tags=[TAG], summary="Remplacer les métadonnées (administrateurs SIG)",
                         request=LayerMetadataSerializer,
                         responses={200: LayerSerializer, 400: ERROR, 403: ERROR, 404: ERROR}),
    partial_update=extend_schema(tags=[TAG], summary="Modifier des métadonnées (administrateurs SIG)",
                                 request=LayerMetadataSerializer,
                                 responses={200: LayerSerializer, 400: ERROR, 403: ERROR, 404: ERROR}),
    destroy=extend_schema(tags=[TAG], summary="Supprimer une couche et ses tables (administrateurs SIG)",
                          responses={204: None, 403: ERROR, 404: ERROR}),
)
class LayerViewSet(viewsets.GenericViewSet):
    serializer_class = LayerSerializer
    permission_classes = [GisAdminWrites]
    pagination_class = CataloguePagination
    lookup_field = "name"
    lookup_value_regex = r"[a-z][a-z0-9_]{0,47}"

    def get_policy(self):
        if not hasattr(self, "_policy"):
            self._policy = AccessPolicy.for_user(self.request.user)
        return self._policy

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "policy": self.get_policy()}

    def get_queryset(self):
        return (self.get_policy().layers(Permission.VIEW)
                .select_related("theme", "owner_commune", "remote_layer"))

    def get_object(self):
        return granted(self.get_policy(), self.kwargs["name"], Permission.VIEW).layer

    def filter_queryset(self, queryset):
        query = self.request.query_params
        theme = query.get("theme", "").strip()
        if theme:
            if not Theme.objects.filter(slug=theme).exists():
                raise BadParameter("theme", _("Thème inconnu : « %(value)s ». Thèmes : %(themes)s.") % {
                    "value": theme,
                    "themes": ", ".join(Theme.objects.values_list("slug", flat=True))})
            queryset = queryset.filter(theme__slug=theme)
        if query.get("bbox", "").strip():
            bbox = Polygon.from_bbox(parse_bbox(query["bbox"], 4326))
            bbox.srid = 4326
            # The WGS 84 extents are measured on the data (layers.extents), overseas rows too.
            queryset = queryset.filter(extent_wgs84__intersects=bbox)
        text = query.get("q", "").strip()
        if "\x00" in text:
            raise BadParameter("q", _("Le texte recherché contient un caractère nul."))
        if text:
            return search_layers(queryset, text[:200]).order_by("-search_rank", "title", "name")
        return queryset.order_by("theme__order", "title", "name")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, name=None):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        from ..jobs import submit_import
        from ..publishing import PublishError

        incoming = LayerCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        values = incoming.validated_data
        path, remove = _local_copy(values["file"])
        try:
            job = submit_import(
                user=request.user, uploaded_path=path, source_name=values["file"].name,
                layer_name=values["name"], title=values.get("title") or None,
                theme=values.get("theme"), srs=values.get("srs") or None,
                source_layer=values.get("source_layer") or None, mode="create",
            )
        except PublishError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        finally:
            if remove:
                os.unlink(path)
        body = ImportJobSerializer(job, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})

    def update(self, request, name=None, partial=False):
        layer = self.get_object()
        incoming = LayerMetadataSerializer(layer, data=request.data, partial=partial)
        incoming.is_valid(raise_exception=True)
        incoming.save()
        layer.refresh_from_db()
        return Response(self.get_serializer(layer).data)

    def partial_update(self, request, name=None):
        return self.update(request, name, partial=True)

    def destroy(self, request, name=None):
        layer = self.get_object()
        with transaction.atomic():
            # layers.signals drops the live table and its archives in the same transaction.
            layer.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _local_copy(uploaded):
    """A path to the upload: Django's own temporary file, or one written in chunks."""
    if hasattr(uploaded, "temporary_file_path"):
        return uploaded.temporary_file_path(), False
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=os.path.splitext(uploaded.name)[1])
    with handle:
        for chunk in uploaded.chunks():
            handle.write(chunk)
    return handle.name, True


class FirstRendererNegotiation(BaseContentNegotiation):
    """Features answer in their own formats (chosen by `f`): ignore Accept and ?format=, so
    that an attribute named "format" stays a filter and no client gets a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


FEATURE_PARAMETERS = [
    OpenApiParameter("f", str, enum=list(FORMATS), description=(
        "Export de toute la couche (ou de la partie filtrée) : geojson, csv, gpkg ou shp "
        "(Shapefile zippé : .shp, .shx, .dbf, .prj, .cpg UTF-8 et LISEZMOI.txt ; noms de champs "
        "raccourcis à 10 caractères, listés dans LISEZMOI.txt et l'en-tête X-Capgeo-Warning) ; il "
        "demande le droit de téléchargement. Absent : une page GeoJSON (droit de consultation).")),
    OpenApiParameter("limit", int, description=(
        f"Nombre d'objets de la page (défaut {default_limit()}, au plus {max_limit()} ; au-delà : "
        "erreur 400). Pour un export : aucune limite sauf si elle est donnée.")),
    OpenApiParameter("offset", int, description="Nombre d'objets sautés (ordre stable par fid)."),
    OpenApiParameter("bbox", str, description=(
        "Objets qui croisent l'emprise « minx,miny,maxx,maxy », exprimée dans bbox-crs."),
        examples=[OpenApiExample("Guérande (degrés)", value="-2.5,47.28,-2.35,47.38")]),
    OpenApiParameter("bbox-crs", str, enum=["4326", "2154", "3857"], description=(
        "Système de l'emprise (défaut 4326 ; EPSG:n, URI OGC et CRS84 acceptés).")),
    OpenApiParameter("crs", str, enum=["4326", "2154", "3857"], description=(
        "Système des coordonnées en sortie : défaut 4326 pour GeoJSON (RFC 7946), 2154 "
        "(Lambert-93) pour CSV, GeoPackage et Shapefile. Rappelé par l'en-tête Content-Crs.")),
    OpenApiParameter("attributs", OpenApiTypes.OBJECT, style="form", explode=True, description=(
        "Filtres d'égalité sur les attributs de la couche : ?code_insee=44069&nom=… (plusieurs "
        "valeurs d'un même attribut : l'une ou l'autre). Un paramètre qui n'est pas un attribut "
        "est une erreur 400 qui liste les attributs.")),
]

FEATURE_COLLECTION = inline_serializer("FeatureCollection", {
    "type": serializers.CharField(default="FeatureCollection"),
    "numberMatched": serializers.IntegerField(help_text="Objets correspondant aux filtres."),
    "numberReturned": serializers.IntegerField(help_text="Objets de cette page."),
    "next": serializers.URLField(allow_null=True),
    "previous": serializers.URLField(allow_null=True),
    "links": serializers.ListField(child=serializers.DictField()),
    "features": serializers.ListField(child=serializers.DictField(), help_text=(
        "Objets GeoJSON : id = fid, geometry, properties (attributs).")),
})


class FeaturesView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        tags=[TAG], summary="Objets d'une couche (page GeoJSON ou export)",
        operation_id="layers_features",
        parameters=FEATURE_PARAMETERS,
        responses={
            (200, encoders.GEOJSON_TYPE): OpenApiResponse(FEATURE_COLLECTION, description=(
                "FeatureCollection (page : numberMatched, numberReturned, next, previous ; "
                "export : tous les objets).")),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=(
                "f=csv : fid, attributs, puis x et y (couche de points) ou wkt ; UTF-8, en-tête.")),
            (200, encoders.GPKG_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="f=gpkg"),
            (200, encoders.ZIP_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description=(
                "f=shp : Shapefile zippé (couches d'un seul type de géométrie).")),
            400: OpenApiResponse(ERROR, description="Paramètre invalide (message en français)."),
            403: OpenApiResponse(ERROR, description="Couche visible mais pas téléchargeable."),
            404: OpenApiResponse(ERROR, description="Couche inconnue ou invisible."),
            503: OpenApiResponse(ERROR, description="Export GeoPackage ou Shapefile impossible."),
        },
    )
    def get(self, request, name):
        policy = AccessPolicy.for_user(request.user)
        source = granted(policy, name, Permission.VIEW)
        layer = source.layer
        if not layer.is_vector:
            raise NotFound(_("La couche « %(name)s » est une couche distante : ses objets ne sont "
                             "pas servis par la plateforme.") % {"name": layer.name})
        params = parse_feature_params(request.query_params, source.readable_names())
        if params.is_export:
            source = granted(policy, layer, Permission.DOWNLOAD)
        if not source.published():
            raise NotFound(_("Les données de la couche « %(name)s » ne sont pas publiées.")
                           % {"name": layer.name})
        query = source.query(
            crs=params.crs, area=self._area(params), where=self._equals(source, params),
            limit=params.limit, offset=params.offset)
        if params.format == "geojson":
            return encoders.geojson_export(source, query)
        if params.format == "csv":
            return encoders.csv_export(source, query)
        if params.format == "gpkg":
            return encoders.geopackage_export(source, query)
        if params.format == "shp":
            return encoders.shapefile_export(source, query)
        matched = source.count(query)
        return encoders.geojson_page(source, query, matched,
                                     self._page_links(request, query, matched))

    @staticmethod
    def _area(params):
        if params.bbox is None:
            return None
        try:
            return storage_area(params.bbox, params.bbox_crs)
        except ValueError:
            raise BadParameter("bbox", _("Emprise impossible à projeter dans le système "
                                         "%(crs)s.") % {"crs": params.bbox_crs}) from None

    @staticmethod
    def _equals(source, params):
        try:
            source.check_filter_values(params.equals)
        except InvalidFilterValue as error:
            raise BadParameter(error.attribute, _(
                "Valeur « %(value)s » invalide pour l'attribut « %(attribute)s » (type %(type)s).")
                % {"value": error.value.replace("\x00", ""), "attribute": error.attribute,
                   "type": error.pgtype}) from None
        if not params.equals:
            return None
        # Untyped literals take the column's own type: '12' compares as an integer, a date as
        # a date, and the column's index stays usable.
        return All(*(In(name, tuple(values)) for name, values in params.equals.items()))

    @staticmethod
    def _page_links(request, query, matched):
        def url(offset):
            parameters = request.query_params.copy()
            parameters["offset"] = str(offset)
            parameters["limit"] = str(query.limit)
            return request.build_absolute_uri(request.path) + "?" + parameters.urlencode()

        links = {"self": request.build_absolute_uri()}
        links["next"] = url(query.offset + query.limit) \
            if query.offset + query.limit < matched else None
        links["previous"] = url(max(0, query.offset - query.limit)) \
            if query.offset > 0 else None
        return links
