"""The intercommunality and its member communes, stored in Lambert-93."""
from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Intercommunality(models.Model):
    name = models.CharField(_("nom"), max_length=200, unique=True)
    siren = models.CharField(_("SIREN"), max_length=9, unique=True)
    attribution = models.CharField(
        _("attribution des limites"), max_length=200, blank=True,
        help_text=_("Source et licence des limites communales, affichées avec la carte."),
    )

    class Meta:
        verbose_name = _("intercommunalité")
        verbose_name_plural = _("intercommunalités")

    def __str__(self):
        return self.name


class Commune(models.Model):
    insee = models.CharField(_("code INSEE"), max_length=5, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    department = models.CharField(_("département"), max_length=3)
    population = models.PositiveIntegerField(_("population municipale"), null=True, blank=True)
    intercommunality = models.ForeignKey(
        Intercommunality, on_delete=models.PROTECT, related_name="communes",
        verbose_name=_("intercommunalité"),
    )
    geom = models.MultiPolygonField(_("limite communale"), srid=settings.CAPGEO_STORAGE_SRID)

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.insee})"

    @property
    def area_km2(self):
        return self.geom.area / 1_000_000 if self.geom else None


class TownHall(models.Model):
    commune = models.OneToOneField(
        Commune, on_delete=models.CASCADE, related_name="town_hall", verbose_name=_("commune")
    )
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    location = models.PointField(_("emplacement"), srid=settings.CAPGEO_STORAGE_SRID)

    class Meta:
        verbose_name = _("mairie")
        verbose_name_plural = _("mairies")
        ordering = ["commune__name"]

    def __str__(self):
        return _("Mairie de %(commune)s") % {"commune": self.commune.name}
