"""Regulatory rules: the Annexe II verdict, works deadlines and the next periodic control.

Pure functions over the vocabulary rows, so the tablet can mirror them from the package.
"""
import datetime
from dataclasses import dataclass

from . import chunk
from .models import SEVERITY, CommunePeriod, FindingCategory, FindingResult, GridRule

DEFAULT_PERIOD_YEARS = 10            # CGCT L2224-8: at most ten years
DEFAULT_NON_COMPLIANT_YEARS = 4


def add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def worst_category(findings):
    """The most severe Annexe II category among the defects found (findings: (item, result))."""
    found = {item.category for item, result in findings if result == FindingResult.DEFECT}
    for category in SEVERITY:
        if category in found:
            return category
    return FindingCategory.NONE


def conclusion_for(category, zone):
    rule = chunk.cached(("grid", category, zone), lambda: GridRule.objects.select_related(
        "conclusion__works_deadline").filter(category=category, zone=zone).first())
    return rule.conclusion if rule else None


@dataclass
class WorksDue:
    required: bool
    deadline: object = None     # WorksDeadline row
    due_on: datetime.date = None


def works_due(conclusion, visit_date, is_sale, sale_date=None):
    """Works and their date: 4 years from the visit, 1 year after a sale, or as soon as possible.

    A sale control's deadline runs from the deed's signature, so it is known only once the sale
    date is; a non-compliance that only matters at a sale gives no date outside a sale.
    """
    deadline = conclusion.works_deadline if conclusion else None
    if deadline is None:
        return WorksDue(False)
    if deadline.as_soon_as_possible:
        return WorksDue(True, deadline, visit_date)
    if is_sale and deadline.years_after_sale:
        due = add_years(sale_date, deadline.years_after_sale) if sale_date else None
        return WorksDue(True, deadline, due)
    if deadline.years and visit_date:
        return WorksDue(True, deadline, add_years(visit_date, deadline.years))
    return WorksDue(True, deadline, None)


def period_years(commune, compliant):
    commune_id = getattr(commune, "pk", commune)
    period = chunk.cached(("period", commune_id),
                             lambda: CommunePeriod.objects.filter(commune=commune_id).first())
    if period is None:
        years = DEFAULT_PERIOD_YEARS if compliant else DEFAULT_NON_COMPLIANT_YEARS
    else:
        years = period.years if compliant else period.years_non_compliant
    return min(years, DEFAULT_PERIOD_YEARS)


def next_control_on(kind, commune, conclusion, visit_date):
    if not kind.periodic or visit_date is None or conclusion is None:
        return None
    return add_years(visit_date, period_years(commune, conclusion.compliant))


def evaluate(control, findings):
    """Set conclusion, works and next control date of a control from its findings (not saved)."""
    installation = control.installation
    category = worst_category(findings)
    conclusion = conclusion_for(category, installation.zone)
    due = works_due(conclusion, control.visit_date, control.kind.is_sale, control.sale_date)
    control.conclusion = conclusion
    control.works_required = due.required
    control.works_deadline = due.deadline
    control.works_due_on = due.due_on
    control.next_control_on = next_control_on(control.kind, installation.commune_id, conclusion,
                                              control.visit_date)
    return control
