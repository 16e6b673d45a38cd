"""Delete the entries of the « qui a lu quoi » journal older than the retention period."""
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from layers.models import PersonalDataRead


class Command(BaseCommand):
    help = ("Supprime les lectures de données personnelles plus anciennes que la durée de "
            "conservation (CAPGEO_PERSONAL_DATA_READS_RETENTION_DAYS).")

    def handle(self, *args, **options):
        days = int(settings.CAPGEO_PERSONAL_DATA_READS_RETENTION_DAYS)
        limit = timezone.now() - timezone.timedelta(days=days)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Lifts the append-only guard (migration layers 0009) for this transaction only.
                cursor.execute("SELECT set_config('capgeo.purge_personal_reads', 'on', true)")
            deleted, _ = PersonalDataRead.objects.filter(read_at__lt=limit).delete()
        self.stdout.write(f"{deleted} lecture(s) de plus de {days} jours supprimée(s).")
