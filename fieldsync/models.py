"""SPANC domain (arrêté du 27 avril 2012) and the bookkeeping of the offline sync protocol.

Vocabularies (control kinds, component types, checklist items, conclusions, works deadlines and
the Annexe II grid itself) are rows, seeded by migration 0002 and editable in the admin. Only the
finding *categories* of Annexe II and the zone kinds are code: the grid logic depends on them.

Every synced record (installation, control) is identified by a UUID that the tablet may generate
offline, and carries a version incremented by each accepted change (optimistic concurrency).
"""
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _


# --- Vocabularies ----------------------------------------------------------------------------
class FindingCategory(models.TextChoices):
    """The rows of the Annexe II grid, from the most severe down."""
    ABSENCE = "absence", _("absence d'installation")
    DANGER = "danger", _("danger pour la santé des personnes")
    INCOMPLETE = "incomplete", _("installation incomplète, sous-dimensionnée ou dysfonctionnements majeurs")
    DEFECTS = "defects", _("défauts d'entretien ou d'usure")
    NONE = "none", _("aucun défaut constaté")


SEVERITY = [FindingCategory.ABSENCE, FindingCategory.DANGER, FindingCategory.INCOMPLETE,
            FindingCategory.DEFECTS, FindingCategory.NONE]


class Zone(models.TextChoices):
    """The columns of the Annexe II grid."""
    OUTSIDE = "outside", _("hors zone à enjeu")
    SANITARY = "sanitary", _("zone à enjeu sanitaire")
    ENVIRONMENTAL = "environmental", _("zone à enjeu environnemental")


class Vocabulary(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    label = models.CharField(_("libellé"), max_length=300)
    order = models.PositiveSmallIntegerField(_("ordre"), default=100)
    active = models.BooleanField(_("en usage"), default=True)

    class Meta:
        abstract = True
        ordering = ["order", "code"]

    def __str__(self):
        return self.label


class ControlKind(Vocabulary):
    periodic = models.BooleanField(
        _("fixe la date du prochain contrôle"), default=True,
        help_text=_("Faux pour l'examen préalable de la conception, qui porte sur un projet."))
    is_sale = models.BooleanField(_("contrôle en vue de la vente"), default=False)

    class Meta(Vocabulary.Meta):
        verbose_name = _("nature de contrôle")
        verbose_name_plural = _("natures de contrôle")


class ComponentType(Vocabulary):
    class Stage(models.TextChoices):
        PRETREATMENT = "pretreatment", _("prétraitement")
        TREATMENT = "treatment", _("traitement")
        DISCHARGE = "discharge", _("évacuation")

    stage = models.CharField(_("étape"), max_length=20, choices=Stage.choices)
    approved_device = models.BooleanField(
        _("dispositif agréé"), default=False,
        help_text=_("Demande un numéro d'agrément ministériel."))

    class Meta(Vocabulary.Meta):
        verbose_name = _("type de composant")
        verbose_name_plural = _("types de composant")


class ChecklistItem(Vocabulary):
    category = models.CharField(_("catégorie de l'annexe II"), max_length=20,
                                choices=FindingCategory.choices[:-1])
    control_kinds = models.ManyToManyField(ControlKind, related_name="checklist_items",
                                           verbose_name=_("natures de contrôle"))
    guidance = models.TextField(_("aide au contrôleur"), blank=True)

    class Meta(Vocabulary.Meta):
        verbose_name = _("point de contrôle")
        verbose_name_plural = _("points de contrôle")


class WorksDeadline(Vocabulary):
    years = models.PositiveSmallIntegerField(_("délai (années)"), null=True, blank=True)
    years_after_sale = models.PositiveSmallIntegerField(
        _("délai après la vente (années)"), null=True, blank=True)
    as_soon_as_possible = models.BooleanField(_("dès que possible"), default=False)

    class Meta(Vocabulary.Meta):
        verbose_name = _("délai de travaux")
        verbose_name_plural = _("délais de travaux")


class Conclusion(Vocabulary):
    compliant = models.BooleanField(
        _("conforme (indicateur P301.3)"), default=False,
        help_text=_("Absence de non-conformité : compte comme conforme dans l'indicateur."))
    works_deadline = models.ForeignKey(
        WorksDeadline, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("travaux obligatoires dans un délai de"))
    color = models.CharField(_("couleur de carte"), max_length=7, default="#777777")

    class Meta(Vocabulary.Meta):
        verbose_name = _("conclusion")
        verbose_name_plural = _("conclusions")


class GridRule(models.Model):
    """One cell of the Annexe II grid: finding category × zone → conclusion."""
    category = models.CharField(_("constat"), max_length=20, choices=FindingCategory.choices)
    zone = models.CharField(_("zone"), max_length=20, choices=Zone.choices)
    conclusion = models.ForeignKey(Conclusion, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("conclusion"))

    class Meta:
        verbose_name = _("case de la grille (annexe II)")
        verbose_name_plural = _("grille de l'annexe II")
        constraints = [models.UniqueConstraint(fields=["category", "zone"],
                                               name="fieldsync_unique_grid_cell")]

    def __str__(self):
        return f"{self.get_category_display()} / {self.get_zone_display()}"


class CommunePeriod(models.Model):
    """The periodicity the service set for a commune (CGCT L2224-8: ten years at most)."""
    commune = models.OneToOneField("territory.Commune", on_delete=models.CASCADE,
                                   related_name="spanc_period", verbose_name=_("commune"))
    years = models.PositiveSmallIntegerField(
        _("périodicité (années)"), default=10,
        validators=[MinValueValidator(1), MaxValueValidator(10)])
    years_non_compliant = models.PositiveSmallIntegerField(
        _("périodicité d'une installation non conforme (années)"), default=4,
        validators=[MinValueValidator(1), MaxValueValidator(10)])

    class Meta:
        verbose_name = _("périodicité communale")
        verbose_name_plural = _("périodicités communales")
        constraints = [
            models.CheckConstraint(condition=models.Q(years__gte=1, years__lte=10),
                                   name="fieldsync_period_at_most_10_years"),
            models.CheckConstraint(condition=models.Q(years_non_compliant__gte=1,
                                                      years_non_compliant__lte=10),
                                   name="fieldsync_nc_period_at_most_10_years"),
        ]

    def __str__(self):
        return f"{self.commune.name} : {self.years} ans"


class ZoneLayer(models.Model):
    """A catalogue layer whose polygons are zones à enjeu (sanitaire or environnemental)."""
    layer = models.OneToOneField("layers.Layer", on_delete=models.CASCADE,
                                 related_name="spanc_zone", verbose_name=_("couche"))
    kind = models.CharField(_("nature de la zone"), max_length=20,
                            choices=Zone.choices[1:])

    class Meta:
        verbose_name = _("couche de zones à enjeu")
        verbose_name_plural = _("couches de zones à enjeu")

    def __str__(self):
        return f"{self.layer.name} ({self.get_kind_display()})"


# --- Installations and controls ---------------------------------------------------------------
class Installation(models.Model):
    uuid = models.UUIDField(_("identifiant"), default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    commune = models.ForeignKey("territory.Commune", on_delete=models.PROTECT,
                                related_name="spanc_installations", verbose_name=_("commune"))
    location = models.PointField(_("emplacement"), srid=settings.CAPGEO_STORAGE_SRID)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    parcels = ArrayField(models.CharField(max_length=20), verbose_name=_("parcelles cadastrales"),
                         default=list, blank=True)
    # Personal data: only SPANC staff of the commune and administrators (fieldsync.scope).
    owner_name = models.CharField(_("propriétaire"), max_length=200, blank=True)
    owner_address = models.CharField(_("adresse du propriétaire"), max_length=300, blank=True)
    owner_phone = models.CharField(_("téléphone du propriétaire"), max_length=30, blank=True)
    owner_email = models.EmailField(_("courriel du propriétaire"), blank=True)
    capacity_eh = models.PositiveSmallIntegerField(_("capacité (EH)"), null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(_("année de mise en service"), null=True,
                                                  blank=True)
    sanitary_zone = models.BooleanField(_("en zone à enjeu sanitaire"), default=False)
    environmental_zone = models.BooleanField(_("en zone à enjeu environnemental"), default=False)
    zones_computed_at = models.DateTimeField(_("zones calculées le"), null=True, blank=True)
    # Who created it from the field: an inspector's scope holds the installations he created.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("créée par"))
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("installation d'ANC")
        verbose_name_plural = _("installations d'ANC")
        ordering = ["commune__name", "address"]

    def __str__(self):
        return f"{self.address or self.uuid} ({self.commune.name})"

    @property
    def zone(self):
        # Sanitary first: where both apply, a danger for health is the more severe verdict.
        if self.sanitary_zone:
            return Zone.SANITARY
        if self.environmental_zone:
            return Zone.ENVIRONMENTAL
        return Zone.OUTSIDE


class Component(models.Model):
    installation = models.ForeignKey(Installation, on_delete=models.CASCADE,
                                     related_name="components")
    type = models.ForeignKey(ComponentType, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("type"))
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=6, decimal_places=2, null=True,
                                    blank=True)
    approval_number = models.CharField(_("numéro d'agrément"), max_length=50, blank=True)
    comment = models.CharField(_("remarque"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("composant")
        verbose_name_plural = _("composants")
        ordering = ["order", "id"]


class Campaign(models.Model):
    name = models.CharField(_("nom"), max_length=200)
    kind = models.ForeignKey(ControlKind, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("nature des contrôles"))
    communes = models.ManyToManyField("territory.Commune", blank=True, related_name="+",
                                      verbose_name=_("communes"))
    area = models.MultiPolygonField(_("zone dessinée"), srid=settings.CAPGEO_STORAGE_SRID,
                                    null=True, blank=True)
    starts_on = models.DateField(_("début"), null=True, blank=True)
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campagne")
        verbose_name_plural = _("campagnes")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class ControlStatus(models.TextChoices):
    PLANNED = "planned", _("planifié")
    ASSIGNED = "assigned", _("attribué")
    IN_PROGRESS = "in_progress", _("en cours")
    SUBMITTED = "submitted", _("transmis")
    VALIDATED = "validated", _("validé")
    REJECTED = "rejected", _("refusé")


# A submitted control is immutable; only a manager's decision moves it on.
FROZEN_STATUSES = {ControlStatus.SUBMITTED, ControlStatus.VALIDATED, ControlStatus.REJECTED}


class Control(models.Model):
    uuid = models.UUIDField(_("identifiant"), default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    installation = models.ForeignKey(Installation, on_delete=models.PROTECT,
                                     related_name="controls", verbose_name=_("installation"))
    kind = models.ForeignKey(ControlKind, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("nature"))
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="controls", verbose_name=_("campagne"))
    status = models.CharField(_("état"), max_length=20, choices=ControlStatus.choices,
                              default=ControlStatus.PLANNED)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="spanc_controls",
                                  verbose_name=_("contrôleur"))
    visit_date = models.DateField(_("date de visite"), null=True, blank=True)
    sale_date = models.DateField(_("date de la vente"), null=True, blank=True)
    conclusion = models.ForeignKey(Conclusion, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("conclusion"))
    works_required = models.BooleanField(_("travaux obligatoires"), default=False)
    works_deadline = models.ForeignKey(WorksDeadline, on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="+",
                                       verbose_name=_("délai des travaux"))
    works_due_on = models.DateField(_("travaux à réaliser avant le"), null=True, blank=True)
    next_control_on = models.DateField(_("prochain contrôle"), null=True, blank=True)
    comments = models.TextField(_("observations"), blank=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by",
                                      verbose_name=_("corrige le contrôle"))
    submitted_at = models.DateTimeField(_("transmis le"), null=True, blank=True)
    decided_at = models.DateTimeField(_("validé ou refusé le"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    rejection_reason = models.TextField(_("motif du refus"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contrôle")
        verbose_name_plural = _("contrôles")
        ordering = ["-visit_date", "-created_at"]
        indexes = [models.Index(fields=["inspector", "status"])]

    def __str__(self):
        return f"{self.kind} — {self.installation}"

    @property
    def frozen(self):
        return self.status in FROZEN_STATUSES


class FindingResult(models.TextChoices):
    OK = "ok", _("satisfaisant")
    DEFECT = "defect", _("non satisfaisant")
    NOT_CHECKED = "not_checked", _("non vérifiable")


class Finding(models.Model):
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("point de contrôle"))
    result = models.CharField(_("résultat"), max_length=20, choices=FindingResult.choices)
    comment = models.CharField(_("remarque"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("constat")
        verbose_name_plural = _("constats")
        constraints = [models.UniqueConstraint(fields=["control", "item"],
                                               name="fieldsync_one_finding_per_item")]


class PhotoBlob(models.Model):
    """A photo file, identified by its SHA-256: uploaded once however many controls show it."""
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField(_("taille (octets)"))
    content_type = models.CharField(_("type"), max_length=50, default="image/jpeg")
    received = models.PositiveBigIntegerField(_("octets reçus"), default=0)
    verified = models.BooleanField(_("vérifiée"), default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Whose upload the bytes received so far are (until verified): another user's bytes go to a
    # file of his own (fieldsync.photos), so that nobody proves he has a photo by completing
    # someone else's upload.
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+", verbose_name=_("envoyée par"))

    class Meta:
        verbose_name = _("photo (fichier)")
        verbose_name_plural = _("photos (fichiers)")


class ControlPhoto(models.Model):
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="photos")
    blob = models.ForeignKey(PhotoBlob, on_delete=models.PROTECT, related_name="uses")
    caption = models.CharField(_("légende"), max_length=300, blank=True)
    taken_at = models.DateTimeField(_("prise le"), null=True, blank=True)
    # A photo is stored once per SHA-256, but knowing a SHA-256 is not having the photo: it counts
    # as present for this control once its bytes were received from someone who may see this
    # control (uploaded for it, or already visible to the user who announced it).
    proven = models.BooleanField(_("reçue pour ce contrôle"), default=False)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        constraints = [models.UniqueConstraint(fields=["control", "blob"],
                                               name="fieldsync_photo_once_per_control")]


class RecordPhoto(models.Model):
    """A photo announced by a field record of a type without its own photo table (a report,
    fieldsync.records.signalement): the record by its type and UUID, the file by its SHA-256.
    Like ControlPhoto, it counts for the record once its bytes were received from a user who
    may read the record (`proven`)."""
    entity = models.CharField(_("type d'enregistrement"), max_length=20)
    record_uuid = models.UUIDField(_("enregistrement"))
    blob = models.ForeignKey(PhotoBlob, on_delete=models.PROTECT, related_name="record_uses")
    caption = models.CharField(_("légende"), max_length=300, blank=True)
    proven = models.BooleanField(_("reçue pour cet enregistrement"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo d'un enregistrement terrain")
        verbose_name_plural = _("photos des enregistrements terrain")
        constraints = [models.UniqueConstraint(fields=["entity", "record_uuid", "blob"],
                                               name="fieldsync_photo_once_per_record")]
        indexes = [models.Index(fields=["entity", "record_uuid"])]


# --- Sync bookkeeping -------------------------------------------------------------------------
class Device(models.Model):
    id = models.UUIDField(_("identifiant de l'appareil"), primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="spanc_devices", verbose_name=_("utilisateur"))
    name = models.CharField(_("nom"), max_length=100)
    active = models.BooleanField(_("autorisé"), default=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appareil")
        verbose_name_plural = _("appareils")

    def __str__(self):
        return f"{self.name} ({self.user})"


class SyncBatch(models.Model):
    """A pushed batch, stored raw before anything is applied; its answer is kept for replays."""
    id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="batches")
    payload = models.JSONField(_("lot reçu"))
    payload_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(_("réponse"), null=True, blank=True)
    # Set when the background worker gave up applying the batch (it died while applying it, more
    # times than retried: fieldsync.push_queue); cleared when the batch is sent again.
    failed_at = models.DateTimeField(_("abandonné le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lot synchronisé")
        verbose_name_plural = _("lots synchronisés")
        ordering = ["-received_at"]


class ChangeStatus(models.TextChoices):
    APPLIED = "applied", _("appliquée")
    DUPLICATE = "duplicate", _("déjà reçue")
    CONFLICT = "conflict", _("en conflit")
    REJECTED = "rejected", _("refusée")


class SyncChange(models.Model):
    """The outcome of one change, keyed by the client's UUID: a change is applied at most once."""

    class Resolution(models.TextChoices):
        OPEN = "open", _("à arbitrer")
        KEPT_SERVER = "kept_server", _("version du serveur conservée")
        TOOK_CLIENT = "took_client", _("version du terrain appliquée")
        RESUBMITTED = "resubmitted", _("renvoyée par le contrôleur")

    id = models.UUIDField(primary_key=True)
    batch = models.ForeignKey(SyncBatch, on_delete=models.PROTECT, related_name="changes")
    position = models.PositiveIntegerField()
    entity = models.CharField(max_length=20)
    op = models.CharField(max_length=20)
    entity_uuid = models.UUIDField(null=True)
    base_version = models.PositiveIntegerField(null=True)
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=ChangeStatus.choices)
    answer = models.JSONField(default=dict)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("modification reçue")
        verbose_name_plural = _("modifications reçues")
        indexes = [models.Index(fields=["status", "resolution"])]


class ChangeLog(models.Model):
    """The server's monotonic sequence: pull cursors are ids of this table.

    Rows are written under a transaction-level advisory lock (fieldsync.history) so that ids are
    committed in order: a reader never skips a change that commits late.
    """
    id = models.BigAutoField(primary_key=True)
    entity = models.CharField(max_length=20)
    entity_uuid = models.UUIDField()
    version = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["entity_uuid"])]


class AuditEntry(models.Model):
    """Every accepted change, whoever made it and from which device."""
    at = models.DateTimeField(_("le"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("par"))
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("appareil"))
    action = models.CharField(_("action"), max_length=40)
    entity = models.CharField(_("objet"), max_length=20)
    entity_uuid = models.UUIDField()
    version = models.PositiveIntegerField()
    change = models.ForeignKey(SyncChange, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("entrée du journal d'audit")
        verbose_name_plural = _("journal d'audit")
        ordering = ["-at", "-id"]
