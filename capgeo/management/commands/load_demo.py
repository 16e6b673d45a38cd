from django.core.management.base import BaseCommand

from capgeo.demo import load_demo


class Command(BaseCommand):
    help = ("Charge le territoire de démonstration (Cap Atlantique), les comptes et le catalogue "
            "de démonstration.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-accounts", action="store_true", help="Ne pas créer les comptes de démonstration."
        )
        parser.add_argument(
            "--no-catalogue", action="store_true",
            help="Ne pas créer les couches de démonstration du catalogue.",
        )

    def handle(self, *args, no_accounts=False, no_catalogue=False, **options):
        report = load_demo(with_accounts=not no_accounts, with_catalogue=not no_catalogue,
                           thumbnails=True)
        maps, installations, reports = [], 0, 0
        if not no_catalogue:
            # Demo saved maps, and SPANC installations with a campaign for the demo inspector
            # (only with the demo accounts: the campaign is theirs).
            from webmap.demo import load_saved_maps_demo

            maps = load_saved_maps_demo()
            if not no_accounts:
                from fieldsync.demo import load_spanc_demo

                installations = load_spanc_demo()
                # Report types, services (with the demo agents) and reports.
                from signalements.demo import load_signalements_demo

                reports = load_signalements_demo()
        if report.changed or maps or installations or reports:
            self.stdout.write(
                f"Démo : {report.communes_created} communes, {report.town_halls_created} mairies, "
                f"{len(report.accounts_created)} comptes, "
                f"{len(report.layers_created)} couches du catalogue, {len(maps)} cartes, "
                f"{installations} installations ANC, {reports} signalements créés."
            )
        else:
            self.stdout.write("Démo : déjà chargée, rien à faire.")
