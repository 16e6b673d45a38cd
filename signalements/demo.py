"""Demo of the reports: services of Cap Atlantique and of two communes, report types with their
fields and routing, and realistic reports in several states, so the public map, the tracking page
and the services' queues show content with the demo accounts (agent.guerande, agent.labaule,
admin.sig). Idempotent: nothing is created twice.

Reports go through reporting.create_report and processing (the same checks, routing, audit
trail and publication as real ones); their e-mails go to Django's in-memory backend while
loading, never to a mail server.
"""
import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from territory.models import Commune
from layers.access import AccessPolicy
from layers.models import Layer

from . import processing, publication
from .models import (
    Category, CategoryField, FieldType, Report, ReportEvent, ReportScope, RoutingRule, Service,
    Source,
)
from .reporting import Submission, create_report

SERVICES = [
    # code, name, commune INSEE (None: the intercommunality), e-mail, members
    ("cap-accueil", "Cap Atlantique — accueil des signalements", None,
     "signalements@cap-atlantique.demo", ["admin.sig"]),
    ("cap-dechets", "Cap Atlantique — collecte et déchets", None,
     "dechets@cap-atlantique.demo", ["admin.sig"]),
    ("cap-zones-activite", "Cap Atlantique — zones d'activités", None,
     "economie@cap-atlantique.demo", ["admin.sig"]),
    ("guerande-st", "Guérande — services techniques", "44069",
     "services-techniques@guerande.demo", ["agent.guerande"]),
    ("labaule-st", "La Baule-Escoublac — services techniques", "44055",
     "services-techniques@labaule.demo", ["agent.labaule"]),
]

SIZES = [["petit", "Petit (moins de 20 cm)"], ["moyen", "Moyen (20 à 50 cm)"],
         ["grand", "Grand (plus de 50 cm)"]]
VOLUMES = [["sac", "Quelques sacs"], ["coffre", "Un coffre de voiture"],
           ["camion", "Une camionnette ou plus"]]

# code, name, parent code, scope, service code, radius, anonymous, days, fields
CATEGORIES = [
    ("voirie", "Voirie", None, ReportScope.TERRITORY, None, 50, True, None, []),
    ("nid-de-poule", "Nid-de-poule", "voirie", ReportScope.TERRITORY, None, 50, True, 30, [
        ("taille", "Taille du trou", FieldType.SINGLE, True, SIZES),
        ("dangereux", "Dangereux pour les deux-roues ?", FieldType.SINGLE, False,
         [["oui", "Oui"], ["non", "Non"]]),
    ]),
    ("trottoir", "Trottoir ou bordure abîmé", "voirie", ReportScope.TERRITORY, None, 40, True, 60,
     []),
    ("signalisation", "Panneau ou signalisation", "voirie", ReportScope.TERRITORY, None, 30, True,
     15, [("panneau", "Panneau concerné", FieldType.STRING, False, [])]),
    ("eclairage", "Éclairage public en panne", None, ReportScope.TERRITORY, None, 60, True, 10, [
        ("candelabre", "Numéro du candélabre (plaque sur le mât)", FieldType.STRING, False, []),
    ]),
    ("proprete", "Propreté", None, ReportScope.TERRITORY, None, 50, True, None, []),
    ("depot-sauvage", "Dépôt sauvage", "proprete", ReportScope.TERRITORY, "cap-dechets", 80,
     True, 7, [("volume", "Volume estimé", FieldType.SINGLE, True, VOLUMES)]),
    ("tag", "Tag ou graffiti", "proprete", ReportScope.TERRITORY, None, 30, False, 20, [
        ("injurieux", "Contenu injurieux ?", FieldType.SINGLE, False,
         [["oui", "Oui"], ["non", "Non"]]),
    ]),
    ("zone-activite", "Incident en zone d'activités", None, ReportScope.ZONE,
     "cap-zones-activite", 100, True, 15, [
         ("entreprise", "Entreprise concernée", FieldType.STRING, False, []),
         ("gene", "Gêne pour l'activité", FieldType.SINGLE, True,
          [["aucune", "Aucune"], ["acces", "Accès difficile"], ["arret", "Activité arrêtée"]]),
     ]),
]

# category, commune INSEE, description, attributes, contact e-mail, status, days ago
REPORTS = [
    ("nid-de-poule", "44069", "Gros trou dans la chaussée devant la boulangerie, les vélos "
     "l'évitent au dernier moment.", {"taille": "grand", "dangereux": "oui"},
     "claire.martin@exemple.demo", "en_cours", 6),
    ("nid-de-poule", "44069", "Chaussée creusée après les pluies au carrefour, eau stagnante.",
     {"taille": "moyen"}, "", "nouveau", 1),
    ("eclairage", "44069", "Trois lampadaires éteints le long du chemin piéton depuis une "
     "semaine.", {"candelabre": "GU-1182"}, "j.leroux@exemple.demo", "pris_en_compte", 4),
    ("tag", "44069", "Tag sur le mur de l'école, côté cour.", {"injurieux": "non"},
     "parent.eleve@exemple.demo", "resolu", 20),
    ("depot-sauvage", "44069", "Sacs d'ordures et un matelas abandonnés à côté des conteneurs.",
     {"volume": "coffre"}, "", "nouveau", 0),
    ("trottoir", "44055", "Bordure de trottoir descellée devant l'arrêt de bus, risque de "
     "chute.", {}, "m.durand@exemple.demo", "nouveau", 2),
    ("signalisation", "44055", "Panneau stop couché par le vent.", {"panneau": "Stop"},
     "", "en_cours", 3),
    ("eclairage", "44055", "Lampadaire qui clignote toute la nuit avenue de la plage.", {},
     "", "rejete", 15),
    ("nid-de-poule", "44055", "Trou rebouché puis réouvert sur la piste cyclable.",
     {"taille": "petit"}, "velo.labaule@exemple.demo", "resolu", 30),
    ("depot-sauvage", "44055", "Gravats déposés sur le bas-côté du chemin rural.",
     {"volume": "camion"}, "", "pris_en_compte", 5),
    ("nid-de-poule", "44211", "Nid-de-poule à l'entrée du port, près du parking.",
     {"taille": "moyen"}, "", "nouveau", 2),
    ("zone-activite", None, "Portail d'accès de la zone bloqué ouvert, éclairage de la voie "
     "interne éteint.", {"entreprise": "Menuiserie du Pays blanc", "gene": "acces"},
     "contact@menuiserie.demo", "pris_en_compte", 3),
]

REASONS = {
    "rejete": "Cet éclairage relève du gestionnaire du parking privé, que nous avons prévenu.",
    "resolu": "Réparé par l'équipe des services techniques. Merci de votre signalement.",
}


def load_services_and_types():
    """Services, report types and routing rules (no reports). Returns the services created."""
    User = get_user_model()
    created = []
    for code, name, insee, email, members in SERVICES:
        service, new = Service.objects.get_or_create(code=code, defaults={
            "name": name, "email": email,
            "commune": Commune.objects.filter(insee=insee).first() if insee else None})
        if new:
            service.members.set(User.objects.filter(username__in=members))
            created.append(code)
    zones = Layer.objects.filter(name="zones_activite").first()
    for order, (code, name, parent, scope, service, radius, anonymous, days, fields) in \
            enumerate(CATEGORIES):
        if scope == ReportScope.ZONE and zones is None:
            continue
        category, new = Category.objects.get_or_create(code=code, defaults={
            "name": name, "parent": Category.objects.filter(code=parent).first(),
            "scope": scope, "zone_layer": zones if scope == ReportScope.ZONE else None,
            "default_service": Service.objects.filter(code=service).first(),
            "duplicate_radius_m": radius, "anonymous_allowed": anonymous,
            "resolution_days": days, "order": order})
        if new:
            for position, (field_code, label, datatype, required, choices) in enumerate(fields):
                CategoryField.objects.create(category=category, code=field_code, label=label,
                                             datatype=datatype, required=required,
                                             choices=choices, order=position)
    Category.objects.get(code="trottoir").related.add(Category.objects.get(code="nid-de-poule"))
    if not RoutingRule.objects.exists():
        rules = [(10, "depot-sauvage", None, None, "cap-dechets"),
                 (20, "zone-activite", None, zones, "cap-zones-activite"),
                 (100, None, "44069", None, "guerande-st"),
                 (100, None, "44055", None, "labaule-st")]
        for priority, category, insee, layer, service in rules:
            if category == "zone-activite" and zones is None:
                continue
            RoutingRule.objects.create(
                priority=priority, category=Category.objects.filter(code=category).first(),
                commune=Commune.objects.filter(insee=insee).first() if insee else None,
                zone_layer=layer, service=Service.objects.get(code=service))
    return created


def _points(insee, count, seed):
    """Deterministic points well inside a commune (WGS 84 lon, lat)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_Transform(ST_GeneratePoints("
            "ST_Buffer(geom, -300), %s, %s), 4326))).geom AS p FROM territory_commune "
            "WHERE insee = %s) s", [count, seed, insee])
        return cursor.fetchall()


def _zone_point():
    """A point inside the first feature of zones_activite, read through the access policy."""
    layer = Layer.objects.filter(name="zones_activite").first()
    if layer is None:
        return None
    source = AccessPolicy.for_user(None).source(layer)
    features = source.features(source.query(crs=4326, limit=1))
    if not features:
        return None
    geometry = GEOSGeometry(json.dumps(features[0]["geometry"]), srid=4326)
    point = geometry.point_on_surface
    return point.x, point.y


def load_signalements_demo():
    """Services, types, routing and the demo reports; returns the number of reports created."""
    load_services_and_types()
    if Report.objects.exists():
        return 0
    User = get_user_model()
    agents = {service.code: service.members.first() for service in Service.objects.all()}
    created = 0
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for index, (code, insee, text, attributes, email, status, days) in enumerate(REPORTS):
            category = Category.objects.filter(code=code).first()
            if category is None:
                continue
            if insee is None:
                point = _zone_point()
                if point is None:
                    continue
            else:
                point = _points(insee, 1, 100 + index)[0]
            with transaction.atomic():
                report = create_report(Submission(
                    category=category, longitude=point[0], latitude=point[1], description=text,
                    attributes=attributes, contact_email=email,
                    contact_name="" if not email else email.split("@")[0].replace(".", " ").title(),
                    source=Source.WEB if index % 4 else Source.STAFF))
                agent = agents.get(report.service.code) or User.objects.filter(
                    username="admin.sig").first()
                if status != "nouveau" and agent is not None:
                    if status in ("pris_en_compte", "en_cours", "resolu", "rejete"):
                        processing.set_status(report, "pris_en_compte", agent)
                    if status in ("en_cours", "resolu"):
                        processing.assign(report, agent, agent)
                        processing.set_status(report, "en_cours", agent)
                        processing.add_note(report, "Équipe prévue dans la semaine.", agent,
                                            public=False)
                    if status in ("resolu", "rejete"):
                        processing.set_status(report, status, agent, REASONS[status])
                # Spread the dates over the last weeks (the audit trail keeps its own times).
                when = timezone.now() - timedelta(days=days, hours=index)
                Report.objects.filter(pk=report.pk).update(created_at=when)
                ReportEvent.objects.filter(report=report, kind="created").update(at=when)
                publication.publish(report.pk)
            created += 1
    return created
