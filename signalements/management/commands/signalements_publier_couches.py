from django.core.management.base import BaseCommand

from signalements import publication


class Command(BaseCommand):
    help = ("Crée les couches « signalements » et « signalements_services » si besoin et les "
            "reconstruit depuis les signalements.")

    def handle(self, *args, **options):
        publication.rebuild()
        self.stdout.write("Couches des signalements reconstruites.")
