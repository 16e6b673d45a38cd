from django.core.management.base import BaseCommand, CommandError

from layers.models import Layer
from maps.thumbnails import render_thumbnail


class Command(BaseCommand):
    help = "Regénère les vignettes des couches vectorielles du catalogue (toutes, ou celles nommées)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NOM",
                            help="Noms techniques des couches (par défaut : toutes).")
        parser.add_argument("--missing", action="store_true",
                            help="Seulement les couches qui n'ont pas encore de vignette.")

    def handle(self, *args, names=(), missing=False, **options):
        layers = Layer.objects.filter(kind=Layer.Kind.VECTOR).order_by("name")
        if names:
            layers = layers.filter(name__in=names)
            unknown = sorted(set(names) - set(layers.values_list("name", flat=True)))
            if unknown:
                raise CommandError(f"Couche(s) vectorielle(s) inconnue(s) : {', '.join(unknown)}.")
        if missing:
            layers = layers.filter(thumbnail="")
        failures = 0
        for layer in layers:
            try:
                render_thumbnail(layer)
            except Exception as error:  # one broken layer must not stop the others
                failures += 1
                self.stderr.write(f"{layer.name} : vignette impossible ({error}).")
            else:
                self.stdout.write(f"{layer.name} : vignette regénérée.")
        if failures:
            raise CommandError(f"{failures} vignette(s) non regénérée(s).")
