from django.core.management.base import BaseCommand

from signalements.notifications import send_digests


class Command(BaseCommand):
    help = ("Envoie le récapitulatif quotidien des nouveaux signalements aux services qui l'ont "
            "choisi (à lancer une fois par jour, par cron).")

    def handle(self, *args, **options):
        sent = send_digests()
        self.stdout.write(f"{sent} récapitulatif(s) envoyé(s).")
