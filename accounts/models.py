"""People: each user belongs to one commune or to the intercommunality, with one role."""
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GIS_ADMIN = "gis_admin", _("Administrateur SIG")
    MUNICIPAL_AGENT = "municipal_agent", _("Agent municipal")
    SPANC_MANAGER = "spanc_manager", _("Responsable SPANC")
    SPANC_INSPECTOR = "spanc_inspector", _("Contrôleur SPANC")
    VIEWER = "viewer", _("Lecteur")


class User(AbstractUser):
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices, default=Role.VIEWER)
    commune = models.ForeignKey(
        "territory.Commune", on_delete=models.PROTECT, null=True, blank=True,
        related_name="members", verbose_name=_("commune"),
        help_text=_("Laisser vide pour un membre de l'intercommunalité."),
    )

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    @property
    def is_gis_admin(self):
        """GIS administrators (and superusers) manage the catalogue and every layer."""
        return self.is_active and (self.is_superuser or self.role == Role.GIS_ADMIN)

    @property
    def organisation_label(self):
        if self.commune_id:
            return self.commune.name
        from django.conf import settings

        return settings.CAPGEO_INTERCOMMUNALITY_NAME

    def save(self, *args, **kwargs):
        # GIS administrators work in the Django admin; the flag follows the role.
        if self.role == Role.GIS_ADMIN:
            self.is_staff = True
        super().save(*args, **kwargs)


class PersonalAccessToken(models.Model):
    """A secret a user gives QGIS or a script instead of a password (see accounts.tokens).

    Only the SHA-256 of the token is stored: the token itself is shown once, at creation.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE,
                             related_name="access_tokens", verbose_name=_("utilisateur"))
    name = models.CharField(_("nom"), max_length=100,
                            help_text=_("Pour vous y retrouver : « QGIS bureau », « script »…"))
    prefix = models.CharField(_("début du jeton"), max_length=12)
    token_hash = models.CharField(_("empreinte SHA-256"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("jeton d'accès personnel")
        verbose_name_plural = _("jetons d'accès personnels")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user.username} : {self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None
