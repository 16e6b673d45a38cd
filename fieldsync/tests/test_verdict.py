"""Domain rules: the Annexe II grid, works deadlines, next control date, zones, immutability."""
import datetime

import pytest
from django.db import IntegrityError, transaction

from fieldsync import verdict, zones
from fieldsync.models import (
    ChecklistItem, CommunePeriod, Conclusion, Control, ControlKind, FindingResult, ZoneLayer,
)
from layers.models import Audience, Permission
from layers.testing import make_vector_layer

from .conftest import GUERANDE, make_installation

pytestmark = pytest.mark.django_db

VISIT = datetime.date(2024, 3, 15)


def evaluate(installation, kind_code, defects=(), visit=VISIT, sale_date=None):
    kind = ControlKind.objects.get(code=kind_code)
    control = Control(installation=installation, kind=kind, visit_date=visit, sale_date=sale_date)
    findings = [(item, FindingResult.DEFECT if item.code in defects else FindingResult.OK)
                for item in ChecklistItem.objects.filter(control_kinds=kind)]
    return verdict.evaluate(control, findings)


@pytest.fixture
def installation(db):
    return make_installation(GUERANDE)


def test_vocabularies_are_seeded_as_data():
    assert set(ControlKind.objects.values_list("code", flat=True)) == {
        "conception", "execution", "bon_fonctionnement", "vente", "contre_visite"}
    assert Conclusion.objects.get(code="danger_sante").works_deadline.years == 4
    assert Conclusion.objects.get(code="danger_sante").works_deadline.years_after_sale == 1


def test_no_defect_is_compliant_without_works_and_next_control_in_ten_years(installation):
    control = evaluate(installation, "bon_fonctionnement")
    assert control.conclusion.code == "conforme"
    assert not control.works_required and control.works_due_on is None
    assert control.next_control_on == datetime.date(2034, 3, 15)


def test_danger_for_health_gives_works_within_four_years(installation):
    control = evaluate(installation, "bon_fonctionnement", defects={"contact_direct", "usure"})
    assert control.conclusion.code == "danger_sante"
    assert control.works_required
    assert control.works_due_on == datetime.date(2028, 3, 15)
    assert control.next_control_on == datetime.date(2028, 3, 15)  # non-compliant period: 4 years


def test_sale_control_deadline_is_one_year_after_the_sale(installation):
    control = evaluate(installation, "vente", defects={"contact_direct"},
                       sale_date=datetime.date(2024, 6, 30))
    assert control.conclusion.code == "danger_sante"
    assert control.works_due_on == datetime.date(2025, 6, 30)


def test_incomplete_outside_zones_needs_works_only_at_a_sale(installation):
    control = evaluate(installation, "bon_fonctionnement", defects={"sous_dimensionnement"})
    assert control.conclusion.code == "non_conforme"
    assert control.works_required and control.works_due_on is None
    sale = evaluate(installation, "vente", defects={"sous_dimensionnement"},
                    sale_date=datetime.date(2024, 5, 2))
    assert sale.works_due_on == datetime.date(2025, 5, 2)


def test_incomplete_in_zones_follows_the_grid_columns(installation):
    installation.sanitary_zone = True
    assert evaluate(installation, "bon_fonctionnement",
                    defects={"dysfonctionnements"}).conclusion.code == "danger_sante"
    installation.sanitary_zone, installation.environmental_zone = False, True
    control = evaluate(installation, "bon_fonctionnement", defects={"dysfonctionnements"})
    assert control.conclusion.code == "risque_environnemental"
    assert control.works_due_on == datetime.date(2028, 3, 15)


def test_absence_of_installation_means_works_as_soon_as_possible(installation):
    control = evaluate(installation, "bon_fonctionnement",
                       defects={"absence_installation", "usure"})
    assert control.conclusion.code == "absence_installation"
    assert control.works_deadline.as_soon_as_possible and control.works_due_on == VISIT


def test_maintenance_defects_give_recommendations_only(installation):
    control = evaluate(installation, "bon_fonctionnement", defects={"defaut_entretien"})
    assert control.conclusion.code == "recommandations" and control.conclusion.compliant
    assert not control.works_required


def test_commune_period_sets_the_next_control_and_is_capped_at_ten_years(installation):
    CommunePeriod.objects.create(commune=installation.commune, years=8, years_non_compliant=2)
    assert evaluate(installation, "bon_fonctionnement").next_control_on == datetime.date(2032, 3, 15)
    assert evaluate(installation, "bon_fonctionnement", defects={"vecteurs"}) \
        .next_control_on == datetime.date(2026, 3, 15)
    with pytest.raises(IntegrityError), transaction.atomic():
        CommunePeriod.objects.filter(commune=installation.commune).update(years=12)


def test_design_review_sets_no_periodic_date(installation):
    control = evaluate(installation, "conception")
    assert control.conclusion.code == "conforme" and control.next_control_on is None


def test_leap_day_visit(installation):
    control = evaluate(installation, "bon_fonctionnement", visit=datetime.date(2024, 2, 29))
    assert control.next_control_on == datetime.date(2034, 2, 28)


def test_zones_are_computed_from_catalogue_layers_whatever_their_access_rules(installation):
    around = installation.location.buffer(200)
    layer = make_vector_layer("perimetres_captage", "POLYGON", [("nom", "text")],
                      [{"nom": "Captage", "geom": around.wkt}],
                      rules=[{"audience": Audience.ADMINS, "permission": Permission.VIEW}])
    ZoneLayer.objects.create(layer=layer, kind="sanitary")
    zones.compute_zones(installation)
    assert installation.sanitary_zone and not installation.environmental_zone
    assert installation.zone == "sanitary"
    elsewhere = make_installation("44055")
    zones.compute_zones(elsewhere)
    assert not elsewhere.sanitary_zone
