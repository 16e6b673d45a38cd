"""Signalements: residents and agents report problems in public space; the right service fixes them.

- ``Service``: a team of the intercommunality or of one commune that receives reports (its members
  are platform accounts; its address receives the new-report e-mails).
- ``Category``: a report type of the territory, in two levels (category, sub-category), with its
  typed fields (``CategoryField``), where it may be reported (whole territory, some communes, the
  features of a zone layer of the catalogue such as ``zones_activite``), whether it may be
  anonymous, its duplicate radius and its default service.
- ``RoutingRule``: which service receives a report, by category, by commune of the point, by zone
  layer; the first matching rule by priority wins (signalements.routing).
- ``Report``: the report itself, with the reporter's contact (never published), its status, its
  service, agent and due date. It is published as two catalogue layers (signalements.publication):
  a public one without any personal data, and a complete one for the services, restricted per
  commune by the access policy.
- ``ReportPhoto``: photos, re-encoded without any metadata (EXIF, GPS) before being stored.
- ``ReportEvent``: the audit trail of every change (status, assignment, comment, reply, merge…).
"""
import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.utils.translation import gettext_lazy as _


def new_token():
    return secrets.token_urlsafe(18)


class Service(models.Model):
    name = models.CharField(_("nom"), max_length=200)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, null=True, blank=True,
        related_name="signalement_services", verbose_name=_("commune"),
        help_text=_("Laisser vide pour un service de l'intercommunalité."))
    email = models.EmailField(_("adresse de réception"), blank=True,
                              help_text=_("Reçoit un courriel à chaque nouveau signalement."))
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                     related_name="signalement_services",
                                     verbose_name=_("agents du service"))
    daily_digest = models.BooleanField(
        _("récapitulatif quotidien"), default=False,
        help_text=_("Un seul courriel par jour au lieu d'un courriel par signalement."))
    active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReportScope(models.TextChoices):
    TERRITORY = "territory", _("tout le territoire")
    COMMUNES = "communes", _("certaines communes")
    ZONE = "zone", _("les objets d'une couche de zones")


class Category(models.Model):
    name = models.CharField(_("nom"), max_length=200)
    code = models.SlugField(_("code"), max_length=60, unique=True,
                            help_text=_("Code du service Open311 (service_code)."))
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="children", verbose_name=_("catégorie parente"),
                               help_text=_("Renseigner pour une sous-catégorie."))
    description = models.TextField(_("description"), blank=True)
    scope = models.CharField(_("où le signaler"), max_length=12, choices=ReportScope.choices,
                             default=ReportScope.TERRITORY)
    communes = models.ManyToManyField("territory.Commune", blank=True, related_name="+",
                                      verbose_name=_("communes"),
                                      help_text=_("Pour « certaines communes »."))
    zone_layer = models.ForeignKey(
        "layers.Layer", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("couche de zones"),
        help_text=_("Pour « les objets d'une couche de zones » (ex. zones_activite)."))
    default_service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("service par défaut"))
    anonymous_allowed = models.BooleanField(_("signalement anonyme permis"), default=True)
    duplicate_radius_m = models.PositiveIntegerField(
        _("rayon des doublons (m)"), default=50,
        help_text=_("Les signalements ouverts de la même catégorie dans ce rayon sont proposés "
                    "comme doublons possibles."))
    related = models.ManyToManyField("self", blank=True, symmetrical=True,
                                     verbose_name=_("catégories voisines"),
                                     help_text=_("Cherchées aussi pour les doublons."))
    resolution_days = models.PositiveIntegerField(
        _("délai de résolution (jours)"), null=True, blank=True,
        help_text=_("Fixe l'échéance d'un nouveau signalement."))
    order = models.PositiveIntegerField(_("ordre"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("type de signalement")
        verbose_name_plural = _("types de signalement")
        ordering = ["order", "name"]

    def __str__(self):
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    @property
    def group(self):
        return self.parent.name if self.parent_id else self.name


class FieldType(models.TextChoices):
    STRING = "string", _("texte court")
    TEXT = "text", _("texte long")
    NUMBER = "number", _("nombre")
    DATETIME = "datetime", _("date et heure")
    SINGLE = "singlevaluelist", _("un choix dans une liste")
    MULTI = "multivaluelist", _("plusieurs choix dans une liste")


class CategoryField(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="fields",
                                 verbose_name=_("type de signalement"))
    code = models.SlugField(_("code"), max_length=60)
    label = models.CharField(_("libellé"), max_length=200)
    datatype = models.CharField(_("type"), max_length=20, choices=FieldType.choices,
                                default=FieldType.STRING)
    required = models.BooleanField(_("obligatoire"), default=False)
    choices = models.JSONField(_("choix"), default=list, blank=True,
                               help_text=_('Liste de [code, libellé], ex. [["petit", "Petit"]].'))
    help_text = models.CharField(_("aide"), max_length=300, blank=True)
    order = models.PositiveIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("champ")
        verbose_name_plural = _("champs")
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"],
                                               name="signalements_field_code_once")]

    def __str__(self):
        return self.label


class RoutingRule(models.Model):
    priority = models.PositiveIntegerField(_("priorité"), default=100,
                                           help_text=_("La plus petite passe d'abord."))
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+", verbose_name=_("type de signalement"),
                                 help_text=_("Vide : tous (une sous-catégorie suit sa parente)."))
    commune = models.ForeignKey("territory.Commune", on_delete=models.CASCADE, null=True,
                                blank=True, related_name="+", verbose_name=_("commune du point"))
    zone_layer = models.ForeignKey("layers.Layer", on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="+", verbose_name=_("couche de zones"),
                                   help_text=_("Le point doit être dans un objet de la couche."))
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="rules",
                                verbose_name=_("service destinataire"))

    class Meta:
        verbose_name = _("règle d'aiguillage")
        verbose_name_plural = _("règles d'aiguillage")
        ordering = ["priority", "id"]

    def __str__(self):
        parts = [str(p) for p in (self.category, self.commune, self.zone_layer) if p]
        return f"{' + '.join(parts) or _('tout')} → {self.service}"


class Status(models.TextChoices):
    NEW = "nouveau", _("nouveau")
    ACKNOWLEDGED = "pris_en_compte", _("pris en compte")
    IN_PROGRESS = "en_cours", _("en cours")
    RESOLVED = "resolu", _("résolu")
    REJECTED = "rejete", _("rejeté")
    DUPLICATE = "doublon", _("doublon")

    @classmethod
    def open_values(cls):
        return [cls.NEW, cls.ACKNOWLEDGED, cls.IN_PROGRESS]

    @classmethod
    def closed_values(cls):
        return [cls.RESOLVED, cls.REJECTED, cls.DUPLICATE]


class Source(models.TextChoices):
    WEB = "web", _("site web")
    OPEN311 = "open311", _("Open311")
    FIELD = "terrain", _("application de terrain")
    STAFF = "service", _("saisi par un service")


class Report(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Raised by every change made from the field app (fieldsync.records.signalement): a change
    # made on an older version is a conflict, never a silent overwrite.
    version = models.PositiveIntegerField(_("version"), default=1)
    tracking_token = models.CharField(_("jeton de suivi"), max_length=40, unique=True,
                                      default=new_token, editable=False)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports",
                                 verbose_name=_("type de signalement"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reports",
                                verbose_name=_("service"))
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("commune"))
    location = models.PointField(_("emplacement"), srid=settings.CAPGEO_STORAGE_SRID)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    description = models.TextField(_("description"))
    attributes = models.JSONField(_("champs du type"), default=dict, blank=True)
    status = models.CharField(_("état"), max_length=20, choices=Status.choices,
                              default=Status.NEW)
    status_reason = models.TextField(_("motif de l'état"), blank=True)
    # The reporter: never published, never shown to another commune's services.
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+", verbose_name=_("compte"))
    contact_name = models.CharField(_("nom du déclarant"), max_length=200, blank=True)
    contact_email = models.EmailField(_("courriel du déclarant"), blank=True)
    contact_phone = models.CharField(_("téléphone du déclarant"), max_length=40, blank=True)
    source = models.CharField(_("origine"), max_length=10, choices=Source.choices,
                              default=Source.WEB)
    device_id = models.CharField(_("appareil (Open311)"), max_length=100, blank=True)
    client_key = models.CharField(_("clé de soumission"), max_length=100, blank=True,
                                  help_text=_("Rend un envoi répété sans effet."))
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("agent chargé"))
    due_on = models.DateField(_("échéance"), null=True, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="duplicates", verbose_name=_("doublon de"))
    supports = models.PositiveIntegerField(_("soutiens"), default=0)
    created_at = models.DateTimeField(_("signalé le"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("mis à jour le"), auto_now=True)
    acknowledged_at = models.DateTimeField(_("pris en compte le"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("clos le"), null=True, blank=True)

    class Meta:
        verbose_name = _("signalement")
        verbose_name_plural = _("signalements")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["service", "status"]),
            GinIndex(name="signalements_descr_trgm", fields=["description"],
                     opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["client_key"], condition=~models.Q(client_key=""),
                                    name="signalements_client_key_once"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.category} ({self.get_status_display()})"

    @property
    def is_open(self):
        return self.status in Status.open_values()

    @property
    def reference(self):
        return f"S-{self.pk:06d}"


class ReportPhoto(models.Model):
    """A photo as served: re-encoded JPEG, at most PHOTO_MAX_SIDE pixels, no metadata at all.

    Stored in the database with its report, so a report and its photos are written (or refused)
    in one transaction and restored together."""
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    data = models.BinaryField(_("image JPEG"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    public = models.BooleanField(_("visible du public"), default=True,
                                 help_text=_("Décocher pour une photo montrant un visage, une "
                                             "plaque ou un lieu privé."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["id"]


class Support(models.Model):
    """A resident who says "me too" on an open report instead of filing a duplicate."""
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="support_set")
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "fingerprint"],
                                               name="signalements_support_once")]


class EventKind(models.TextChoices):
    CREATED = "created", _("signalement reçu")
    STATUS = "status", _("changement d'état")
    ASSIGNED = "assigned", _("affectation")
    DUE = "due", _("échéance")
    REROUTED = "rerouted", _("changement de service")
    COMMENT = "comment", _("commentaire interne")
    REPLY = "reply", _("réponse publique")
    MERGED = "merged", _("fusion de doublons")
    SUPPORTED = "supported", _("soutien")
    PHOTO = "photo", _("photo")
    UPDATED = "updated", _("modification du signalement")


class ReportEvent(models.Model):
    """The audit trail: every change of a report, who did it and when. Public events (status
    changes, public replies) show on the reporter's tracking page; the others only to services."""
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    public = models.BooleanField(default=False)
    before = models.CharField(max_length=200, blank=True)
    after = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)

    @staticmethod
    def _label(value):
        return Status(value).label if value in Status.values else value

    @property
    def before_label(self):
        return self._label(self.before)

    @property
    def after_label(self):
        return self._label(self.after)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("journal des signalements")
        ordering = ["at", "id"]


class Open311Client(models.Model):
    """An application allowed to submit reports through Open311 (its api_key)."""
    name = models.CharField(_("nom"), max_length=200)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("application Open311")
        verbose_name_plural = _("applications Open311")

    def __str__(self):
        return self.name

    @classmethod
    def issue(cls, name):
        """A new application and its api_key (shown once: only its SHA-256 is kept)."""
        key = "o311_" + secrets.token_urlsafe(24)
        client = cls.objects.create(name=name, key_hash=cls.hash(key), prefix=key[:10])
        return client, key

    @staticmethod
    def hash(key):
        return hashlib.sha256(key.encode()).hexdigest()


class RateCounter(models.Model):
    """Counters of the rate limits (signalements.ratecache), shared by every server process."""
    key = models.CharField(max_length=250, primary_key=True)
    value = models.BigIntegerField()
    expires = models.DateTimeField()


class MessageKind(models.TextChoices):
    ACKNOWLEDGEMENT = "accuse", _("accusé de réception au déclarant")
    STATUS = "statut", _("changement d'état, au déclarant")
    REPLY = "reponse", _("réponse publique, au déclarant")
    NEW_REPORT = "nouveau", _("nouveau signalement, au service")
    DIGEST = "recapitulatif", _("récapitulatif quotidien, au service")


class MessageTemplate(models.Model):
    """The text of an e-mail, editable in the administration (Django template language; the
    variables are listed in docs/guide-signalements.md). Without one, the built-in text is used."""
    kind = models.CharField(_("message"), max_length=20, choices=MessageKind.choices, unique=True)
    subject = models.CharField(_("objet"), max_length=200)
    body = models.TextField(_("texte"))

    class Meta:
        verbose_name = _("modèle de courriel")
        verbose_name_plural = _("modèles de courriel")

    def __str__(self):
        return self.get_kind_display()
