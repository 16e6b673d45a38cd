"""SPANC demo for `manage.py load_demo`: installations taken from the demo catalogue's ANC points,
their history of validated controls (so the dashboard shows controls done, dues and the P301.3
compliance rate), a few controls awaiting validation, and a campaign assigned to the demo
inspector, so the manager screens, the field app and the dashboard show realistic content on a
fresh demo. Deterministic for a given day and idempotent: nothing is created when the SPANC
already holds installations (a real service's data is never mixed with demo data).
"""
import datetime
import random

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from layers.access import AccessPolicy
from territory.models import Commune

from . import campaigns, publication, verdict
from .history import record
from .models import (ChecklistItem, Control, ControlKind, ControlStatus, Finding, FindingResult,
                     Installation)
from .records import control as control_type
from .records import installation as installation_type

# Communes of the demo campaign (Guérande, La Baule-Escoublac) and installations per commune.
DEMO_CAMPAIGN_COMMUNES = ["44069", "44055"]
DEMO_ANC_LAYER = "installations_anc"  # the demo catalogue's ANC points (layers.demo)
PER_COMMUNE = 8
OWNERS = ["Jeanne Martin", "Pierre Le Floch", "Anne Guého", "Yves Le Goff", "Marie Bernard",
          "Loïc Thébaud", "Sophie Pichon", "Hervé Le Bihan"]
STREETS = ["route de Saillé", "chemin des Marais", "rue du Four", "allée des Pins",
           "impasse de la Brière", "rue des Paludiers", "chemin du Moulin", "route de Clis"]


class _DemoLoader:
    """The principal the demo loader reads the demo catalogue's ANC layer with (all its rows)."""
    is_authenticated = True
    is_active = True
    is_gis_admin = True
    commune_id = None
    role = "gis_admin"
    pk = None
    username = "service.spanc-demo"


def _demo_points():
    """(INSEE code, year, (x, y) in Lambert-93) of the first PER_COMMUNE points of each commune
    of the demo ANC layer (stable order: fid), through the feature source."""
    source = AccessPolicy.for_user(_DemoLoader()).source(DEMO_ANC_LAYER)
    features = source.features(source.query(
        crs=2154, digits=6, properties=("code_insee", "annee_installation"),
        sort=(("code_insee", True),)))
    taken = {}
    for feature in features:
        insee = feature["properties"]["code_insee"]
        taken[insee] = taken.get(insee, 0) + 1
        if taken[insee] <= PER_COMMUNE:
            yield (insee, feature["properties"]["annee_installation"],
                   feature["geometry"]["coordinates"][:2])


@transaction.atomic
def load_spanc_demo():
    """Create the demo installations and campaign; returns the number of installations created."""
    if Installation.objects.exists():
        return 0
    communes = {c.insee: c for c in Commune.objects.all()}
    created = []
    for number, (insee, year, (x, y)) in enumerate(_demo_points()):
        if insee not in communes:
            continue
        created.append(Installation(
            commune=communes[insee], location=Point(x, y, srid=2154),
            address=f"{number % 40 + 1} {STREETS[number % len(STREETS)]}",
            parcels=[f"000 A{'BCDEFGH'[number % 7]} {number % 300 + 1}"],
            owner_name=OWNERS[number % len(OWNERS)], owner_phone="02 40 00 00 00",
            capacity_eh=4 + number % 4, year_built=year))
    Installation.objects.bulk_create(created)
    publication.publish({installation_type.LAYER.name: [i.pk for i in created]})
    manager = User.objects.filter(username="responsable.spanc").first()
    inspector = User.objects.filter(username="controleur.spanc").first()
    kind = ControlKind.objects.filter(code="bon_fonctionnement").first()
    if created and manager and inspector and kind:
        campaign, _count = campaigns.plan_campaign(
            manager, "Campagne de démonstration", kind,
            [communes[insee] for insee in DEMO_CAMPAIGN_COMMUNES if insee in communes])
        campaigns.assign(manager, list(campaign.controls.all()), inspector)
    if created and manager and inspector:
        load_control_history(created, manager, inspector)
    publication.refresh_metadata()
    return len(created)


# Share of installations already checked, and defects drawn per checklist category (the mix of
# verdicts of a rural SPANC: mostly compliant or with recommendations, some non-compliant).
CHECKED_SHARE = 0.8
DEFECT_ODDS = {"absence": 0.01, "danger": 0.05, "incomplete": 0.07, "defects": 0.12}
PENDING_VALIDATION = 3


def _day_between(draw, start, end):
    return start + datetime.timedelta(days=draw.randrange(max((end - start).days, 1)))


def load_control_history(installations, manager, inspector, today=None):
    """Validated periodic controls of the past years for most installations (this year's too),
    and a few transmitted controls awaiting the manager's validation; returns their number.

    The verdicts come from the regulation's own rules (fieldsync.verdict.evaluate) over drawn
    findings, so conclusions, works deadlines and next-control dates are the ones the field app
    would have produced. The campaign's installations (Guérande, La Baule) were last checked long
    ago: their periodic control is due, which is why the campaign plans them.
    """
    today = today or timezone.localdate()
    draw = random.Random(2154)
    kinds = {kind.code: kind for kind in ControlKind.objects.all()}
    periodic, sale = kinds.get("bon_fonctionnement"), kinds.get("vente")
    if periodic is None:
        return 0
    items = {code: list(ChecklistItem.objects.filter(control_kinds=kind, active=True))
             for code, kind in kinds.items()}
    in_campaign = set(Control.objects.filter(campaign__isnull=False)
                      .values_list("installation_id", flat=True))
    year_start = today.replace(month=1, day=1)
    made = []
    for number, installation in enumerate(installations):
        if installation.pk in in_campaign:
            visit = _day_between(draw, today.replace(year=today.year - 12),
                                 today.replace(year=today.year - 10))
        elif draw.random() > CHECKED_SHARE:
            continue  # never checked yet
        elif number % 4 == 0:
            visit = _day_between(draw, year_start, today)  # checked this year
        else:
            visit = _day_between(draw, today.replace(year=today.year - 9), year_start)
        kind = sale if (sale and number % 9 == 0) else periodic
        made.append(_validated_control(installation, kind, visit, items[kind.code], draw,
                                       manager, inspector))
    # Transmitted this month and waiting for the manager (the validation screen's content).
    waiting = [i for i in installations if i.pk not in in_campaign][-PENDING_VALIDATION:]
    for installation in waiting:
        visit = _day_between(draw, today - datetime.timedelta(days=20), today)
        made.append(_validated_control(installation, periodic, visit, items[periodic.code], draw,
                                       manager, inspector, status=ControlStatus.SUBMITTED))
    publication.publish({control_type.LAYER.name: [c.pk for c in made]})  # and installations
    return len(made)


def _validated_control(installation, kind, visit, items, draw, manager, inspector,
                       status=ControlStatus.VALIDATED):
    findings = [(item, FindingResult.DEFECT if draw.random() < DEFECT_ODDS.get(item.category, 0)
                 else FindingResult.OK) for item in items]
    moment = timezone.make_aware(datetime.datetime.combine(visit, datetime.time(16, 30)))
    control = Control(installation=installation, kind=kind, inspector=inspector, visit_date=visit,
                      sale_date=visit if kind.is_sale else None, status=status,
                      submitted_at=moment)
    verdict.evaluate(control, findings)
    if status == ControlStatus.VALIDATED:
        control.decided_at, control.decided_by = moment + datetime.timedelta(days=2), manager
    control.comments = ("Installation bien entretenue." if control.conclusion
                        and control.conclusion.compliant else
                        "Travaux à prévoir, voir les constats.")
    control.save()
    Finding.objects.bulk_create([
        Finding(control=control, item=item, result=result,
                comment="" if result == FindingResult.OK else "Constaté lors de la visite.")
        for item, result in findings])
    record(inspector, "control.submit", "control", control.uuid, control.version)
    if status == ControlStatus.VALIDATED:
        record(manager, "control.validate", "control", control.uuid, control.version)
    return control
