"""The viewer script's texts, translated on the server (one gettext catalogue for the platform).

The template hands them to webmap/viewer.js as JSON; %(name)s placeholders are filled by the
script.
"""
from django.utils.translation import gettext as _


def viewer_messages():
    return {
        "loading": _("Chargement des couches…"),
        "layerError": _("La couche « %(title)s » n'a pas pu être affichée. Réessayez plus tard."),
        "noFeature": _("Aucun objet à cet endroit dans les couches affichées."),
        "identifyError": _("L'interrogation de la couche « %(title)s » a échoué."),
        "identifyNoLayer": _("Affichez une couche interrogeable pour en consulter les objets."),
        "identifying": _("Interrogation des couches…"),
        "popupTitle": _("Objets à cet endroit"),
        "close": _("Fermer"),
        "searching": _("Recherche…"),
        "searchNone": _("Aucun résultat pour « %(text)s »."),
        "searchError": _("La recherche a échoué : %(error)s"),
        "unknownLayers": _("Couches inconnues ou non accessibles, ignorées : %(names)s."),
        "badExtent": _("L'emprise demandée dans le lien est invalide : la carte s'ouvre sur le "
                       "territoire."),
        "badLink": _("Le lien de carte est mal formé (%(part)s) : cette partie est ignorée."),
        "measureLength": _("Longueur : %(value)s"),
        "measureArea": _("Surface : %(value)s"),
        "measureHint": _("Cliquez pour ajouter des points, double-cliquez pour terminer."),
        "permalinkCopied": _("Lien copié dans le presse-papiers."),
        "permalinkReady": _("Copiez ce lien pour retrouver cette carte :"),
        "exportPngError": _("L'export PNG a échoué : %(error)s"),
        "exporting": _("Préparation de l'export…"),
        "printUnavailable": _("Le service d'impression PDF n'est pas disponible sur ce serveur. "
                              "Utilisez l'export PNG."),
        "printError": _("L'impression a échoué : %(error)s"),
        "printDone": _("Export terminé : %(file)s"),
        "networkError": _("Le serveur ne répond pas ; vérifiez votre connexion."),
        "moveUp": _("Monter « %(title)s »"),
        "moveDown": _("Descendre « %(title)s »"),
        "opacity": _("Opacité de « %(title)s »"),
        "zoomTo": _("Zoomer sur « %(title)s »"),
        "legend": _("Légende de « %(title)s »"),
        "metadata": _("Fiche de « %(title)s »"),
        "legendAlt": _("Légende de la couche « %(title)s »"),
        "orderEmpty": _("Aucune couche affichée : cochez une couche ci-dessus."),
        "attributes": _("Attributs"),
        "value": _("Valeur"),
        "untitledMap": _("Carte C@p Géo"),
    }
