from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetadataConfig(AppConfig):
    name = "metadata"
    verbose_name = _("Métadonnées et catalogue CSW")
    default_auto_field = "django.db.models.BigAutoField"
