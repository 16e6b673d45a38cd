import json

from django.core.management.base import BaseCommand, CommandError

from signalements import personal_data


class Command(BaseCommand):
    help = ("Données personnelles des signalements (RGPD) : effacement après la durée de "
            "conservation (--anonymiser, à lancer chaque jour), export (--exporter ADRESSE) ou "
            "effacement (--effacer ADRESSE) des données d'un déclarant.")

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--anonymiser", action="store_true",
                           help="Effacer les contacts et les photos masquées des signalements "
                                "clos depuis plus de CAPGEO_REPORT_RETENTION_DAYS jours.")
        group.add_argument("--exporter", metavar="ADRESSE",
                           help="Afficher en JSON les signalements de ce déclarant.")
        group.add_argument("--effacer", metavar="ADRESSE",
                           help="Effacer le contact et les photos masquées de ce déclarant.")

    def handle(self, *args, anonymiser=False, exporter=None, effacer=None, **options):
        if anonymiser:
            reports, photos = personal_data.anonymise_expired()
            self.stdout.write(f"{reports} signalement(s) anonymisé(s), {photos} photo(s) "
                              "supprimée(s).")
        elif exporter:
            self.stdout.write(json.dumps(personal_data.export_for(exporter), ensure_ascii=False,
                                         indent=2))
        else:
            if "@" not in effacer:
                raise CommandError("Adresse électronique attendue.")
            reports, photos = personal_data.erase_for(effacer)
            self.stdout.write(f"{reports} signalement(s) effacé(s), {photos} photo(s) "
                              "supprimée(s).")
