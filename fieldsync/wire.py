"""The JSON shape of records on the wire (pull package, changes, conflict answers).

Geometries travel as GeoJSON in WGS84 (RFC 7946: what a GPS and any client speak), with the
Lambert-93 coordinates alongside; the server stores Lambert-93.
"""
from django.contrib.gis.geos import Point

from . import rules, scope
from .models import (
    SEVERITY, ChecklistItem, CommunePeriod, ComponentType, Conclusion, ControlKind,
    FindingResult, GridRule, WorksDeadline,
)


def _iso(value):
    return value.isoformat() if value else None


def geometry_out(point):
    wgs84 = point.transform(4326, clone=True)
    return {"type": "Point", "coordinates": [round(wgs84.x, 7), round(wgs84.y, 7)]}


def geometry_in(geojson):
    """A GeoJSON Point in WGS84 → a Lambert-93 Point (validated by the change serializers)."""
    point = Point(*geojson["coordinates"][:2], srid=4326)
    return point.transform(2154, clone=True)


def installation_out(installation, user):
    data = {
        "id": str(installation.uuid),
        "version": installation.version,
        "commune": installation.commune.insee,
        "geometry": geometry_out(installation.location),
        "location_l93": [round(installation.location.x, 2), round(installation.location.y, 2)],
        "address": installation.address,
        "parcels": list(installation.parcels),
        "capacity_eh": installation.capacity_eh,
        "year_built": installation.year_built,
        "sanitary_zone": installation.sanitary_zone,
        "environmental_zone": installation.environmental_zone,
        "components": [
            {"type": c.type.code, "volume_m3": float(c.volume_m3) if c.volume_m3 is not None
             else None, "approval_number": c.approval_number, "comment": c.comment}
            for c in installation.components.all()
        ],
    }
    if scope.sees_owner(user, installation):
        data["owner"] = {
            "name": installation.owner_name, "address": installation.owner_address,
            "phone": installation.owner_phone, "email": installation.owner_email,
        }
    return data


def control_out(control, user=None):
    superseded_by = getattr(control, "superseded_by", None)
    return {
        "id": str(control.uuid),
        "version": control.version,
        "installation": str(control.installation.uuid),
        "kind": control.kind.code,
        "campaign": control.campaign.name if control.campaign_id else None,
        "status": control.status,
        "inspector": control.inspector.username if control.inspector_id else None,
        "visit_date": _iso(control.visit_date),
        "sale_date": _iso(control.sale_date),
        "findings": [
            {"item": f.item.code, "result": f.result, "comment": f.comment}
            for f in control.findings.all()
        ],
        "conclusion": control.conclusion.code if control.conclusion_id else None,
        "works_required": control.works_required,
        "works_deadline": control.works_deadline.code if control.works_deadline_id else None,
        "works_due_on": _iso(control.works_due_on),
        "next_control_on": _iso(control.next_control_on),
        "comments": control.comments,
        "photos": [
            {"sha256": p.blob.sha256, "size": p.blob.size, "content_type": p.blob.content_type,
             "caption": p.caption, "verified": p.proven}
            for p in control.photos.all()
        ],
        "supersedes": str(control.supersedes.uuid) if control.supersedes_id else None,
        "superseded_by": str(superseded_by.uuid) if superseded_by else None,
        "rejection_reason": control.rejection_reason,
        "editable": bool(user) and scope.may_edit_control(user, control) and not control.frozen
        and superseded_by is None,
    }


CONTROL_PREFETCH = ["findings__item", "photos__blob"]
CONTROL_RELATED = ["installation__commune", "kind", "campaign", "inspector", "conclusion",
                   "works_deadline", "supersedes", "superseded_by"]


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
        "max_years": rules.DEFAULT_PERIOD_YEARS,
        "default_years": rules.DEFAULT_PERIOD_YEARS,
        "default_years_non_compliant": rules.DEFAULT_NON_COMPLIANT_YEARS,
        "communes": [
            {"commune": p.commune.insee, "years": p.years,
             "years_non_compliant": p.years_non_compliant}
            for p in CommunePeriod.objects.select_related("commune").order_by("commune__insee")
        ],
    }
