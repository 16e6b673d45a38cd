"""The layer catalogue.

A vector layer's data lives in its own PostGIS table, ``layers_data."<name>"`` (typed columns, a
``fid`` primary key, ``geom`` in EPSG:2154, a GiST index); this module only *describes* it.
Who may see or change a layer is described by its AccessRules and decided by layers.access:
nothing else reads these rules.
"""
import re
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import Role

from .inspire import Conformity, InspireTheme, TopicCategory, TOPIC_OF_THEME

# Schemas that hold layer data. Only the catalogue code creates, renames or drops tables there.
DATA_SCHEMA = "layers_data"        # the live table of each layer
STAGING_SCHEMA = "layers_staging"  # imports in progress, invisible to readers
HISTORY_SCHEMA = "layers_history"  # earlier versions, kept for restoration

LAYER_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
layer_name_validator = RegexValidator(
    LAYER_NAME_RE,
    _("Le nom technique commence par une lettre minuscule et ne contient que des lettres "
      "minuscules sans accent, des chiffres et « _ » (48 caractères au plus)."),
)


class Theme(models.Model):
    slug = models.SlugField(_("identifiant"), unique=True)
    name = models.CharField(_("nom"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveSmallIntegerField(_("ordre"), default=100)
    inspire_theme = models.CharField(
        _("thème INSPIRE"), max_length=2, choices=InspireTheme.choices, blank=True,
        help_text=_("Thème INSPIRE des couches de ce thème, sauf si la couche en précise un."),
    )

    class Meta:
        verbose_name = _("thème")
        verbose_name_plural = _("thèmes")
        ordering = ["order", "name"]

    def __str__(self):
        return self.name


class Licence(models.TextChoices):
    ETALAB_2 = "etalab-2.0", _("Licence Ouverte 2.0 (Etalab)")
    ODBL = "odbl-1.0", _("ODbL 1.0")
    CC_BY_4 = "cc-by-4.0", _("CC BY 4.0")
    RESTRICTED = "restricted", _("Diffusion restreinte")


class UpdateFrequency(models.TextChoices):
    CONTINUAL = "continual", _("en continu")
    DAILY = "daily", _("quotidienne")
    WEEKLY = "weekly", _("hebdomadaire")
    MONTHLY = "monthly", _("mensuelle")
    YEARLY = "annually", _("annuelle")
    AS_NEEDED = "asNeeded", _("à la demande")
    IRREGULAR = "irregular", _("irrégulière")
    NOT_PLANNED = "notPlanned", _("non prévue")


class GeometryType(models.TextChoices):
    POINT = "POINT", _("points")
    LINESTRING = "LINESTRING", _("lignes")
    POLYGON = "POLYGON", _("polygones")
    MULTIPOINT = "MULTIPOINT", _("multi-points")
    MULTILINESTRING = "MULTILINESTRING", _("multi-lignes")
    MULTIPOLYGON = "MULTIPOLYGON", _("multi-polygones")
    GEOMETRY = "GEOMETRY", _("géométries mixtes")


class Layer(models.Model):
    class Kind(models.TextChoices):
        VECTOR = "vector", _("couche vectorielle (table PostGIS)")
        REMOTE = "remote", _("couche distante (WMS, WMTS, WFS)")

    class Usage(models.TextChoices):
        OVERLAY = "overlay", _("couche thématique")
        BASEMAP = "basemap", _("fond de plan")

    name = models.CharField(
        _("nom technique"), max_length=48, unique=True, validators=[layer_name_validator],
        help_text=_("Identifiant stable utilisé dans les URL, WMS/WFS et le nom de la table."),
    )
    title = models.CharField(_("titre"), max_length=200)
    abstract = models.TextField(_("résumé"), blank=True)
    keywords = ArrayField(models.CharField(max_length=80), verbose_name=_("mots-clés"),
                          default=list, blank=True)
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="layers", verbose_name=_("thème"))
    owner_commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, null=True, blank=True,
        related_name="owned_layers", verbose_name=_("organisation propriétaire"),
        help_text=_("Vide : l'intercommunalité."),
    )
    licence = models.CharField(_("licence"), max_length=20, choices=Licence.choices,
                               default=Licence.ETALAB_2)
    attribution = models.CharField(_("attribution"), max_length=300, blank=True)
    update_frequency = models.CharField(_("fréquence de mise à jour"), max_length=20,
                                        choices=UpdateFrequency.choices,
                                        default=UpdateFrequency.AS_NEEDED)
    lineage = models.TextField(_("généalogie"), blank=True)
    # Discovery metadata (ISO 19115 / INSPIRE): metadata.iso19139 writes them in each record.
    uuid = models.UUIDField(
        _("identifiant de la fiche de métadonnées"), default=uuid.uuid4, unique=True,
        editable=False,
        help_text=_("Identifiant stable de la ressource pour les catalogues (CSW, DCAT)."),
    )
    inspire_theme = models.CharField(
        _("thème INSPIRE"), max_length=2, choices=InspireTheme.choices, blank=True,
        help_text=_("Vide : celui du thème de la couche, s'il en a un."),
    )
    topic_category = models.CharField(
        _("catégorie ISO 19115"), max_length=40, choices=TopicCategory.choices, blank=True,
        help_text=_("Vide : déduite du thème INSPIRE."),
    )
    contact_organisation = models.CharField(
        _("organisation à contacter"), max_length=200, blank=True,
        help_text=_("Vide : l'organisation propriétaire."),
    )
    contact_email = models.EmailField(
        _("adresse électronique de contact"), blank=True,
        help_text=_("Vide : l'adresse de contact de la plateforme (CAPGEO_METADATA_CONTACT_EMAIL)."),
    )
    scale_denominator = models.PositiveIntegerField(
        _("résolution : échelle (1/…)"), null=True, blank=True,
        help_text=_("Dénominateur de l'échelle de saisie ou d'usage, par exemple 25000."),
    )
    conformity = models.CharField(
        _("conformité INSPIRE"), max_length=20, choices=Conformity.choices,
        default=Conformity.NOT_EVALUATED,
        help_text=_("Conformité au règlement (UE) n° 1089/2010 sur l'interopérabilité."),
    )
    temporal_start = models.DateField(_("période couverte : début"), null=True, blank=True)
    temporal_end = models.DateField(_("période couverte : fin"), null=True, blank=True)

    kind = models.CharField(_("nature"), max_length=10, choices=Kind.choices, default=Kind.VECTOR)
    usage = models.CharField(_("usage"), max_length=10, choices=Usage.choices,
                             default=Usage.OVERLAY)
    queryable = models.BooleanField(_("interrogeable"), default=True)
    searchable = models.BooleanField(_("consultable par la recherche"), default=False)
    search_fields = ArrayField(models.CharField(max_length=63), verbose_name=_("champs recherchés"),
                               default=list, blank=True)
    cacheable = models.BooleanField(_("tuiles en cache"), default=False)
    mvt_attributes = ArrayField(
        models.CharField(max_length=63), verbose_name=_("attributs des tuiles vectorielles"),
        default=list, blank=True,
        help_text=_("Attributs inclus dans les tuiles vectorielles (MVT) ; vide : tous."),
    )
    insee_field = models.CharField(
        _("champ du code INSEE"), max_length=63, blank=True,
        help_text=_("Attribut portant le code INSEE de la commune de chaque objet (restriction "
                    "« code INSEE de la commune »)."),
    )

    # Computed from the data at each publication.
    geometry_type = models.CharField(_("type de géométrie"), max_length=20,
                                     choices=GeometryType.choices, blank=True)
    feature_count = models.PositiveBigIntegerField(_("nombre d'objets"), default=0)
    # The box of the data in each advertised CRS, each measured on the data itself in that CRS
    # (layers.extents): overseas rows are stored in Lambert-93 too, whose box's corners do not
    # give the WGS 84 or Web Mercator box.
    extent = models.PolygonField(_("emprise"), srid=settings.CAPGEO_STORAGE_SRID, null=True,
                                 blank=True)
    extent_wgs84 = models.PolygonField(_("emprise (WGS 84)"), srid=4326, null=True, blank=True)
    extent_webmercator = models.PolygonField(_("emprise (Web Mercator)"), srid=3857, null=True,
                                             blank=True)
    attributes = models.JSONField(
        _("attributs"), default=list, blank=True,
        help_text=_("Liste des attributs : [{\"name\": …, \"type\": …}] (types PostgreSQL)."),
    )
    thumbnail = models.ImageField(_("vignette"), upload_to="thumbnails/", blank=True)

    # Remote layers (kind = remote).
    remote_layer = models.OneToOneField("RemoteLayer", on_delete=models.CASCADE, null=True,
                                        blank=True, related_name="catalogue_layer")

    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    data_updated_at = models.DateTimeField(_("données mises à jour le"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+", verbose_name=_("créée par"))
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("couche")
        verbose_name_plural = _("couches")
        ordering = ["theme__order", "title"]
        indexes = [GinIndex(fields=["search_vector"]), models.Index(fields=["kind"])]

    def __str__(self):
        return self.title

    @property
    def qualified_table(self):
        """The live table, quoted for SQL. Only layers.features and layers.publishing use it."""
        return f'"{DATA_SCHEMA}"."{self.name}"'

    @property
    def is_vector(self):
        return self.kind == self.Kind.VECTOR

    def attribute_names(self):
        return [attribute["name"] for attribute in self.attributes]

    @property
    def inspire_theme_code(self):
        """The layer's INSPIRE theme, or its catalogue theme's ("" when neither maps)."""
        if self.inspire_theme:
            return self.inspire_theme
        return self.theme.inspire_theme if self.theme_id else ""

    @property
    def topic_category_code(self):
        return self.topic_category or TOPIC_OF_THEME.get(self.inspire_theme_code, "")

    def clean(self):
        if self.insee_field and self.attributes and self.insee_field not in self.attribute_names():
            raise ValidationError(
                {"insee_field": _("« %(field)s » n'est pas un attribut de la couche.")
                 % {"field": self.insee_field}}
            )
        if self.temporal_start and self.temporal_end and self.temporal_end < self.temporal_start:
            raise ValidationError(
                {"temporal_end": _("La fin de la période couverte précède son début.")}
            )
        unknown = sorted(set(self.mvt_attributes) - set(self.attribute_names()))
        if self.attributes and unknown:
            raise ValidationError(
                {"mvt_attributes": _("Attributs inconnus : %(names)s.") % {"names": ", ".join(unknown)}}
            )


class Permission(models.TextChoices):
    """What a rule grants; each level includes the ones before it."""
    VIEW = "view", _("consulter (carte, WMS, tuiles)")
    DOWNLOAD = "download", _("télécharger (exports, WFS)")
    EDIT = "edit", _("modifier (WFS-T, synchronisation)")

    @classmethod
    def levels_granting(cls, wanted):
        order = [cls.VIEW, cls.DOWNLOAD, cls.EDIT]
        return order[order.index(cls(wanted)):]


class Audience(models.TextChoices):
    PUBLIC = "public", _("tout le monde, y compris le public anonyme")
    AUTHENTICATED = "authenticated", _("tout utilisateur connecté")
    COMMUNES = "communes", _("les membres de communes données")
    ROLES = "roles", _("les utilisateurs ayant un rôle donné")
    ADMINS = "admins", _("les administrateurs SIG seulement")


class RowRestriction(models.TextChoices):
    NONE = "none", _("tous les objets")
    COMMUNE_TERRITORY = "commune_territory", _("objets situés sur le territoire de sa commune")
    COMMUNE_INSEE = "commune_insee", _("objets dont le code INSEE est celui de sa commune")


class AccessRule(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="access_rules",
                              verbose_name=_("couche"))
    audience = models.CharField(_("qui"), max_length=20, choices=Audience.choices)
    communes = models.ManyToManyField("territory.Commune", blank=True, related_name="+",
                                      verbose_name=_("communes"))
    roles = ArrayField(models.CharField(max_length=32, choices=Role.choices),
                       verbose_name=_("rôles"), default=list, blank=True)
    permission = models.CharField(_("quoi"), max_length=10, choices=Permission.choices,
                                  default=Permission.VIEW)
    row_restriction = models.CharField(_("restriction des objets"), max_length=20,
                                       choices=RowRestriction.choices, default=RowRestriction.NONE)

    class Meta:
        verbose_name = _("règle d'accès")
        verbose_name_plural = _("règles d'accès")

    def __str__(self):
        return f"{self.get_audience_display()} : {self.get_permission_display()}"

    def clean(self):
        if self.row_restriction == RowRestriction.COMMUNE_INSEE and self.layer_id \
                and not self.layer.insee_field:
            raise ValidationError(_("La restriction par code INSEE demande de renseigner le champ "
                                    "du code INSEE de la couche."))
        if self.audience == Audience.ROLES and not self.roles:
            raise ValidationError(_("Choisissez au moins un rôle."))


class Publication(models.Model):
    """One version of a layer's data: who published what, when, and where the data is kept."""

    class Mode(models.TextChoices):
        CREATE = "create", _("création")
        REPLACE = "replace", _("remplacement")
        APPEND = "append", _("ajout")
        RESTORE = "restore", _("restauration")
        EDIT = "edit", _("modification (WFS-T / synchronisation)")

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="publications",
                              verbose_name=_("couche"))
    version = models.PositiveIntegerField(_("version"))
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+",
                                     verbose_name=_("publiée par"))
    published_at = models.DateTimeField(_("publiée le"), auto_now_add=True)
    source_name = models.CharField(_("fichier source"), max_length=300, blank=True)
    source_checksum = models.CharField(_("empreinte SHA-256 de la source"), max_length=64,
                                       blank=True)
    feature_count = models.PositiveBigIntegerField(_("nombre d'objets"), default=0)
    report = models.JSONField(_("rapport d'import"), default=dict, blank=True)
    history_table = models.CharField(
        _("table archivée"), max_length=63, blank=True,
        help_text=_("Copie de cette version dans le schéma d'historique, pour la restaurer."),
    )
    restored_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+", verbose_name=_("restaurée depuis"))

    class Meta:
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        ordering = ["layer", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "version"], name="unique_layer_version"),
        ]

    def __str__(self):
        return f"{self.layer.name} v{self.version}"


class ImportJob(models.Model):
    """A publication running outside the web request; its status and progress are persisted."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("en attente")
        RUNNING = "running", _("en cours")
        SUCCEEDED = "succeeded", _("terminée")
        FAILED = "failed", _("échouée")

    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progression (%)"), default=0)
    message = models.TextField(_("message"), blank=True)
    layer_name = models.CharField(_("nom technique"), max_length=48)
    layer = models.ForeignKey(Layer, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="import_jobs")
    source_path = models.CharField(_("fichier reçu"), max_length=500, blank=True)
    source_name = models.CharField(_("nom du fichier"), max_length=300, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    report = models.JSONField(_("rapport"), default=dict, blank=True)
    publication = models.ForeignKey(Publication, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.layer_name} ({self.get_status_display()})"


class RemoteService(models.Model):
    class Protocol(models.TextChoices):
        WMS = "wms", "WMS"
        WMTS = "wmts", "WMTS"
        WFS = "wfs", "WFS"

    title = models.CharField(_("titre"), max_length=200)
    url = models.URLField(_("URL du service"), max_length=500)
    protocol = models.CharField(_("protocole"), max_length=5, choices=Protocol.choices)
    version = models.CharField(_("version"), max_length=10, blank=True)
    abstract = models.TextField(_("résumé"), blank=True)
    provider = models.CharField(_("fournisseur"), max_length=200, blank=True)
    capabilities_checked_at = models.DateTimeField(_("capacités lues le"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("service distant")
        verbose_name_plural = _("services distants")
        constraints = [models.UniqueConstraint(fields=["url", "protocol"],
                                               name="unique_remote_service")]

    def __str__(self):
        return f"{self.title} ({self.get_protocol_display()})"


class RemoteLayer(models.Model):
    service = models.ForeignKey(RemoteService, on_delete=models.CASCADE, related_name="layers")
    identifier = models.CharField(_("identifiant distant"), max_length=300)
    title = models.CharField(_("titre"), max_length=300)
    abstract = models.TextField(_("résumé"), blank=True)
    crs = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    formats = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    styles = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    wgs84_bbox = ArrayField(models.FloatField(), size=4, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("couche distante")
        verbose_name_plural = _("couches distantes")
        constraints = [models.UniqueConstraint(fields=["service", "identifier"],
                                               name="unique_remote_layer")]

    def __str__(self):
        return f"{self.service.title} : {self.title}"


STYLE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


class Style(models.Model):
    """A named way of drawing a vector layer (WMS STYLES, legends, tiles).

    ``definition`` is the normalised description that layers.styles validates, turns into rules and
    then into Mapnik XML; ``sld`` keeps the text of an imported SLD file, ``import_warnings`` what
    that import could not translate.
    """

    class Kind(models.TextChoices):
        SINGLE = "single", _("symbole unique")
        CATEGORIZED = "categorized", _("catégorisé (une couleur par valeur d'un attribut)")
        GRADUATED = "graduated", _("gradué (classes de valeurs d'un attribut)")
        SLD = "sld", _("importé d'un fichier SLD")

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="styles",
                              verbose_name=_("couche"))
    name = models.CharField(
        _("nom"), max_length=64,
        validators=[RegexValidator(STYLE_NAME_RE, _("Le nom commence par une lettre et ne "
                                                    "contient que des lettres sans accent, des "
                                                    "chiffres, « _ », « . » ou « - »."))],
        help_text=_("Identifiant du style dans le paramètre STYLES du WMS."),
    )
    title = models.CharField(_("titre"), max_length=200)
    is_default = models.BooleanField(_("style par défaut"), default=False)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.SINGLE)
    definition = models.JSONField(_("définition"), default=dict, blank=True)
    sld = models.TextField(_("SLD importé"), blank=True)
    import_warnings = models.JSONField(_("avertissements de l'import"), default=list, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("style")
        verbose_name_plural = _("styles")
        ordering = ["layer", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "name"], name="unique_style_name_per_layer"),
            models.UniqueConstraint(fields=["layer"], condition=models.Q(is_default=True),
                                    name="one_default_style_per_layer"),
        ]

    def __str__(self):
        return f"{self.layer.name} : {self.title}"


class FeatureChange(models.Model):
    """One feature inserted, updated or deleted in place (WFS-T, synchronisation): the layer's
    edit history, with the values before and after (attributes, and the geometry as GeoJSON in
    EPSG:2154)."""

    class Action(models.TextChoices):
        INSERT = "insert", _("ajout")
        UPDATE = "update", _("modification")
        DELETE = "delete", _("suppression")

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="feature_changes",
                              verbose_name=_("couche"))
    fid = models.BigIntegerField(_("identifiant de l'objet"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+", verbose_name=_("par"))
    changed_at = models.DateTimeField(_("le"), auto_now_add=True)
    old_values = models.JSONField(_("valeurs avant"), null=True, blank=True)
    new_values = models.JSONField(_("valeurs après"), null=True, blank=True)
    source = models.CharField(_("origine"), max_length=20, default="wfs-t")
    publication = models.ForeignKey(Publication, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="feature_changes",
                                    verbose_name=_("publication"))

    class Meta:
        verbose_name = _("modification d'objet")
        verbose_name_plural = _("modifications d'objets")
        ordering = ["layer", "-changed_at", "-id"]
        indexes = [models.Index(fields=["layer", "fid"])]

    def __str__(self):
        return f"{self.layer.name}.{self.fid} : {self.get_action_display()}"
