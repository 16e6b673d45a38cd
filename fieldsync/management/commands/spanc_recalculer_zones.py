"""Recompute every installation's zones à enjeu after a zone layer changed."""
from django.core.management.base import BaseCommand
from django.db import transaction

from fieldsync import publication, zones
from fieldsync.models import Installation
from fieldsync.records import installation as installation_type


class Command(BaseCommand):
    help = "Recalcule les zones à enjeu sanitaire et environnemental des installations."

    def handle(self, *args, **options):
        changed = 0
        for installation in Installation.objects.iterator(chunk_size=500):
            before = (installation.sanitary_zone, installation.environmental_zone)
            zones.compute_zones(installation)
            with transaction.atomic():
                installation.save(update_fields=["sanitary_zone", "environmental_zone",
                                                 "zones_computed_at"])
                if before != (installation.sanitary_zone, installation.environmental_zone):
                    publication.publish({installation_type.LAYER.name: [installation.pk]})
                    changed += 1
        if changed:
            publication.refresh_metadata()
        self.stdout.write(self.style.SUCCESS(f"{changed} installation(s) changée(s) de zone."))
