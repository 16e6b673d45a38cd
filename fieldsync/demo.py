"""SPANC demo for `manage.py load_demo`: installations taken from the demo catalogue's ANC points,
and a campaign assigned to the demo inspector, so the manager screens, the field app and the
dashboard show something on a fresh demo. Deterministic and idempotent: nothing is created when
the SPANC already holds installations (a real service's data is never mixed with demo data).
"""
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from capgeo.accounts.models import User
from capgeo.territory.models import Commune

from . import management_actions, publication
from .models import ControlKind, Installation

# Communes of the demo campaign (Guérande, La Baule-Escoublac) and installations per commune.
DEMO_CAMPAIGN_COMMUNES = ["44069", "44055"]
PER_COMMUNE = 8
OWNERS = ["Jeanne Martin", "Pierre Le Floch", "Anne Guého", "Yves Le Goff", "Marie Bernard",
          "Loïc Thébaud", "Sophie Pichon", "Hervé Le Bihan"]
STREETS = ["route de Saillé", "chemin des Marais", "rue du Four", "allée des Pins",
           "impasse de la Brière", "rue des Paludiers", "chemin du Moulin", "route de Clis"]


@transaction.atomic
def load_spanc_demo():
    """Create the demo installations and campaign; returns the number of installations created."""
    if Installation.objects.exists():
        return 0
    communes = {c.insee: c for c in Commune.objects.all()}
    created = []
    with connection.cursor() as cursor:
        # The first points of each commune in the demo ANC layer (stable order: fid).
        cursor.execute(
            "SELECT code_insee, annee_installation, ST_X(geom), ST_Y(geom) FROM ("
            " SELECT *, row_number() OVER (PARTITION BY code_insee ORDER BY fid) AS n"
            " FROM layers_data.installations_anc) p WHERE n <= %s ORDER BY code_insee, fid",
            [PER_COMMUNE])
        for number, (insee, year, x, y) in enumerate(cursor.fetchall()):
            if insee not in communes:
                continue
            created.append(Installation(
                commune=communes[insee], location=Point(x, y, srid=2154),
                address=f"{number % 40 + 1} {STREETS[number % len(STREETS)]}",
                parcels=[f"000 A{'BCDEFGH'[number % 7]} {number % 300 + 1}"],
                owner_name=OWNERS[number % len(OWNERS)], owner_phone="02 40 00 00 00",
                capacity_eh=4 + number % 4, year_built=year))
    Installation.objects.bulk_create(created)
    publication.publish(installation_ids=[i.pk for i in created])
    manager = User.objects.filter(username="responsable.spanc").first()
    inspector = User.objects.filter(username="controleur.spanc").first()
    kind = ControlKind.objects.filter(code="bon_fonctionnement").first()
    if created and manager and inspector and kind:
        campaign, _count = management_actions.plan_campaign(
            manager, "Campagne de démonstration", kind,
            [communes[insee] for insee in DEMO_CAMPAIGN_COMMUNES if insee in communes])
        management_actions.assign(manager, list(campaign.controls.all()), inspector)
    publication.refresh_metadata()
    return len(created)
