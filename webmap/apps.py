from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebmapConfig(AppConfig):
    name = "webmap"
    label = "webmap"
    verbose_name = _("Carte web")
    default_auto_field = "django.db.models.BigAutoField"
