"""manage.py seed_tiles LAYER --zoom A-B [--bbox minx,miny,maxx,maxy] [--grid webmercator|lambert93]
[--style NAME]"""
import time

from django.core.management.base import BaseCommand, CommandError

from layers.models import Layer
from wms.tiles.grids import GRID_CHOICES, LAMBERT93_RESOLUTIONS, MAX_WEBMERCATOR_LEVEL
from wms.tiles.seed import SeedError, seed, shared_tile_manager
from wms.tiles.styles import DEFAULT

BAR_WIDTH = 30


def zoom_range(text):
    try:
        first, _, last = text.partition("-")
        first, last = int(first), int(last or first)
    except ValueError:
        raise CommandError(f"--zoom attend « A-B » (deux niveaux entiers), pas « {text} ».") from None
    if first < 0 or last < first:
        raise CommandError(f"--zoom : intervalle de niveaux invalide « {text} ».")
    return range(first, last + 1)


def bbox_option(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise CommandError("--bbox attend « minx,miny,maxx,maxy » en Lambert-93 (EPSG:2154), "
                           "avec min < max.")
    return values


class Bar:
    def __init__(self, stream, label):
        self.stream, self.label, self.started = stream, label, time.monotonic()

    def __call__(self, done, total):
        share = done / total if total else 1.0
        filled = int(share * BAR_WIDTH)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                          f"{share:6.1%} {done}/{total} tuiles, {elapsed:.1f} s", ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = "Calcule à l'avance les tuiles en cache d'une couche (cache partagé, toutes les lignes)."

    def add_arguments(self, parser):
        parser.add_argument("layer", help="nom technique de la couche (marquée « tuiles en cache »)")
        parser.add_argument("--zoom", required=True, help="niveaux, par exemple 10-14")
        parser.add_argument("--bbox", help="emprise minx,miny,maxx,maxy en Lambert-93 "
                                           "(par défaut : celle de la couche)")
        parser.add_argument("--grid", choices=sorted(GRID_CHOICES), default="webmercator",
                            help="grille (par défaut : webmercator)")
        parser.add_argument("--style", default=DEFAULT,
                            help="style nommé de la couche (par défaut : son style par défaut)")

    def handle(self, *args, layer, zoom, bbox=None, grid="webmercator", style=DEFAULT, **options):
        levels = zoom_range(zoom)
        max_level = MAX_WEBMERCATOR_LEVEL if grid == "webmercator" else len(LAMBERT93_RESOLUTIONS) - 1
        if levels.stop - 1 > max_level:
            raise CommandError(f"--zoom : la grille {grid} va du niveau 0 au niveau {max_level}.")
        try:
            catalogue_layer = Layer.objects.get(name=layer)
        except Layer.DoesNotExist:
            raise CommandError(f"Couche inconnue : {layer}.") from None
        if not catalogue_layer.cacheable or not catalogue_layer.is_vector:
            raise CommandError(f"La couche {layer} n'est pas marquée « tuiles en cache ».")
        if bbox:
            area = bbox_option(bbox)
        elif catalogue_layer.extent is not None:
            area = list(catalogue_layer.extent.extent)
        else:
            raise CommandError(f"La couche {layer} est vide : précisez --bbox.")
        try:
            base_config, manager = shared_tile_manager(layer, GRID_CHOICES[grid], style)
        except SeedError as error:
            raise CommandError(f"Couche, style ou grille introuvable : {error}.") from None
        label = layer if style == DEFAULT else f"{layer}, style {style}"
        progress = Bar(self.stderr, f"{label} ({grid})")
        total = seed(base_config, manager, area, levels, progress)
        self.stderr.write("")
        self.stdout.write(f"{total} tuiles calculées pour {label}, niveaux {levels.start} à "
                          f"{levels.stop - 1}, grille {grid}.")
