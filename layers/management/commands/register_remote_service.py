"""manage.py register_remote_service URL --protocol wms [--layer ID …] [--usage basemap] …

Reads the capabilities (or reads them again for a registered service), lists the layers, and
publishes the chosen ones in the catalogue.
"""
from django.core.management.base import BaseCommand, CommandError

from layers.models import Layer, RemoteService, Theme
from layers.remote.fetch import RemoteError
from layers.remote.publish import AUDIENCES, publish, register_service


class Command(BaseCommand):
    help = ("Enregistre un service distant (WMS, WMTS, WFS) d'après ses capacités et publie les "
            "couches choisies dans le catalogue.")

    def add_arguments(self, parser):
        parser.add_argument("url", help="Adresse du service (ou du document de capacités WMTS).")
        parser.add_argument("--protocol", required=True, choices=RemoteService.Protocol.values)
        parser.add_argument("--title", default="", help="Titre du service (défaut : le sien).")
        parser.add_argument("--layer", action="append", default=[], dest="layers",
                            metavar="IDENTIFIANT", help="Couche distante à publier (répétable).")
        parser.add_argument("--all-layers", action="store_true", help="Publier toutes les couches.")
        parser.add_argument("--usage", choices=Layer.Usage.values, default=Layer.Usage.OVERLAY)
        parser.add_argument("--theme", help="Identifiant (slug) du thème.")
        parser.add_argument("--audience", choices=list(AUDIENCES), default="admins",
                            help="Qui peut consulter les couches publiées (défaut : admins).")

    def handle(self, *args, **options):
        theme = None
        if options["theme"]:
            theme = Theme.objects.filter(slug=options["theme"]).first()
            if theme is None:
                raise CommandError(f"Thème inconnu : « {options['theme']} ».")
        try:
            service, created = register_service(options["url"], options["protocol"],
                                                 options["title"])
        except RemoteError as error:
            raise CommandError(error.message) from None
        remote_layers = {layer.identifier: layer for layer in service.layers.all()}
        self.stdout.write(f"Service « {service.title} » ({service.get_protocol_display()} "
                          f"{service.version}) : {len(remote_layers)} couche(s), "
                          f"{len(created)} nouvelle(s).")
        wanted = list(remote_layers) if options["all_layers"] else options["layers"]
        unknown = [identifier for identifier in wanted if identifier not in remote_layers]
        if unknown:
            raise CommandError("Couche(s) absente(s) des capacités : " + ", ".join(unknown)
                               + ". Disponibles : " + ", ".join(sorted(remote_layers)))
        if not wanted:
            for identifier, layer in sorted(remote_layers.items()):
                self.stdout.write(f"  {identifier} — {layer.title}")
            self.stdout.write("Aucune couche publiée (--layer IDENTIFIANT ou --all-layers).")
            return
        for identifier in wanted:
            layer = publish(remote_layers[identifier], usage=options["usage"], theme=theme,
                            audience=options["audience"])
            self.stdout.write(self.style.SUCCESS(
                f"  {identifier} → couche « {layer.name} » ({layer.get_usage_display()})"))
