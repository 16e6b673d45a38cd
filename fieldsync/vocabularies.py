"""The vocabularies of the offline package: everything a tablet needs to fill a control and
mirror the Annexe II verdict offline (fieldsync.verdict), and the communes' periodicity.
"""
from . import verdict
from .models import (
    SEVERITY, ChecklistItem, CommunePeriod, ComponentType, Conclusion, ControlKind,
    FindingResult, GridRule, WorksDeadline,
)


def vocabularies():
    """Everything the tablet needs to fill a control and mirror the verdict offline."""
    def rows(model, *extra):
        return [
            {"code": r.code, "label": r.label, **{name: getattr(r, name) for name in extra}}
            for r in model.objects.filter(active=True)
        ]
    kinds = rows(ControlKind, "periodic", "is_sale")
    items = ChecklistItem.objects.filter(active=True).prefetch_related("control_kinds")
    return {
        "control_kinds": kinds,
        "component_types": rows(ComponentType, "stage", "approved_device"),
        "checklist": [
            {"code": i.code, "label": i.label, "category": i.category, "guidance": i.guidance,
             "control_kinds": [k.code for k in i.control_kinds.all()]}
            for i in items
        ],
        "finding_results": [{"code": c, "label": str(label)} for c, label in FindingResult.choices],
        "works_deadlines": rows(WorksDeadline, "years", "years_after_sale", "as_soon_as_possible"),
        "conclusions": [
            {"code": c.code, "label": c.label, "compliant": c.compliant, "color": c.color,
             "works_deadline": c.works_deadline.code if c.works_deadline_id else None}
            for c in Conclusion.objects.filter(active=True).select_related("works_deadline")
        ],
        "grid": [
            {"category": r.category, "zone": r.zone, "conclusion": r.conclusion.code}
            for r in GridRule.objects.select_related("conclusion")
        ],
        # The rows of the grid from the most severe down: the verdict is the worst category
        # among the findings answered "defect" ("none" without any).
        "finding_categories": [{"code": c.value, "label": str(c.label)} for c in SEVERITY],
        "periodicity": periodicity(),
    }


def periodicity():
    """What next_control_on is computed from: visit date + years (compliant conclusion or not),
    the commune's setting or the defaults, never more than max_years."""
    return {
        "max_years": verdict.DEFAULT_PERIOD_YEARS,
        "default_years": verdict.DEFAULT_PERIOD_YEARS,
        "default_years_non_compliant": verdict.DEFAULT_NON_COMPLIANT_YEARS,
        "communes": [
            {"commune": p.commune.insee, "years": p.years,
             "years_non_compliant": p.years_non_compliant}
            for p in CommunePeriod.objects.select_related("commune").order_by("commune__insee")
        ],
    }
