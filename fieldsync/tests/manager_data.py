"""Controls in given states, made through the models and the regulatory rules, for the tests of
the manager's report, dashboard and planning."""
import datetime
import hashlib
import io

from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from fieldsync import verdict
from fieldsync.models import (
    ChecklistItem, Control, ControlKind, ControlPhoto, ControlStatus, Finding, FindingResult,
    PhotoBlob,
)
from fieldsync.photos import final_path


def jpeg(color=(70, 130, 90), size=(640, 480), text="regard"):
    picture = Image.new("RGB", size, color)
    ImageDraw.Draw(picture).rectangle((40, 40, 200, 160), fill=(230, 230, 230))
    ImageDraw.Draw(picture).text((60, 80), text, fill=(0, 0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG")
    return buffer.getvalue()


def stored_photo(control, data, caption=""):
    sha = hashlib.sha256(data).hexdigest()
    path = final_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    blob = PhotoBlob.objects.create(sha256=sha, size=len(data), received=len(data), verified=True,
                                    verified_at=timezone.now())
    return ControlPhoto.objects.create(control=control, blob=blob, caption=caption, proven=True,
                                       taken_at=timezone.now())


def control(installation, status=ControlStatus.VALIDATED, kind="bon_fonctionnement",
            defects=(), visit_date=None, inspector="controleur.spanc", comments="", sale_date=None):
    """A control of the installation; with a visit (and findings evaluated by the Annexe II
    grid) unless planned or assigned."""
    kind = ControlKind.objects.get(code=kind)
    made = Control(installation=installation, kind=kind, status=status, comments=comments,
                   sale_date=sale_date,
                   inspector=User.objects.get(username=inspector) if inspector else None)
    visited = status not in (ControlStatus.PLANNED, ControlStatus.ASSIGNED)
    findings = []
    if visited:
        made.visit_date = visit_date or datetime.date.today()
        items = ChecklistItem.objects.filter(control_kinds=kind, active=True)
        findings = [(item, FindingResult.DEFECT if item.code in defects else FindingResult.OK)
                    for item in items]
        verdict.evaluate(made, findings)
    if status == ControlStatus.VALIDATED:
        made.decided_at = timezone.now()
        made.decided_by = User.objects.get(username="responsable.spanc")
    made.save()
    Finding.objects.bulk_create([Finding(control=made, item=item, result=result,
                                         comment="Fissure visible" if result == "defect" else "")
                                 for item, result in findings])
    return made


