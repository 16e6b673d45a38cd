"""Create the SPANC catalogue layers and rebuild their tables from the domain models."""
from django.core.management.base import BaseCommand

from fieldsync import publication


class Command(BaseCommand):
    help = "Crée les couches SPANC du catalogue et reconstruit leurs tables."

    def handle(self, *args, **options):
        publication.rebuild()
        self.stdout.write(self.style.SUCCESS("Couches SPANC à jour : "
                                             + ", ".join(publication.LAYERS)))
