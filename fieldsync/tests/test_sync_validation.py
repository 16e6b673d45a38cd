"""The one-pass validation of pushed changes (fieldsync.validation.validate_change) answers exactly
what the DRF serializers answer: the same validated values for a valid change, the same reasons
for an invalid one, whichever path decides."""
import copy
import datetime
import uuid

import pytest

from fieldsync import validation
from fieldsync.validation import ChangeSerializer, flatten_errors, validate_change

SHA = "ab" * 32
TODAY = datetime.date.today()


def serializer_answer(raw):
    serializer = ChangeSerializer(data=copy.deepcopy(raw))
    if serializer.is_valid():
        return serializer.validated_data, []
    return None, flatten_errors(serializer.errors)


def control(**data):
    payload = {"visit_date": (TODAY - datetime.timedelta(days=2)).isoformat(),
               "status": "submitted", "comments": "  Vu le propriétaire.  ",
               "findings": [{"item": "ventilation", "result": "ok"},
                            {"item": "acces_regards", "result": "defect", "comment": " cassé "}],
               "photos": [{"sha256": SHA.upper(), "size": 1234, "content_type": "image/png",
                           "caption": "Regard", "taken_at": "2025-03-12T10:15:00+01:00"}]}
    payload.update(data)
    return {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": str(uuid.uuid4()), "base_version": 3, "data": payload}


PLAIN = [
    control(),
    control(visit_date=None, sale_date=(TODAY + datetime.timedelta(days=30)).isoformat()),
    control(findings=[], photos=[], comments=""),
    {**control(), "resubmits": str(uuid.uuid4())},
    {**control(kind="vente", installation=str(uuid.uuid4())), "op": "create",
     "base_version": None},
    {**control(supersedes=str(uuid.uuid4())), "op": "supersede"},
    control(photos=[{"sha256": SHA, "size": 1, "taken_at": None}]),
]
ODD = [  # valid or not, but not in the plain form: the serializers decide
    control(visit_date="20250312"),
    {**control(), "id": uuid.uuid4().hex},
    control(visit_date=(TODAY + datetime.timedelta(days=1)).isoformat()),
    control(visit_date="1989-12-31"),
    control(sale_date=(TODAY + datetime.timedelta(days=4 * 366)).isoformat()),
    control(findings=[{"item": "ventilation", "result": "ok"}] * 2),
    control(findings=[{"item": "ventilation", "result": "peut-être"}]),
    control(findings=[{"item": "ventilation"}]),
    control(findings=[{"item": "a b", "result": "ok"}]),
    control(findings=[{"item": "x", "result": "ok", "extra": 1}]),
    control(findings=[{"item": "x", "result": "ok"}] * 201),
    control(findings="ventilation"),
    control(photos=[{"sha256": SHA, "size": 10}, {"sha256": SHA.upper(), "size": 10}]),
    control(photos=[{"sha256": "xyz", "size": 10}]),
    control(photos=[{"sha256": SHA, "size": 0}]),
    control(photos=[{"sha256": SHA, "size": True}]),
    control(photos=[{"sha256": SHA, "size": 10.0}]),
    control(photos=[{"sha256": SHA, "size": 2 ** 40}]),
    control(photos=[{"sha256": SHA, "size": 10, "content_type": "image/gif"}]),
    control(photos=[{"sha256": SHA, "size": 10, "taken_at": "hier"}]),
    control(comments="x" * 10001),
    control(comments=12),
    control(comments="\ud800"),
    control(status="validated"),
    control(kind=""),
    control(unknown=1),
    {**control(), "base_version": 0},
    {**control(), "base_version": "3"},
    {**control(), "base_version": 2 ** 31},
    {**control(), "base_version": None},
    {**control(), "op": "create", "resubmits": str(uuid.uuid4())},
    {**control(), "op": "delete"},
    {**control(), "entity": "installation", "data": {"address": " 3 rue "}},
    {**control(), "entity": "installation", "op": "supersede"},
    {**control(), "extra": True},
    {**control(), "data": []},
    {**control(), "change_id": "pas-un-uuid"},
    {"change_id": str(uuid.uuid4())},
    [],
    "texte",
]


@pytest.mark.parametrize("raw", PLAIN)
def test_plain_changes_take_the_one_pass_path_with_the_serializers_values(raw):
    validation._fast(copy.deepcopy(raw))  # does not defer to the serializers
    assert validate_change(copy.deepcopy(raw)) == serializer_answer(raw)


@pytest.mark.parametrize("raw", ODD)
def test_other_changes_get_the_serializers_answer(raw):
    assert validate_change(copy.deepcopy(raw)) == serializer_answer(raw)
