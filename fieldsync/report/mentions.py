"""Legal mentions printed at the end of a visit report (French, as the owner reads them).

The references are those of the regulation the controls apply (see docs/guide-spanc.md); the
court and the service's contact come from settings so that another service can reuse them.
"""
from django.conf import settings
from django.utils.translation import gettext as _t

DEFAULT_COURT = "tribunal administratif de Nantes"


def court():
    return getattr(settings, "SPANC_REPORT_COURT", DEFAULT_COURT)


def references():
    return _t(
        "Contrôle réalisé en application de l'article L. 2224-8 du code général des collectivités "
        "territoriales, de l'arrêté du 27 avril 2012 relatif aux modalités de l'exécution de la "
        "mission de contrôle des installations d'assainissement non collectif (conclusion établie "
        "selon la grille de son annexe II) et de l'arrêté du 7 septembre 2009 modifié fixant les "
        "prescriptions techniques applicables aux installations d'assainissement non collectif.")


def works_obligation():
    return _t(
        "Travaux : le propriétaire fait procéder aux travaux prescrits par le présent rapport "
        "dans un délai de quatre ans suivant sa notification (article L. 1331-1-1 du code de la "
        "santé publique) ; en cas de vente, l'acquéreur les réalise au plus tard un an après la "
        "signature de l'acte de vente (article L. 271-4 du code de la construction et de "
        "l'habitation). En l'absence d'installation, les travaux sont à réaliser dans les "
        "meilleurs délais. Tout projet de travaux est soumis au préalable à l'examen du SPANC.")


def sale_notice():
    return _t(
        "Vente : ce rapport, daté de moins de trois ans au moment de la signature de l'acte, est "
        "joint au dossier de diagnostic technique (article L. 1331-11-1 du code de la santé "
        "publique). Au-delà, un nouveau contrôle est à demander au SPANC.")


def appeal(intercommunality):
    return _t(
        "Voies et délais de recours : le présent rapport peut faire l'objet d'un recours gracieux "
        "auprès du président de %(body)s, ou d'un recours contentieux devant le %(court)s, dans un "
        "délai de deux mois à compter de sa notification. Le recours gracieux prolonge ce délai. "
        "Le tribunal peut être saisi par l'application « Télérecours citoyens » "
        "(www.telerecours.fr).") % {"body": intercommunality, "court": court()}


def personal_data():
    return _t(
        "Données personnelles : les informations de ce rapport sont traitées par le SPANC pour "
        "l'exécution de sa mission de service public de contrôle. Vous pouvez y accéder et en "
        "demander la rectification auprès du service.")


def all_mentions(intercommunality):
    return [references(), works_obligation(), sale_notice(), appeal(intercommunality),
            personal_data()]
