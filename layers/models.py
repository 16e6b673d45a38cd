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
    personal_columns = ArrayField(
        models.CharField(max_length=63), verbose_name=_("données personnelles"),
        default=list, blank=True,
        help_text=_("Attributs de données personnelles (RGPD) : toute lecture en est consignée "
                    "dans le journal « qui a lu quoi »."),
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
        unknown_personal = sorted(set(self.personal_columns) - set(self.attribute_names()))
        if self.attributes and unknown_personal:
            raise ValidationError({"personal_columns": _("Attributs inconnus : %(names)s.")
                                   % {"names": ", ".join(unknown_personal)}})
        unknown = sorted(set(self.mvt_attributes) - set(self.attribute_names()))
        if self.attributes and unknown:
            raise ValidationError(
                {"mvt_attributes": _("Attributs inconnus : %(names)s.") % {"names": ", ".join(unknown)}}
            )


class Permission(models.TextChoices):
    """What a protocol asks of a layer (and the shortcut level of a rule): each level includes
    the ones before it. A rule grants Operations; EDIT is any write operation."""
    VIEW = "view", _("consulter (carte, WMS, tuiles)")
    DOWNLOAD = "download", _("télécharger (exports, WFS)")
    EDIT = "edit", _("modifier (WFS-T, synchronisation)")

    @classmethod
    def levels_granting(cls, wanted):
        order = [cls.VIEW, cls.DOWNLOAD, cls.EDIT]
        return order[order.index(cls(wanted)):]


class Operation(models.TextChoices):
    """What a rule allows (or denies), separately."""
    VIEW = "view", _("consulter")
    DOWNLOAD = "download", _("télécharger")
    INSERT = "insert", _("ajouter des objets")
    UPDATE_ATTRIBUTES = "update_attributes", _("modifier les attributs")
    UPDATE_GEOMETRY = "update_geometry", _("modifier les géométries")
    DELETE = "delete", _("supprimer des objets")

    @classmethod
    def writes(cls):
        return (cls.INSERT, cls.UPDATE_ATTRIBUTES, cls.UPDATE_GEOMETRY, cls.DELETE)

    @classmethod
    def of_permission(cls, permission):
        """The operations of a level (the rules before operations existed, and the shortcut)."""
        permission = Permission(permission)
        if permission == Permission.VIEW:
            return [cls.VIEW.value]
        if permission == Permission.DOWNLOAD:
            return [cls.VIEW.value, cls.DOWNLOAD.value]
        return [op.value for op in cls]

    @classmethod
    def level(cls, operations):
        """The highest Permission whose operations are all in `operations` (EDIT: any write)."""
        operations = set(operations)
        if operations & {op.value for op in cls.writes()}:
            return Permission.EDIT
        if cls.DOWNLOAD.value in operations:
            return Permission.DOWNLOAD
        return Permission.VIEW


class Audience(models.TextChoices):
    """Who something is shared with (access rules, saved maps)."""
    PUBLIC = "public", _("tout le monde, y compris le public anonyme")
    AUTHENTICATED = "authenticated", _("tout utilisateur connecté")
    COMMUNES = "communes", _("les membres de communes données")
    ROLES = "roles", _("les utilisateurs ayant un rôle donné")
    ADMINS = "admins", _("les administrateurs SIG seulement")


class RuleAudience(models.TextChoices):
    """Who an access rule applies to: the shared audiences, named users and groups too."""
    PUBLIC = "public", _("tout le monde, y compris le public anonyme")
    AUTHENTICATED = "authenticated", _("tout utilisateur connecté")
    COMMUNES = "communes", _("les membres de communes données")
    ROLES = "roles", _("les utilisateurs ayant un rôle donné")
    USERS = "users", _("des utilisateurs nommés")
    GROUPS = "groups", _("les membres de groupes donnés")
    ADMINS = "admins", _("les administrateurs SIG seulement")


class RowRestriction(models.TextChoices):
    NONE = "none", _("tous les objets")
    COMMUNE_TERRITORY = "commune_territory", _("objets situés sur le territoire de sa commune")
    COMMUNE_INSEE = "commune_insee", _("objets dont le code INSEE est celui de sa commune")


class Effect(models.TextChoices):
    ALLOW = "allow", _("autoriser")
    DENY = "deny", _("interdire")


class AreaMode(models.TextChoices):
    INTERSECT = "intersect", _("objets qui touchent la zone (entiers)")
    CLIP = "clip", _("objets qui touchent la zone, géométries découpées à la zone")


class ColumnAccess(models.TextChoices):
    HIDDEN = "hidden", _("masquée")
    READ = "read", _("lecture seule")
    WRITE = "write", _("lecture et écriture")


# Operators of a rule's attribute condition (compiled to layers.features.query's tree).
CONDITION_OPERATORS = ("=", "<>", "<", "<=", ">", ">=", "in", "like", "is_null", "not_null")


def validate_condition(value, column_names=None):
    """A rule's attribute condition: {"column", "op", "value"} (value: a list for "in", absent
    for is_null / not_null), on a column of the layer. Never SQL."""
    if value in (None, {}):
        return
    if not isinstance(value, dict) or set(value) - {"column", "op", "value"}:
        raise ValidationError(_("Condition attendue : {\"column\": …, \"op\": …, "
                                "\"value\": …}."))
    column, op = value.get("column"), value.get("op")
    if not isinstance(column, str) or not column:
        raise ValidationError(_("La condition doit nommer une colonne de la couche."))
    if column_names is not None and column not in column_names:
        raise ValidationError(_("« %(name)s » n'est pas une colonne de la couche.")
                              % {"name": column})
    if op not in CONDITION_OPERATORS:
        raise ValidationError(_("Opérateur inconnu : « %(op)s » (attendu : %(ops)s).")
                              % {"op": op, "ops": ", ".join(CONDITION_OPERATORS)})
    if op in ("is_null", "not_null"):
        return
    if "value" not in value:
        raise ValidationError(_("La condition demande une valeur."))
    item = value["value"]
    items = item if op == "in" else [item]
    if op == "in" and (not isinstance(item, list) or not item):
        raise ValidationError(_("L'opérateur « in » demande une liste de valeurs."))
    for element in items:
        if not isinstance(element, (str, int, float, bool)):
            raise ValidationError(_("Les valeurs d'une condition sont du texte ou des nombres."))


class AccessRule(models.Model):
    """Who may do what with a layer's rows and columns, when (docs/guide-sig.md, « Droits »).

    Combination (layers.access): the allows that apply add up (most permissive union), minus
    the operations denied by a DENY rule of equal or higher priority."""
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="access_rules",
                              verbose_name=_("couche"))
    effect = models.CharField(_("effet"), max_length=5, choices=Effect.choices,
                              default=Effect.ALLOW)
    priority = models.IntegerField(
        _("priorité"), default=0,
        help_text=_("Une interdiction l'emporte sur les autorisations de priorité égale ou "
                    "inférieure ; une autorisation de priorité supérieure l'emporte sur elle."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    audience = models.CharField(_("qui"), max_length=20, choices=RuleAudience.choices)
    communes = models.ManyToManyField("territory.Commune", blank=True, related_name="+",
                                      verbose_name=_("communes"))
    roles = ArrayField(models.CharField(max_length=32, choices=Role.choices),
                       verbose_name=_("rôles"), default=list, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                   verbose_name=_("utilisateurs"))
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="+",
                                    verbose_name=_("groupes"))
    permission = models.CharField(
        _("niveau"), max_length=10, choices=Permission.choices, default=Permission.VIEW,
        help_text=_("Raccourci : sans opérations cochées, celles du niveau."))
    operations = ArrayField(models.CharField(max_length=20, choices=Operation.choices),
                            verbose_name=_("opérations"), default=list, blank=True)
    # Columns: {name: hidden|read|write}; empty: every column (read, and write with a write
    # operation). When some are listed, the others — columns added later included — get
    # other_columns (hidden by default).
    columns = models.JSONField(_("colonnes"), default=dict, blank=True)
    other_columns = models.CharField(_("autres colonnes"), max_length=6,
                                     choices=ColumnAccess.choices, default=ColumnAccess.HIDDEN)
    # Read filter: the rows the rule gives.
    row_restriction = models.CharField(_("lecture : commune"), max_length=20,
                                       choices=RowRestriction.choices, default=RowRestriction.NONE)
    area = models.MultiPolygonField(_("lecture : zone"), srid=settings.CAPGEO_STORAGE_SRID,
                                    null=True, blank=True)
    area_mode = models.CharField(_("lecture : mode de la zone"), max_length=10,
                                 choices=AreaMode.choices, default=AreaMode.INTERSECT)
    read_condition = models.JSONField(_("lecture : condition sur un attribut"), null=True,
                                      blank=True, validators=[validate_condition])
    # Write filter: among the rows read, those the rule lets write (before and after a change).
    write_restriction = models.CharField(_("écriture : commune"), max_length=20,
                                         choices=RowRestriction.choices,
                                         default=RowRestriction.NONE)
    write_area = models.MultiPolygonField(_("écriture : zone"), srid=settings.CAPGEO_STORAGE_SRID,
                                          null=True, blank=True)
    write_condition = models.JSONField(_("écriture : condition sur un attribut"), null=True,
                                       blank=True, validators=[validate_condition])
    valid_from = models.DateField(_("valable à partir du"), null=True, blank=True)
    valid_until = models.DateField(_("valable jusqu'au (inclus)"), null=True, blank=True)

    class Meta:
        verbose_name = _("règle d'accès")
        verbose_name_plural = _("règles d'accès")
        ordering = ["-priority", "pk"]

    def __str__(self):
        effect = "" if self.effect == Effect.ALLOW else f"{self.get_effect_display()} — "
        return f"{effect}{self.get_audience_display()} : " + ", ".join(
            str(Operation(op).label) for op in self.effective_operations())

    def effective_operations(self):
        """The operations of the rule: those checked, else those of its level; viewing comes
        with any other one (one cannot download or edit what one cannot see)."""
        operations = list(self.operations) or Operation.of_permission(self.permission)
        if self.effect == Effect.ALLOW and operations and Operation.VIEW not in operations:
            operations = [Operation.VIEW.value, *operations]
        return [op.value for op in Operation if op.value in operations]

    def save(self, *args, **kwargs):
        self.operations = self.effective_operations()
        self.permission = Operation.level(self.operations)
        super().save(*args, **kwargs)

    def clean(self):
        layer = self.layer if self.layer_id else None
        uses_insee = RowRestriction.COMMUNE_INSEE in (self.row_restriction, self.write_restriction)
        if uses_insee and layer is not None and not layer.insee_field:
            raise ValidationError(_("La restriction par code INSEE demande de renseigner le champ "
                                    "du code INSEE de la couche."))
        if self.audience == Audience.ROLES and not self.roles:
            raise ValidationError(_("Choisissez au moins un rôle."))
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": _("La fin de validité précède son début.")})
        names = set(layer.attribute_names()) if layer is not None and layer.attributes else None
        for field in ("read_condition", "write_condition"):
            try:
                validate_condition(getattr(self, field), names)
            except ValidationError as error:
                raise ValidationError({field: error.messages}) from None
        if not isinstance(self.columns, dict) or any(
                value not in ColumnAccess.values for value in self.columns.values()):
            raise ValidationError({"columns": _("Chaque colonne est « hidden », « read » ou "
                                                "« write ».")})
        unknown = sorted(set(self.columns) - names) if names is not None else []
        if unknown:
            raise ValidationError({"columns": _("Colonnes inconnues : %(names)s.")
                                   % {"names": ", ".join(unknown)}})


class PersonalDataRead(models.Model):
    """Append-only journal of reads of personal-data columns (the data protection officer's
    « qui a lu quoi »): who, when, which layer and columns, how many rows, through which
    protocol. Written by layers.access_log; never updated (a database trigger refuses it)."""
    read_at = models.DateTimeField(_("lu le"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="+", verbose_name=_("utilisateur"))
    username = models.CharField(_("identifiant"), max_length=150, blank=True)
    layer_name = models.CharField(_("couche"), max_length=48, db_index=True)
    columns = ArrayField(models.CharField(max_length=63), verbose_name=_("colonnes personnelles"))
    rows = models.BigIntegerField(_("objets"), null=True, blank=True)
    protocol = models.CharField(_("protocole"), max_length=30)
    address = models.GenericIPAddressField(_("adresse"), null=True, blank=True)

    class Meta:
        verbose_name = _("lecture de données personnelles")
        verbose_name_plural = _("lectures de données personnelles")
        ordering = ["-read_at", "-pk"]

    def __str__(self):
        return f"{self.read_at:%Y-%m-%d %H:%M} {self.username} {self.layer_name}"


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


class TaskWorker(models.Model):
    """A background worker process (`manage.py import_worker`) on some machine. Its heartbeat is
    written on the database's clock (never a machine's clock, never a pid of one machine): the
    other workers, wherever they run, tell from it whether the tasks it claimed still run
    (layers.workers)."""
    worker_id = models.CharField(_("identifiant"), max_length=64, primary_key=True)
    host = models.CharField(_("machine"), max_length=255, blank=True)
    pid = models.IntegerField(_("processus"), null=True, blank=True)
    started_at = models.DateTimeField(_("démarré le"))
    beat_at = models.DateTimeField(_("dernier signe de vie"))

    class Meta:
        verbose_name = _("travailleur de tâches de fond")
        verbose_name_plural = _("travailleurs de tâches de fond")

    def __str__(self):
        return f"{self.worker_id} ({self.host}:{self.pid})"


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
