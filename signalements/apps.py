from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignalementsConfig(AppConfig):
    name = "signalements"
    verbose_name = _("Signalements")

    def ready(self):
        from platform_web.error_responses import register_error_space

        from .open311 import error_document

        # Every error under /open311/ (router, input guard, CSRF…): the GeoReport v2 error list.
        register_error_space("/open311/", error_document, ("application/json", "text/xml"))
        # Its layers are published from the reports: protocol writes to them are refused.
        from layers.features.maintained import maintain

        from .publication import LAYERS
        for name in LAYERS:
            maintain(name, _("la gestion des signalements"))
