"""Saved maps: named compositions of catalogue layers, shared with an audience.

A map never grants access to its layers: when it is opened, each layer still goes through the
access policy, and the ones the visitor may not view are dropped (webmap.config). A map's layer
keeps the layer's technical name, so a map whose layer was deleted still says that something is
missing instead of silently changing.
"""
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from layers.access import AccessPolicy
from layers.models import Audience, Layer

# The local basemap drawn from the demo/catalogue layer of commune boundaries (works offline).
LOCAL_BASEMAP = "communes"
NO_BASEMAP = "aucun"
# Paths under /carte/ that a map's slug cannot take.
RESERVED_SLUGS = {"cartes", "recherche", "impression", "config-json"}


class SavedMapQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The maps shared with this user: the audiences of the access policy, which decides."""
        policy = AccessPolicy.for_user(user)
        if policy.is_admin:
            return self.all()
        return self.filter(policy.audience_q()).distinct()


class SavedMap(models.Model):
    slug = models.SlugField(_("identifiant"), unique=True, max_length=80,
                            help_text=_("Utilisé dans l'adresse de la carte : /carte/identifiant/."))
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    audience = models.CharField(_("partagée avec"), max_length=20, choices=Audience.choices,
                                default=Audience.PUBLIC)
    communes = models.ManyToManyField("territory.Commune", blank=True, related_name="+",
                                      verbose_name=_("communes"))
    roles = ArrayField(models.CharField(max_length=32, choices=Role.choices),
                       verbose_name=_("rôles"), default=list, blank=True)
    basemap = models.CharField(
        _("fond de plan"), max_length=48, default=LOCAL_BASEMAP,
        help_text=_("Nom technique d'une couche de fond (« communes » : plan local des "
                    "communes ; « aucun » : sans fond)."),
    )
    extent = models.PolygonField(_("emprise initiale"), srid=settings.CAPGEO_STORAGE_SRID,
                                 null=True, blank=True,
                                 help_text=_("Vide : l'emprise de ses couches."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("créée par"))
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = SavedMapQuerySet.as_manager()

    class Meta:
        verbose_name = _("carte enregistrée")
        verbose_name_plural = _("cartes enregistrées")
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("webmap:saved", args=[self.slug])

    def clean(self):
        if self.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": _("Cet identifiant est réservé, choisissez-en un "
                                             "autre.")})
        if self.audience == Audience.ROLES and not self.roles:
            raise ValidationError(_("Choisissez au moins un rôle."))


class SavedMapLayer(models.Model):
    saved_map = models.ForeignKey(SavedMap, on_delete=models.CASCADE, related_name="map_layers",
                                  verbose_name=_("carte"))
    layer = models.ForeignKey(Layer, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("couche"))
    layer_name = models.CharField(_("nom technique"), max_length=48, editable=False,
                                  help_text=_("Conservé si la couche est supprimée."))
    position = models.PositiveSmallIntegerField(
        _("ordre"), default=0, help_text=_("Du dessous (0) vers le dessus."))
    style = models.CharField(_("style"), max_length=64, blank=True,
                             help_text=_("Nom du style ; vide : style par défaut."))
    opacity = models.FloatField(_("opacité"), default=1.0,
                                validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    visible = models.BooleanField(_("affichée à l'ouverture"), default=True)

    class Meta:
        verbose_name = _("couche de la carte")
        verbose_name_plural = _("couches de la carte")
        ordering = ["saved_map", "position", "id"]

    def __str__(self):
        return self.layer_name

    def save(self, *args, **kwargs):
        if self.layer_id:
            self.layer_name = Layer.objects.values_list("name", flat=True).get(pk=self.layer_id)
        super().save(*args, **kwargs)

    def clean(self):
        if self.layer_id is None and not self.layer_name:
            raise ValidationError(_("Choisissez une couche."))
        if self.layer_id and self.style and not self.layer.styles.filter(name=self.style).exists():
            raise ValidationError({"style": _("La couche « %(layer)s » n'a pas de style "
                                              "« %(style)s ».")
                                   % {"layer": self.layer.name, "style": self.style}})
