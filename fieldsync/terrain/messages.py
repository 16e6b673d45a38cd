"""The field app's script texts, translated on the server (the platform's one gettext catalogue).

app.html hands them to the scripts as JSON (terrain/i18n.js): %(name)s placeholders are filled by
the script, and a text whose wording depends on a count comes as {"one", "other"}, picked with the
page language's plural rules (Intl.PluralRules) from the %(count)s value. Texts sent by the server
(reasons of the sync API) are translated where they are produced.
"""
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext


def _plural(forms):
    """Both forms of a counted text, from a function of the count (so xgettext sees ngettext)."""
    return {"one": forms(1), "other": forms(2)}


def field_messages():
    return {
        # Header and network
        "online": _("En ligne"),
        "offline": _("Hors ligne"),
        "noPending": _("Aucune modification en attente"),
        "pendingChanges": _plural(lambda n: ngettext(
            "%(count)s modification en attente", "%(count)s modifications en attente", n)),
        "logInAgain": _("Se reconnecter"),
        "offlineUnavailable": _("Mode hors ligne indisponible : %(error)s"),
        "noServiceWorker": _("Ce navigateur ne permet pas le travail hors ligne "
                             "(service worker)."),

        # State of a control on the tablet (list badges, map colours)
        "stateTodo": _("à faire"),
        "statePending": _("en attente d'envoi"),
        "stateDone": _("transmis"),
        "stateProblem": _("conflit ou refus"),

        # Status of a control on the server
        "statusPlanned": _("planifié"),
        "statusAssigned": _("attribué"),
        "statusInProgress": _("en cours"),
        "statusSubmitted": _("transmis"),
        "statusValidated": _("validé"),
        "statusRejected": _("refusé"),

        # Result of a change sent to the server
        "resultApplied": _("appliquée"),
        "resultDuplicate": _("déjà reçue"),
        "resultConflict": _("en conflit"),
        "resultRejected": _("refusée"),

        # List of assignments
        "unknownAddress": _("Adresse inconnue"),
        "packageInfo": _plural(lambda n: ngettext(
            "%(count)s contrôle attribué à %(name)s · paquet du %(date)s",
            "%(count)s contrôles attribués à %(name)s · paquet du %(date)s", n)),
        "tilesInfo": _plural(lambda n: ngettext(
            "Fond de carte hors ligne : %(count)s tuile (niveaux %(min)s à %(max)s).",
            "Fond de carte hors ligne : %(count)s tuiles (niveaux %(min)s à %(max)s).", n)),
        "controlsDownloaded": _plural(lambda n: ngettext(
            "%(count)s contrôle téléchargé.", "%(count)s contrôles téléchargés.", n)),
        "tilesCached": _plural(lambda n: ngettext(
            "%(count)s tuile de fond de carte en cache.",
            "%(count)s tuiles de fond de carte en cache.", n)),
        "controlSubmitted": _("Contrôle terminé : il sera transmis à la prochaine "
                              "synchronisation."),
        "draftSaved": _("Saisie enregistrée sur la tablette."),

        # Control form
        "backToList": _("← Retour à la liste"),
        "serverStatus": _("État sur le serveur :"),
        "versionInParentheses": _("(version %(version)s)"),
        "draftPending": _("saisie locale en attente d'envoi"),
        "draftSentPhotosPending": _("saisie locale envoyée, photos en attente"),
        "conflictLabel": _("Conflit :"),
        "rejectedLabel": _("Refusée :"),
        "settleInSyncTab": _("Réglez le conflit dans l'onglet « Synchronisation »."),
        "fixAndSave": _("Corrigez puis enregistrez : la saisie sera renvoyée."),
        "rejectionReason": _("Motif du refus par le responsable : %(reason)s"),
        "frozenNote": _("Ce contrôle est transmis : il ne peut plus être modifié."),
        "correct": _("Corriger (nouvelle version qui le remplace)"),
        "installation": _("Installation"),
        "previousControls": _("Contrôles précédents"),
        "noDate": _("sans date"),
        "noPreviousControl": _("aucun"),
        "address": _("Adresse"),
        "owner": _("Propriétaire"),
        "parcels": _("Parcelles"),
        "capacity": _("Capacité"),
        "capacityValue": _("%(count)s EH"),
        "commissioned": _("mise en service %(year)s"),
        "components": _("Dispositifs"),
        "zone": _("Zone"),
        "sanitaryZone": _("zone à enjeu sanitaire"),
        "environmentalZone": _("zone à enjeu environnemental"),
        "outsideZones": _("hors zone à enjeu"),
        "visitDate": _("Date de visite"),
        "saleDate": _("Date de la vente"),
        "checklistTitle": _("Points de contrôle (%(count)s)"),
        "allOk": _("Tout satisfaisant"),
        "remark": _("Remarque"),
        "remarkFor": _("Remarque : %(item)s"),
        "expectedConclusion": _("Conclusion prévue :"),
        "recomputedByServer": _("(recalculée par le serveur)"),
        "findingsProgress": _("%(done)s / %(total)s points renseignés."),
        "comments": _("Observations"),
        "photos": _("Photos"),
        "takePhoto": _("Prendre une photo"),
        "photoOnServer": _("sur le serveur"),
        "photoCaptionLabel": _("Légende de la photo"),
        "photoCaption": pgettext("photo", "Légende"),  # a caption, not a map legend
        "photoSize": _("%(size)s Ko · %(sha)s…"),
        "removePhoto": _("Retirer"),
        "badPhotoFormat": _("« %(name)s » : format non accepté (JPEG, PNG ou WebP)."),
        "position": _("Position"),
        "gpsButton": _("Relever ma position GPS"),
        "noGps": _("Pas de GPS sur cet appareil."),
        "locating": _("Recherche de la position…"),
        "gpsResult": _("%(lat)s, %(lon)s (± %(accuracy)s m) — à %(distance)s m de "
                       "l'installation enregistrée."),
        "gpsDenied": _("Position indisponible : autorisation refusée."),
        "gpsNoSignal": _("Position indisponible : pas de signal."),
        "saveInProgress": _("Enregistrer (en cours)"),
        "submitControl": _("Terminer et transmettre"),
        "visitDateRequired": _("La date de visite est obligatoire pour transmettre."),
        "unanswered": _plural(lambda n: ngettext(
            "%(count)s point de contrôle sans réponse.",
            "%(count)s points de contrôle sans réponse.", n)),
        "visitDateInFuture": _("La date de visite ne peut pas être dans le futur."),

        # Synchronisation view and conflicts
        "nothingSent": _("Rien à envoyer lors de la dernière synchronisation (%(date)s)."),
        "toSettle": _("À régler"),
        "rejectedTitle": _("Refusée — %(address)s"),
        "conflictTitle": _("Conflit — %(address)s"),
        "fixEntry": _("Corriger la saisie"),
        "dropEntry": _("Abandonner ma saisie"),
        "confirmDrop": _("Abandonner définitivement votre saisie de ce contrôle ?"),
        "serverVersion": _("Version du serveur (v%(version)s)"),
        "myEntry": _("Ma saisie (sur la v%(version)s)"),
        "rebaseEntry": _("Reprendre ma saisie sur la version du serveur"),
        "rebased": _("Votre saisie repart de la version du serveur : relisez-la puis "
                     "synchronisez."),
        "compareStatus": _("État"),
        "compareFindings": _("Points renseignés"),
        "compareDefects": _("Défauts"),
        "unchanged": _("inchangés"),
        "appliedVersion": _("Version %(version)s · %(status)s"),
        "serverConclusion": _("Conclusion du serveur : %(label)s"),
        "photosAnnounced": _plural(lambda n: ngettext(
            "%(count)s photo annoncée, %(missing)s à envoyer",
            "%(count)s photos annoncées, %(missing)s à envoyer", n)),
        "entityControl": _("contrôle"),
        "entitySignalement": _("signalement"),
        "entityInstallation": _("installation"),
        "syncDone": _("Synchronisation terminée."),
        "photosSent": _plural(lambda n: ngettext(
            "%(count)s photo envoyée et vérifiée.",
            "%(count)s photos envoyées et vérifiées.", n)),

        # Steps of a download or a synchronisation
        "checkingSession": _("Vérification de la session…"),
        "downloadingAssignments": _("Téléchargement des attributions…"),
        "cachingBasemap": _("Mise en cache du fond de carte…"),
        "tilesProgress": _("Fond de carte : tuiles %(done)s / %(total)s"),
        "assignmentsDownloaded": _("Attributions téléchargées."),
        "resendingBatch": _("Renvoi du lot interrompu…"),
        "sendingChanges": _plural(lambda n: ngettext(
            "Envoi de %(count)s modification…", "Envoi de %(count)s modifications…", n)),
        "sendingPhotos": _("Envoi des photos…"),
        "photosUploaded": _("Photos envoyées : %(count)s"),
        "receivingChanges": _("Réception des changements du serveur…"),

        # Sync protocol on the tablet
        "deviceName": _("Tablette de %(name)s"),
        "deviceFailed": _("Impossible d'enregistrer la tablette."),
        "otherOwner": _("Les données de cette tablette appartiennent à %(owner)s, avec des "
                        "saisies pas encore confirmées : connectez-vous avec ce compte pour les "
                        "synchroniser."),
        "photoMissing": _("Photo %(sha)s… introuvable sur la tablette."),
        "keptServer": _("Le responsable a gardé la version du serveur : reprenez votre saisie "
                        "sur cette version ou abandonnez-la."),
        "tookClient": _("Le responsable a appliqué votre saisie sur la version du serveur."),
        "rebaseFrozen": _("La version du serveur est déjà transmise : votre saisie ne peut plus "
                          "s'y appliquer. Abandonnez-la."),

        # Reports (signalements) made in the field (wordings of the web form's, translated)
        "myReports": _("Signalements"),
        "newReport": _("Signaler un problème"),
        "reportCategory": _("Type de problème"),
        "reportPlace": _("Emplacement"),
        "longitude": _("Longitude (WGS 84)"),
        "latitude": _("Latitude (WGS 84)"),
        "reportDescription": _("Description"),
        "reportDescriptionMissing": _("Décrivez le problème en quelques mots."),
        "fieldRequired": _("« %(label)s » est obligatoire."),

        # Calls to the platform
        "noNetwork": _("Pas de réseau : le serveur ne répond pas. Vos saisies restent sur la "
                       "tablette."),
        "sessionExpired": _("Votre session a expiré : reconnectez-vous pour synchroniser. Vos "
                            "saisies restent sur la tablette."),
        "noSyncAccess": _("Ce compte n'a pas accès à la synchronisation SPANC."),
        "serverError": _("Erreur du serveur (%(status)s)."),
        "transactionAborted": _("Enregistrement sur la tablette interrompu."),
    }
