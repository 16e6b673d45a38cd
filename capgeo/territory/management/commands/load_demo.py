from django.core.management.base import BaseCommand

from capgeo.territory.demo import load_demo


class Command(BaseCommand):
    help = "Charge le territoire de démonstration (Cap Atlantique) et les comptes de démonstration."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-accounts", action="store_true", help="Ne pas créer les comptes de démonstration."
        )

    def handle(self, *args, no_accounts=False, **options):
        report = load_demo(with_accounts=not no_accounts)
        if report.changed:
            self.stdout.write(
                f"Démo : {report.communes_created} communes, {report.town_halls_created} mairies, "
                f"{len(report.accounts_created)} comptes créés."
            )
        else:
            self.stdout.write("Démo : déjà chargée, rien à faire.")
