"""Loading of the demo territory: Cap Atlantique's 15 communes, their town halls, demo accounts.

Idempotent by design: run.sh calls it on every start, so it only creates what is missing and
never overwrites what someone changed (a renamed commune, a changed password).
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import transaction

from accounts.models import User
from territory.models import Commune, Intercommunality, TownHall

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
COMMUNES_FILE = FIXTURES_DIR / "communes_cap_atlantique.geojson"
ACCOUNTS_FILE = FIXTURES_DIR / "demo_accounts.json"
ATTRIBUTION = "IGN – ADMIN EXPRESS, Licence Ouverte 2.0"


@dataclass
class LoadReport:
    communes_created: int = 0
    town_halls_created: int = 0
    accounts_created: list = field(default_factory=list)
    layers_created: list = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.communes_created or self.town_halls_created or self.accounts_created
                    or self.layers_created)


def _multipolygon(geometry_json):
    geometry = GEOSGeometry(json.dumps(geometry_json), srid=4326)
    if geometry.geom_type == "Polygon":
        geometry = MultiPolygon(geometry, srid=4326)
    geometry.transform(settings.CAPGEO_STORAGE_SRID)
    return geometry


@transaction.atomic
def load_territory(report):
    intercommunality, _ = Intercommunality.objects.get_or_create(
        siren="244400610",
        defaults={
            "name": "Cap Atlantique — Communauté d'agglomération de la Presqu'île de Guérande Atlantique",
            "attribution": ATTRIBUTION,
        },
    )
    data = json.loads(COMMUNES_FILE.read_text(encoding="utf-8"))
    existing = set(Commune.objects.values_list("insee", flat=True))
    for feature in data["features"]:
        props = feature["properties"]
        if props["insee"] in existing:
            continue
        commune = Commune.objects.create(
            insee=props["insee"],
            name=props["nom"],
            department=props["departement"],
            population=props.get("population"),
            intercommunality=intercommunality,
            geom=_multipolygon(feature["geometry"]),
        )
        report.communes_created += 1
        if props.get("mairie_lon") is not None and props.get("mairie_lat") is not None:
            location = Point(props["mairie_lon"], props["mairie_lat"], srid=4326)
            location.transform(settings.CAPGEO_STORAGE_SRID)
            TownHall.objects.create(
                commune=commune,
                address=props.get("mairie_adresse") or "",
                phone=props.get("mairie_telephone") or "",
                location=location,
            )
            report.town_halls_created += 1


@transaction.atomic
def load_accounts(report):
    accounts = json.loads(ACCOUNTS_FILE.read_text(encoding="utf-8"))["accounts"]
    communes = {c.insee: c for c in Commune.objects.all()}
    existing = set(User.objects.values_list("username", flat=True))
    for account in accounts:
        if account["username"] in existing:
            continue
        user = User(
            username=account["username"],
            first_name=account.get("first_name", ""),
            last_name=account.get("last_name", ""),
            role=account["role"],
            commune=communes.get(account["commune"]) if account["commune"] else None,
            is_superuser=account.get("superuser", False),
        )
        user.set_password(account["password"])
        user.save()
        if account.get("groups"):
            from django.contrib.auth.models import Group

            user.groups.set([Group.objects.get_or_create(name=name)[0]
                             for name in account["groups"]])
        report.accounts_created.append(user.username)


def demo_accounts():
    """The demo accounts as the fixture declares them (README and tests list them)."""
    return json.loads(ACCOUNTS_FILE.read_text(encoding="utf-8"))["accounts"]


def load_territory_demo(with_accounts=True):
    """The territory, then the demo accounts attached to it (the demo of the layers above is
    loaded by capgeo/demo.py, which calls this first)."""
    report = LoadReport()
    load_territory(report)
    if with_accounts:
        load_accounts(report)
    return report
