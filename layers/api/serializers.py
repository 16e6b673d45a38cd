"""Catalogue entries as JSON: what a visitor reads, what a GIS administrator may change or create."""
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from territory.models import Commune

from ..extents import stored_summary
from ..models import LAYER_NAME_RE, Layer, Permission, Theme
from .params import FORMATS

PERMISSION_ORDER = [Permission.VIEW, Permission.DOWNLOAD, Permission.EDIT]


class ThemeRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class OwnerSerializer(serializers.Serializer):
    name = serializers.CharField()
    insee = serializers.CharField(allow_null=True, help_text=_("Vide : l'intercommunalité."))


class ExtentSerializer(serializers.Serializer):
    wgs84 = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4,
                                  help_text=_("[ouest, sud, est, nord] en degrés (EPSG:4326)."))
    lambert93 = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4,
                                      allow_null=True,
                                      help_text=_("[xmin, ymin, xmax, ymax] en mètres (EPSG:2154)."))
    webmercator = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True,
        help_text=_("[xmin, ymin, xmax, ymax] en mètres (EPSG:3857)."))


class AttributeSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text=_("Type PostgreSQL de la colonne."))


class LinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    features = serializers.URLField(allow_null=True)
    exports = serializers.DictField(child=serializers.URLField(), help_text=_(
        "Un lien par format (geojson, csv, gpkg, shp), si l'utilisateur peut télécharger la couche."))


def _choice(value, choices):
    return {"code": value, "label": str(dict(choices).get(value, value))} if value else None


class LayerSerializer(serializers.ModelSerializer):
    """A catalogue entry, with what the requesting user may do on it."""
    theme = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    licence = serializers.SerializerMethodField()
    update_frequency = serializers.SerializerMethodField()
    extent = serializers.SerializerMethodField()
    feature_count = serializers.SerializerMethodField()
    attributes = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Layer
        fields = ["name", "title", "abstract", "keywords", "theme", "owner", "licence",
                  "attribution", "update_frequency", "lineage", "kind", "geometry_type",
                  "feature_count", "extent", "attributes", "insee_field", "permissions",
                  "data_updated_at", "updated_at", "links"]
        read_only_fields = fields

    def _held(self, layer):
        """The user's permissions on the layer, asked once per layer and request."""
        cache = self.context.setdefault("held_permissions", {})
        if layer.pk not in cache:
            cache[layer.pk] = self.context["policy"].permissions(layer)
        return cache[layer.pk]

    @extend_schema_field(AttributeSerializer(many=True))
    def get_attributes(self, layer):
        """The columns this user may read (hidden columns are not even named)."""
        policy = self.context.get("policy")
        attributes = layer.attributes or []
        if policy is None:
            return attributes
        readable = policy.readable_columns(layer)
        return [a for a in attributes if a["name"] in readable]

    @extend_schema_field(ThemeRefSerializer(allow_null=True))
    def get_theme(self, layer):
        return {"slug": layer.theme.slug, "name": layer.theme.name} if layer.theme else None

    @extend_schema_field(OwnerSerializer)
    def get_owner(self, layer):
        from django.conf import settings

        if layer.owner_commune_id:
            return {"name": layer.owner_commune.name, "insee": layer.owner_commune.insee}
        return {"name": settings.CAPGEO_INTERCOMMUNALITY_NAME, "insee": None}

    @extend_schema_field(ChoiceSerializer)
    def get_licence(self, layer):
        return _choice(layer.licence, Layer._meta.get_field("licence").choices)

    @extend_schema_field(ChoiceSerializer)
    def get_update_frequency(self, layer):
        return _choice(layer.update_frequency, Layer._meta.get_field("update_frequency").choices)

    def _summary(self, layer):
        """Count and extents of the rows this user may view (layers.extents), once per layer."""
        cache = self.context.setdefault("summaries", {})
        if layer.pk not in cache:
            policy = self.context.get("policy")
            cache[layer.pk] = policy.summary(layer) if policy else stored_summary(layer)
        return cache[layer.pk]

    @extend_schema_field(serializers.IntegerField())
    def get_feature_count(self, layer):
        return self._summary(layer).count

    @extend_schema_field(ExtentSerializer(allow_null=True))
    def get_extent(self, layer):
        boxes = self._summary(layer).boxes
        if layer.is_vector:
            if 2154 not in boxes:
                return None
            return {"wgs84": list(boxes[4326]), "webmercator": list(boxes[3857]),
                    "lambert93": list(boxes[2154])}
        remote = layer.remote_layer if layer.remote_layer_id else None
        if remote and remote.wgs84_bbox:
            mercator = boxes.get(3857)
            return {"wgs84": list(remote.wgs84_bbox), "lambert93": None,
                    "webmercator": list(mercator) if mercator else None}
        return None

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(Permission.choices)))
    def get_permissions(self, layer):
        held = self._held(layer)
        return [str(permission.value) for permission in PERMISSION_ORDER if permission in held]

    @extend_schema_field(LinksSerializer)
    def get_links(self, layer):
        request = self.context["request"]
        detail = request.build_absolute_uri(reverse("api:layer-detail", args=[layer.name]))
        links = {"self": detail, "features": None, "exports": {}}
        if layer.is_vector:
            features = request.build_absolute_uri(reverse("api:layer-features", args=[layer.name]))
            links["features"] = features
            if Permission.DOWNLOAD in self._held(layer):
                links["exports"] = {code: f"{features}?f={code}" for code in FORMATS}
        return links


class LayerMetadataSerializer(serializers.ModelSerializer):
    """What a GIS administrator may change on an existing layer (not its data, nor its name)."""
    theme = serializers.SlugRelatedField(slug_field="slug", queryset=Theme.objects.all(),
                                         allow_null=True, required=False)
    owner = serializers.SlugRelatedField(
        source="owner_commune", slug_field="insee", queryset=Commune.objects.all(),
        allow_null=True, required=False,
        help_text=_("Code INSEE de la commune propriétaire ; null : l'intercommunalité."))

    class Meta:
        model = Layer
        fields = ["title", "abstract", "keywords", "theme", "owner", "licence", "attribution",
                  "update_frequency", "lineage", "insee_field"]

    def validate_insee_field(self, value):
        layer = self.instance
        if value and layer is not None and layer.attributes and value not in layer.attribute_names():
            raise serializers.ValidationError(
                _t("« %(field)s » n'est pas un attribut de la couche (attributs : %(names)s).")
                % {"field": value, "names": ", ".join(layer.attribute_names())})
        return value


class LayerCreateSerializer(serializers.Serializer):
    """A new vector layer from a file: the import runs in the background (see the job)."""
    file = serializers.FileField(help_text=_(
        "GeoPackage (.gpkg), Shapefile zippé (.zip), GeoJSON (.geojson) ou CSV (.csv)."))
    name = serializers.RegexField(LAYER_NAME_RE, max_length=48, error_messages={
        "invalid": _("Le nom technique commence par une lettre minuscule et ne contient que des "
                     "lettres minuscules sans accent, des chiffres et « _ ».")})
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    theme = serializers.SlugRelatedField(slug_field="slug", queryset=Theme.objects.all(),
                                         required=False, allow_null=True)
    srs = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text=_(
        "Seulement si le fichier n'en déclare pas : EPSG:2154, EPSG:4326…"))
    source_layer = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                         help_text=_("Couche du GeoPackage, s'il en contient plusieurs."))


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    layer = serializers.CharField(source="layer_name")
    status_url = serializers.SerializerMethodField()
    layer_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_status_url(self, job):
        return self.context["request"].build_absolute_uri(
            reverse("publishing:job_status", args=[job.pk]))

    @extend_schema_field(serializers.URLField())
    def get_layer_url(self, job):
        return self.context["request"].build_absolute_uri(
            reverse("api:layer-detail", args=[job.layer_name]))
