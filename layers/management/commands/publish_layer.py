"""manage.py publish_layer PATH — publish a layer from a file or a PostGIS table, in-process."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import User
from layers.models import ImportJob
from layers.publishing import PublishError, prepare_import, run_import


class ProgressBar:
    """A textual bar on stderr: [#########-----------]  45 % message"""

    def __init__(self, stream, width=30):
        self.stream, self.width = stream, width
        self.message = ""

    def __call__(self, percent, message=None):
        if message:
            self.message = message
        done = int(self.width * percent / 100)
        self.stream.write(f"\r[{'#' * done}{'-' * (self.width - done)}] {percent:3d} % "
                          f"{self.message[:60]:<60}", ending="")
        self.stream.flush()

    def close(self):
        self.stream.write("")
        self.stream.flush()


class Command(BaseCommand):
    help = _("Publie une couche depuis un GeoPackage, un Shapefile zippé, un GeoJSON, un CSV ou "
             "une table PostGIS (postgis:schéma.table).")
    # A data command: Django's system checks (the URL checks import every view, ~0.9 s) are run
    # by `manage.py check`, `migrate` and the server, not before each publication.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help=_("fichier à publier, ou postgis:schéma.table"))
        parser.add_argument("--layer", dest="source_layer", help=_("couche du GeoPackage à publier"))
        parser.add_argument("--name", help=_("nom technique de la couche (par défaut : d'après le "
                                             "nom du fichier)"))
        parser.add_argument("--title", help=_("titre de la couche"))
        parser.add_argument("--theme", help=_("identifiant (slug) du thème"))
        parser.add_argument("--srs", help=_("système de coordonnées de la source, EPSG:n"))
        parser.add_argument("--mode", choices=["create", "replace", "append"], default="create")
        parser.add_argument("--user", help=_("identifiant de l'administrateur SIG qui publie"))
        parser.add_argument("--x-field", help=_("colonne des X / longitudes (CSV)"))
        parser.add_argument("--y-field", help=_("colonne des Y / latitudes (CSV)"))
        parser.add_argument("--geometry-field", help=_("colonne WKT (CSV)"))
        parser.add_argument("--no-progress", action="store_true", help=_("sans barre de progression"))

    def handle(self, *args, path, source_layer, name, title, theme, srs, mode, user, x_field,
               y_field, geometry_field, no_progress, **options):
        publisher = None
        if user:
            publisher = User.objects.filter(username=user).first()
            if publisher is None:
                raise CommandError(_("Utilisateur « %(user)s » inconnu.") % {"user": user})
        layer_name = name or default_layer_name(path, source_layer)
        try:
            job = prepare_import(
                user=publisher, path=path, source_name=path.rsplit("/", 1)[-1], layer_name=layer_name,
                title=title, theme=theme, srs=srs, source_layer=source_layer, mode=mode,
                x_field=x_field, y_field=y_field, geometry_field=geometry_field, store=False,
            )
        except PublishError as error:
            raise CommandError(str(error)) from None
        self.stderr.style_func = None  # a plain bar, not coloured as an error
        bar = None if no_progress else ProgressBar(self.stderr)
        job = run_import(job.pk, on_progress=bar)
        if bar:
            bar.close()
        if job.status != ImportJob.Status.SUCCEEDED:
            raise CommandError(job.message)
        self.stdout.write(job.message)
        report = job.report
        self.stdout.write(
            _("Objets lus : %(read)s ; écrits : %(written)s ; géométries réparées : %(repaired)s ; "
              "ignorés : %(skipped)s ; système source : %(crs)s.") % {
                "read": report.get("features_read"), "written": report.get("features_written"),
                "repaired": report.get("geometries_repaired"), "skipped": report.get("skipped"),
                "crs": report.get("source_crs")})
        for old, new in report.get("renamed_columns", {}).items():
            self.stdout.write(_("Colonne renommée : « %(old)s » → %(new)s") % {"old": old, "new": new})
        for warning in report.get("warnings", []):
            self.stdout.write(_("Avertissement : %(warning)s") % {"warning": warning})
        self.stdout.write(_("Rapport complet (JSON) :"))
        self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))


def default_layer_name(path, source_layer=None):
    """A technical name from the source's name: "Zones d'activité.gpkg" -> "zones_d_activite"."""
    from layers.publishing.finalise import launder

    if str(path).lower().startswith(("postgis:", "pg:")):
        stem = source_layer or str(path).split(":", 1)[1].rsplit(".", 1)[-1]
    else:
        stem = source_layer or Path(path).stem
    name = launder(stem, set(), set())[:48]
    return name if name[:1].isalpha() else f"couche_{name}"[:48]
