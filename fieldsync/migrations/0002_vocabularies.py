"""Seed the SPANC vocabularies and the Annexe II grid (arrêté du 27 avril 2012).

Rows, not code: administrators may rename, reorder, deactivate or add entries in the admin. The
seeding only creates what is missing, so re-running never overwrites an edited label.
"""
from django.db import migrations

CONTROL_KINDS = [
    # code, label, periodic, is_sale
    ("conception", "Examen préalable de la conception", False, False),
    ("execution", "Vérification de l'exécution", True, False),
    ("bon_fonctionnement", "Contrôle périodique de bon fonctionnement et d'entretien", True, False),
    ("vente", "Contrôle en vue de la vente", True, True),
    ("contre_visite", "Contre-visite", True, False),
]

COMPONENT_TYPES = [
    # code, label, stage, approved device
    ("fosse_toutes_eaux", "Fosse toutes eaux", "pretreatment", False),
    ("fosse_septique", "Fosse septique", "pretreatment", False),
    ("bac_degraisseur", "Bac dégraisseur", "pretreatment", False),
    ("prefiltre", "Préfiltre", "pretreatment", False),
    ("epandage", "Épandage (tranchées d'infiltration)", "treatment", False),
    ("filtre_sable_vertical", "Filtre à sable vertical non drainé", "treatment", False),
    ("filtre_sable_draine", "Filtre à sable vertical drainé", "treatment", False),
    ("lit_zeolithe", "Lit filtrant à massif de zéolithe", "treatment", False),
    ("tertre", "Tertre d'infiltration", "treatment", False),
    ("filtre_compact", "Filtre compact (agréé)", "treatment", True),
    ("microstation", "Microstation (agréée)", "treatment", True),
    ("filtre_plante", "Filtre planté (agréé)", "treatment", True),
    ("toilettes_seches", "Toilettes sèches", "treatment", False),
    ("infiltration_sol", "Infiltration dans le sol", "discharge", False),
    ("irrigation_souterraine", "Irrigation souterraine", "discharge", False),
    ("rejet_milieu_superficiel", "Rejet vers le milieu hydraulique superficiel (autorisé)",
     "discharge", False),
    ("puits_infiltration", "Puits d'infiltration (dérogation)", "discharge", False),
]

FIELD_KINDS = ["execution", "bon_fonctionnement", "vente", "contre_visite"]
CHECKLIST = [
    # code, label, Annexe II category, kinds
    ("absence_installation", "Absence d'installation", "absence", FIELD_KINDS),
    ("contact_direct", "Défaut de sécurité sanitaire : contact direct possible avec des eaux usées "
     "non traitées", "danger", FIELD_KINDS),
    ("vecteurs", "Prolifération d'insectes ou d'autres vecteurs de maladies", "danger",
     FIELD_KINDS),
    ("nuisances_olfactives", "Nuisances olfactives récurrentes", "danger", FIELD_KINDS),
    ("defaut_structure", "Défaut de structure ou de fermeture des ouvrages", "danger",
     FIELD_KINDS),
    ("puits_35m", "Installation à moins de 35 m en amont hydraulique d'un puits privé déclaré "
     "et utilisé pour la consommation humaine", "danger", FIELD_KINDS),
    ("installation_incomplete", "Installation incomplète", "incomplete", FIELD_KINDS),
    ("sous_dimensionnement", "Installation significativement sous-dimensionnée", "incomplete",
     FIELD_KINDS),
    ("dysfonctionnements", "Dysfonctionnements majeurs", "incomplete", FIELD_KINDS),
    ("defaut_entretien", "Défaut d'entretien (vidange, nettoyage des ouvrages)", "defects",
     FIELD_KINDS),
    ("usure", "Défaut d'usure d'un élément de l'installation", "defects", FIELD_KINDS),
    ("accessibilite", "Regards et ouvrages non accessibles", "defects", FIELD_KINDS),
    ("projet_adapte", "Projet inadapté au type d'usager, au sol ou au site", "incomplete",
     ["conception"]),
    ("projet_dimensionnement", "Dimensionnement du projet insuffisant", "incomplete",
     ["conception"]),
    ("projet_implantation", "Implantation non conforme aux distances réglementaires", "danger",
     ["conception"]),
]

DEADLINES = [
    # code, label, years, years after a sale, as soon as possible
    ("des_que_possible", "Dès que possible (mise en demeure)", None, None, True),
    ("quatre_ans", "Sous 4 ans, ou 1 an après la vente", 4, 1, False),
    ("un_an_apres_vente", "Dans l'année qui suit la vente", None, 1, False),
]

CONCLUSIONS = [
    # code, label, compliant, deadline, colour
    ("absence_installation", "Non conforme : absence d'installation", False,
     "des_que_possible", "#7b0000"),
    ("danger_sante", "Non conforme : danger pour la santé des personnes", False, "quatre_ans",
     "#d7191c"),
    ("risque_environnemental", "Non conforme : risque environnemental avéré", False,
     "quatre_ans", "#fd8d3c"),
    ("non_conforme", "Non conforme", False, "un_an_apres_vente", "#fecc5c"),
    ("recommandations", "Absence de non-conformité, avec recommandations", True, None,
     "#a6d96a"),
    ("conforme", "Absence de non-conformité", True, None, "#1a9641"),
]

GRID = {
    # category: (outside zones, sanitary zone, environmental zone)
    "absence": ("absence_installation", "absence_installation", "absence_installation"),
    "danger": ("danger_sante", "danger_sante", "danger_sante"),
    "incomplete": ("non_conforme", "danger_sante", "risque_environnemental"),
    "defects": ("recommandations", "recommandations", "recommandations"),
    "none": ("conforme", "conforme", "conforme"),
}
ZONES = ("outside", "sanitary", "environmental")


def seed(apps, schema_editor):
    ControlKind = apps.get_model("fieldsync", "ControlKind")
    ComponentType = apps.get_model("fieldsync", "ComponentType")
    ChecklistItem = apps.get_model("fieldsync", "ChecklistItem")
    WorksDeadline = apps.get_model("fieldsync", "WorksDeadline")
    Conclusion = apps.get_model("fieldsync", "Conclusion")
    GridRule = apps.get_model("fieldsync", "GridRule")

    kinds = {}
    for order, (code, label, periodic, is_sale) in enumerate(CONTROL_KINDS, start=1):
        kinds[code], _ = ControlKind.objects.get_or_create(
            code=code, defaults={"label": label, "order": order * 10, "periodic": periodic,
                                 "is_sale": is_sale})
    for order, (code, label, stage, approved) in enumerate(COMPONENT_TYPES, start=1):
        ComponentType.objects.get_or_create(
            code=code, defaults={"label": label, "order": order * 10, "stage": stage,
                                 "approved_device": approved})
    for order, (code, label, category, kind_codes) in enumerate(CHECKLIST, start=1):
        item, created = ChecklistItem.objects.get_or_create(
            code=code, defaults={"label": label, "order": order * 10, "category": category})
        if created:
            item.control_kinds.set([kinds[k] for k in kind_codes])
    deadlines = {}
    for order, (code, label, years, after_sale, asap) in enumerate(DEADLINES, start=1):
        deadlines[code], _ = WorksDeadline.objects.get_or_create(
            code=code, defaults={"label": label, "order": order * 10, "years": years,
                                 "years_after_sale": after_sale, "as_soon_as_possible": asap})
    conclusions = {}
    for order, (code, label, compliant, deadline, color) in enumerate(CONCLUSIONS, start=1):
        conclusions[code], _ = Conclusion.objects.get_or_create(
            code=code, defaults={"label": label, "order": order * 10, "compliant": compliant,
                                 "works_deadline": deadlines.get(deadline), "color": color})
    for category, cells in GRID.items():
        for zone, conclusion in zip(ZONES, cells):
            GridRule.objects.get_or_create(category=category, zone=zone,
                                           defaults={"conclusion": conclusions[conclusion]})


class Migration(migrations.Migration):
    dependencies = [("fieldsync", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
