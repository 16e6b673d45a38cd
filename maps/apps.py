from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MapsConfig(AppConfig):
    """The map engine: Mapnik rendering, legends, remote sources, thumbnails and prints.

    It has no models; an app for its signals, its admin action and its management command."""
    name = "maps"
    verbose_name = _("Moteur de cartes")

    def ready(self):
        from . import signals

        signals.connect()  # thumbnails follow publications and default styles
