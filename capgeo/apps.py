from django.apps import AppConfig


class CapgeoConfig(AppConfig):
    """The project itself, installed last: its management commands (load_demo, makemessages)."""
    name = "capgeo"
    verbose_name = "C@p Géo"
