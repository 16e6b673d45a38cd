from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WmsConfig(AppConfig):
    name = "wms"
    verbose_name = _("Services OGC")

    def ready(self):
        from . import ogc_reports
        from .tiles import signals as tile_signals

        ogc_reports.register()  # errors on /ows and /mapproxy/: the service's exception report
        tile_signals.connect()  # tile caches purged when a layer's data, rules or style change
