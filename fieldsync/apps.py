from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldsyncConfig(AppConfig):
    name = "fieldsync"
    verbose_name = _("Synchronisation terrain (SPANC)")

    def ready(self):
        # The record types (fieldsync.records) register their published layers on import.
        from . import records  # noqa: F401
