"""Vocabularies of the layers' discovery metadata (ISO 19115 / INSPIRE), used as field choices.

- INSPIRE spatial data themes (Directive 2007/2/EC, annexes I to III), by their two-letter code
  (the last part of their URI in the INSPIRE theme register), labelled in French as the GEMET
  "INSPIRE themes" thesaurus labels them;
- ISO 19115 topic categories (MD_TopicCategoryCode), with the category each INSPIRE theme is
  usually filed under (used when a layer names none);
- the degree of conformity to a specification (INSPIRE metadata technical guidelines 2.0).
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

INSPIRE_THEME_URI = "http://inspire.ec.europa.eu/theme/"


class InspireTheme(models.TextChoices):
    # Annex I
    ADDRESSES = "ad", _("Adresses")
    ADMINISTRATIVE_UNITS = "au", _("Unités administratives")
    REFERENCE_SYSTEMS = "rs", _("Référentiels de coordonnées")
    GRIDS = "gg", _("Systèmes de maillage géographique")
    CADASTRAL_PARCELS = "cp", _("Parcelles cadastrales")
    GEOGRAPHICAL_NAMES = "gn", _("Dénominations géographiques")
    HYDROGRAPHY = "hy", _("Hydrographie")
    PROTECTED_SITES = "ps", _("Sites protégés")
    TRANSPORT_NETWORKS = "tn", _("Réseaux de transport")
    # Annex II
    ELEVATION = "el", _("Altitude")
    GEOLOGY = "ge", _("Géologie")
    LAND_COVER = "lc", _("Occupation des terres")
    ORTHOIMAGERY = "oi", _("Ortho-imagerie")
    # Annex III
    AGRICULTURE = "af", _("Installations agricoles et aquacoles")
    MANAGEMENT_AREAS = "am", _("Zones de gestion, de restriction ou de réglementation et "
                               "unités de déclaration")
    ATMOSPHERE = "ac", _("Conditions atmosphériques")
    BIOGEOGRAPHICAL = "br", _("Régions biogéographiques")
    BUILDINGS = "bu", _("Bâtiments")
    ENERGY = "er", _("Sources d'énergie")
    MONITORING = "ef", _("Installations de suivi environnemental")
    HABITATS = "hb", _("Habitats et biotopes")
    HEALTH = "hh", _("Santé et sécurité des personnes")
    LAND_USE = "lu", _("Usage des sols")
    METEOROLOGY = "mf", _("Caractéristiques géographiques météorologiques")
    MINERALS = "mr", _("Ressources minérales")
    NATURAL_RISKS = "nz", _("Zones à risque naturel")
    OCEANOGRAPHY = "of", _("Caractéristiques géographiques océanographiques")
    PRODUCTION = "pf", _("Lieux de production et sites industriels")
    POPULATION = "pd", _("Répartition de la population — démographie")
    SEA_REGIONS = "sr", _("Régions maritimes")
    SOIL = "so", _("Sols")
    SPECIES = "sd", _("Répartition des espèces")
    STATISTICAL_UNITS = "su", _("Unités statistiques")
    UTILITIES = "us", _("Services d'utilité publique et services publics")


class TopicCategory(models.TextChoices):
    FARMING = "farming", _("agriculture")
    BIOTA = "biota", _("biote")
    BOUNDARIES = "boundaries", _("limites")
    ATMOSPHERE = "climatologyMeteorologyAtmosphere", _("climatologie, météorologie, atmosphère")
    ECONOMY = "economy", _("économie")
    ELEVATION = "elevation", _("altitude")
    ENVIRONMENT = "environment", _("environnement")
    GEOSCIENCE = "geoscientificInformation", _("informations géoscientifiques")
    HEALTH = "health", _("santé")
    IMAGERY = "imageryBaseMapsEarthCover", _("imagerie, cartes de base, occupation des terres")
    MILITARY = "intelligenceMilitary", _("renseignement, secteur militaire")
    INLAND_WATERS = "inlandWaters", _("eaux intérieures")
    LOCATION = "location", _("localisation")
    OCEANS = "oceans", _("océans")
    PLANNING = "planningCadastre", _("planification, cadastre")
    SOCIETY = "society", _("société")
    STRUCTURE = "structure", _("structure")
    TRANSPORTATION = "transportation", _("transport")
    UTILITIES = "utilitiesCommunication", _("services d'utilité publique, communication")


TOPIC_OF_THEME = {
    "ad": "location", "au": "boundaries", "rs": "location", "gg": "location",
    "cp": "planningCadastre", "gn": "location", "hy": "inlandWaters", "ps": "environment",
    "tn": "transportation", "el": "elevation", "ge": "geoscientificInformation",
    "lc": "imageryBaseMapsEarthCover", "oi": "imageryBaseMapsEarthCover", "af": "farming",
    "am": "planningCadastre", "ac": "climatologyMeteorologyAtmosphere", "br": "biota",
    "bu": "structure", "er": "economy", "ef": "structure", "hb": "biota", "hh": "health",
    "lu": "planningCadastre", "mf": "climatologyMeteorologyAtmosphere", "mr": "economy",
    "nz": "geoscientificInformation", "of": "oceans", "pf": "structure", "pd": "society",
    "sr": "oceans", "so": "geoscientificInformation", "sd": "biota", "su": "boundaries",
    "us": "utilitiesCommunication",
}


class Conformity(models.TextChoices):
    NOT_EVALUATED = "notEvaluated", _("non évaluée")
    CONFORMANT = "conformant", _("conforme")
    NOT_CONFORMANT = "notConformant", _("non conforme")
