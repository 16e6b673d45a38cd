"""Fixtures for the SPANC sync tests: demo users, installations in two communes, a campaign
assigned to the demo inspector, tablets (API clients with a registered device)."""
import datetime
import hashlib
import uuid

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from accounts.models import Role, User
from territory.models import Commune
from fieldsync import campaigns
from fieldsync.models import ChecklistItem, ControlKind, Installation

GUERANDE, LA_BAULE = "44069", "44055"


@pytest.fixture(autouse=True)
def photo_root(settings, tmp_path):
    settings.FIELDSYNC_PHOTO_ROOT = tmp_path / "photos"
    return settings.FIELDSYNC_PHOTO_ROOT


def user(username):
    return User.objects.get(username=username)


def make_installation(insee, address="1 rue du Marais", owner="Jeanne Martin", **fields):
    commune = Commune.objects.get(insee=insee)
    point = commune.geom.point_on_surface
    return Installation.objects.create(
        commune=commune, location=Point(point.x, point.y, srid=2154), address=address,
        owner_name=owner, owner_phone="02 40 00 00 00", parcels=["000 AB 12"],
        capacity_eh=5, year_built=1998, **fields)


@pytest.fixture
def installations(db):
    return {
        GUERANDE: make_installation(GUERANDE, "12 route de Saillé"),
        LA_BAULE: make_installation(LA_BAULE, "3 allée des Pins", owner="Pierre Le Floch"),
    }


@pytest.fixture
def second_inspector(db):
    other = User.objects.create_user("controleur.deux", password="demo-capgeo",
                                     role=Role.SPANC_INSPECTOR, first_name="Erwan",
                                     last_name="Le Du")
    return other


@pytest.fixture
def campaign(installations):
    """A periodic-control campaign over both communes, assigned to controleur.spanc."""
    manager = user("responsable.spanc")
    kind = ControlKind.objects.get(code="bon_fonctionnement")
    campaign, _count = campaigns.plan_campaign(
        manager, "Campagne 2025", kind, list(Commune.objects.filter(insee__in=[GUERANDE, LA_BAULE])))
    campaigns.assign(manager, list(campaign.controls.all()), user("controleur.spanc"))
    return campaign


class Tablet:
    """A simulated tablet: an HTTP client logged in as a user, with a registered device."""

    def __init__(self, username, name="Tablette"):
        self.user = user(username)
        self.client = Client()
        self.client.force_login(self.user)
        self.device_id = str(uuid.uuid4())
        response = self.post("/api/sync/devices/", {"id": self.device_id, "name": name})
        assert response.status_code == 201, response.content

    def post(self, url, payload):
        return self.client.post(url, payload, content_type="application/json")

    def package(self):
        response = self.client.get(f"/api/sync/package/?device={self.device_id}")
        assert response.status_code == 200, response.content
        return response.json()

    def changes(self, since):
        return self.client.get(f"/api/sync/changes/?since={since}&device={self.device_id}")

    def push(self, changes, batch_id=None):
        batch_id = batch_id or str(uuid.uuid4())
        return self.post("/api/sync/push/", {"batch_id": batch_id, "device_id": self.device_id,
                                             "changes": changes}), batch_id

    def put_photo(self, data, start=None, end=None, total=None, sha=None):
        headers = {}
        if start is not None:
            headers["HTTP_CONTENT_RANGE"] = f"bytes {start}-{end}/{total}"
        return self.client.put(f"/api/sync/photos/{sha or sha256(data)}/", data,
                                content_type="application/octet-stream", **headers)


@pytest.fixture
def tablet(db):
    return Tablet("controleur.spanc")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def full_findings(kind_code="bon_fonctionnement", defects=()):
    """A finding for every checklist item of the kind; the given codes as defects."""
    return [
        {"item": code, "result": "defect" if code in defects else "ok"}
        for code in ChecklistItem.objects.filter(control_kinds__code=kind_code, active=True)
        .values_list("code", flat=True)
    ]


def control_change(control_json, status="submitted", defects=(), photos=(), **data):
    payload = {"visit_date": (datetime.date.today() - datetime.timedelta(days=1)).isoformat(),
               "findings": full_findings(control_json["kind"], defects),
               "comments": "Visite faite en présence du propriétaire.", "status": status,
               "photos": [{"sha256": sha256(p), "size": len(p), "content_type": "image/jpeg"}
                          for p in photos]}
    payload.update(data)
    return {"change_id": str(uuid.uuid4()), "entity": "control", "op": "update",
            "id": control_json["id"], "base_version": control_json["version"], "data": payload}
