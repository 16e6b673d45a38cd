"""manage.py seed_tiles LAYER --zoom A-B [--bbox minx,miny,maxx,maxy] [--grid webmercator|lambert93]
[--style NAME] [--here | --no-wait]

The seed is queued in parts for the background workers (wms.tiles.seed.queue_seed) and followed
until done; --no-wait only queues it, --here renders it in this process."""
import time

from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.models import DBTaskResult

from layers.models import Layer
from wms.tiles.grids import GRID_CHOICES, LAMBERT93_RESOLUTIONS, MAX_WEBMERCATOR_LEVEL
from wms.tiles.seed import SeedError, queue_seed, seed, shared_tile_manager
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
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--here", action="store_true",
                           help="calculer dans ce processus plutôt que par les travailleurs de "
                                "tâches de fond (import_worker)")
        where.add_argument("--no-wait", action="store_true",
                           help="mettre les tuiles en file sans attendre qu'elles soient calculées")

    def handle(self, *args, layer, zoom, bbox=None, grid="webmercator", style=DEFAULT, here=False,
               no_wait=False, **options):
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
        label = layer if style == DEFAULT else f"{layer}, style {style}"
        progress = Bar(self.stderr, f"{label} ({grid})")
        try:
            if here:
                base_config, manager = shared_tile_manager(layer, GRID_CHOICES[grid], style)
                total = seed(base_config, manager, area, levels, progress)
            else:
                ids, total = queue_seed(layer, GRID_CHOICES[grid], style, area, levels)
        except SeedError as error:
            raise CommandError(f"Couche, style ou grille introuvable : {error}.") from None
        if not here and no_wait:
            self.stdout.write(f"{total} tuiles de {label} mises en file ({len(ids)} tâches) : les "
                              f"travailleurs de tâches de fond (import_worker) les calculent.")
            return
        if not here:
            self.follow(ids, total, progress)
        self.stderr.write("")
        self.stdout.write(f"{total} tuiles calculées pour {label}, niveaux {levels.start} à "
                          f"{levels.stop - 1}, grille {grid}.")

    def follow(self, ids, total, progress, interval=0.5):
        """Wait for the queued parts, the bar counting the tiles of the finished ones."""
        from layers.workers import live_workers

        if not live_workers():
            self.stderr.write("Aucun travailleur de tâches de fond ne tourne : lancez "
                              "« manage.py import_worker » (ou relancez avec --here).")
        progress(0, total)
        while True:
            parts = list(DBTaskResult.objects.filter(id__in=ids).values("status", "return_value"))
            failed = [p for p in parts if p["status"] == "FAILED"]
            if failed:
                self.stderr.write("")
                raise CommandError(f"{len(failed)} partie(s) du calcul ont échoué (voir le journal "
                                   f"des travailleurs de tâches de fond) ; relancez la commande.")
            done = [p for p in parts if p["status"] == "SUCCESSFUL"]
            progress(sum(p["return_value"] or 0 for p in done), total)
            if len(done) == len(ids):
                return
            time.sleep(interval)
