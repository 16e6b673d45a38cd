"""The sync API (/api/sync/), described in docs/sync-protocol.md and in the OpenAPI schema.

Errors are JSON: {"detail": "<message en français>", "reasons": [...], "code": "..."} with a 4xx
status, or 5xx for a fault of the server (then retry later); this holds for DRF's own refusals
(401, 403, 404, 405) and for unknown paths under /api/sync/ (not_found below). Bodies are read and
parsed here (not by DRF's parsers) so that size limits and malformed JSON get the protocol's own
answers.
"""
import json
import logging
import re
import uuid as uuid_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from layers import access_log
from territory.models import Commune

from . import (
    campaigns, conflicts, photos, planning, pull, push, push_queue, records, review, scope,
)
from .actions import ActionRefused, Busy
from .records import control as control_type
from .records import installation as installation_type
from .serializers import StrictSerializer
from .validation import BatchSerializer, ChangeSerializer, flatten_errors
from .models import ControlKind, Device

logger = logging.getLogger(__name__)

TAG = "Synchronisation SPANC"
ERROR = inline_serializer("SyncError", {
    "detail": serializers.CharField(),
    "reasons": serializers.ListField(child=serializers.CharField()),
    "code": serializers.CharField(required=False)})
MAX_JSON_DEPTH = 32
INSEE_RE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
SHA256_PATH_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def max_batch_bytes():
    return getattr(settings, "FIELDSYNC_MAX_BATCH_BYTES", 20 * 1024 * 1024)


# The code of an error that has no more precise one.
DEFAULT_CODES = {400: "invalid_request", 403: "permission_denied", 404: "not_found",
                 409: "conflict", 411: "length_required", 413: "too_large", 500: "server_error",
                 503: "busy"}


def error(status_code, detail, reasons=(), **extra):
    reasons = [str(r) for r in reasons] or [str(detail)]
    extra.setdefault("code", DEFAULT_CODES.get(status_code, "error"))
    return Response({"detail": str(detail), "reasons": reasons, **extra}, status=status_code)


def busy_answer(busy):
    """503 `busy` of an action that kept losing deadlocks: nothing written, try again."""
    response = error(503, busy, code="busy")
    response["Retry-After"] = "5"
    return response


def _json_depth(value):
    """Nesting depth of parsed JSON, iteratively (a deep document never exhausts the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


def _no_constant(name):
    raise ValueError(_t("%(name)s n'est pas du JSON (RFC 8259).") % {"name": name})


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def read_json(request, limit):
    """(payload, None) or (None, error Response)."""
    if not request.META.get("CONTENT_LENGTH"):
        return None, error(411, _t("En-tête Content-Length obligatoire (le corps n'est pas lu "
                                   "sans lui)."), code="length_required")
    length = _content_length(request)
    if length > limit:
        return None, error(413, _t("Requête trop volumineuse : %(size)d octets, %(max)d au plus.")
                           % {"size": length, "max": limit})
    raw = request.read(limit + 1) if length else b""
    if len(raw) > limit:
        return None, error(413, _t("Requête trop volumineuse : %(max)d octets au plus.")
                           % {"max": limit})
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return None, error(400, _t("JSON invalide : %(error)s.") % {"error": exc},
                           code="invalid_json")
    except RecursionError:
        depth = MAX_JSON_DEPTH + 1
    else:
        depth = _json_depth(payload)
    if depth > MAX_JSON_DEPTH:
        return None, error(400, _t("JSON invalide : imbriqué sur plus de %(max)d niveaux.")
                           % {"max": MAX_JSON_DEPTH}, code="invalid_json")
    return payload, None


def parse_uuid(text):
    try:
        return uuid_module.UUID(str(text))
    except ValueError:
        return None


# Every error of the sync API in the protocol's JSON shape, with a machine-readable code: DRF's
# refusals (not_authenticated, permission_denied, method_not_allowed, not_found…) gain `reasons`,
# and an unexpected fault answers a JSON 500 (the client retries later) instead of an HTML page.
# (Comments, not a docstring: inspect.getdoc() would copy it into every operation of the schema.)
class SyncExceptionMixin:

    def handle_exception(self, exc):
        try:
            response = super().handle_exception(exc)
        except Exception:  # noqa: BLE001 - logged with its traceback, answered in JSON
            logger.exception("Erreur interne de l'API de synchronisation (%s)", self.request.path)
            return error(500, _t("Erreur interne du serveur : rien n'a été perdu de ce qui a "
                                 "été confirmé ; réessayez plus tard, avec le même lot."),
                         code="server_error")
        if isinstance(response.data, dict) and "reasons" not in response.data:
            detail = response.data.get("detail", "")
            codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
            response.data = {"detail": str(detail), "reasons": [str(detail)],
                             **({"code": codes} if isinstance(codes, str) else {})}
        return response


class BaseSyncView(SyncExceptionMixin, APIView):
    pass


class FieldStaff(permissions.BasePermission):
    """Whoever some field record type admits (fieldsync.records.may_sync): the SPANC staff, and
    the agents of a reports service (signalements)."""
    message = _("Réservé aux agents du SPANC et des services qui traitent les signalements.")

    def has_permission(self, request, view):
        return records.may_sync(request.user)


class Managers(permissions.BasePermission):
    message = _("Réservé aux responsables SPANC.")

    def has_permission(self, request, view):
        return scope.is_manager(request.user)


class SyncView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, FieldStaff]


# --- devices ---------------------------------------------------------------------------------
class DeviceSerializer(StrictSerializer):
    id = serializers.UUIDField(help_text="Identifiant généré par l'appareil.")
    name = serializers.CharField(max_length=100)


class DeviceView(SyncView):
    @extend_schema(tags=[TAG], summary="Enregistrer un appareil", request=DeviceSerializer,
                   responses={201: DeviceSerializer, 200: DeviceSerializer, 400: ERROR, 409: ERROR})
    def post(self, request):
        payload, failure = read_json(request, 10_000)
        if failure:
            return failure
        serializer = DeviceSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Appareil invalide."), flatten_errors(serializer.errors))
        data = serializer.validated_data
        existing = Device.objects.filter(id=data["id"]).first()
        if existing is not None:
            if existing.user_id != request.user.pk:
                return error(409, _t("Cet identifiant d'appareil appartient à un autre "
                                     "utilisateur."), code="device_other_user")
            if not existing.active:  # registering again never re-enables it: no loop
                return error(403, push.deactivated_message(), code="device_deactivated")
            return Response({"id": str(existing.id), "name": existing.name})
        try:
            with transaction.atomic():
                device = Device.objects.create(id=data["id"], name=data["name"],
                                               user=request.user)
        except IntegrityError:
            return error(409, _t("Cet identifiant d'appareil est déjà enregistré."))
        return Response({"id": str(device.id), "name": device.name}, status=201)


# --- pull ------------------------------------------------------------------------------------
DEVICE_PARAMETER = OpenApiParameter(
    "device", str, required=True,
    description="UUID de l'appareil enregistré (POST /api/sync/devices/) : un appareil désactivé "
                "ne télécharge plus rien.")


def pulling_device(request):
    """(device, None) or (None, error Response): pulls name their device, like pushes."""
    device_id = parse_uuid(request.query_params.get("device", ""))
    if device_id is None:
        return None, error(400, _t("Paramètre « device » manquant ou invalide : l'UUID de "
                                   "l'appareil enregistré est attendu."), code="device_missing")
    try:
        return push.device_for(request.user, device_id), None
    except push.BatchRefused as refused:
        return None, error(refused.status, refused.reasons[0], refused.reasons, code=refused.code)


class PackageView(SyncView):
    @extend_schema(tags=[TAG], summary="Paquet hors ligne des attributions",
                   description="Installations, contrôles attribués et précédents, vocabulaires et "
                               "grille de l'annexe II, zones à enjeu, emprise de la carte, "
                               "curseur de synchronisation.",
                   parameters=[DEVICE_PARAMETER],
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR, 403: ERROR})
    def get(self, request):
        device, failure = pulling_device(request)
        if failure:
            return failure
        return HttpResponse(pull.package(request.user), content_type="application/json")


class ChangesView(SyncView):
    @extend_schema(tags=[TAG], summary="Modifications depuis un curseur",
                   parameters=[OpenApiParameter("since", int, required=True,
                                                description="Curseur reçu au dernier tirage."),
                               DEVICE_PARAMETER],
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR, 403: ERROR, 409: ERROR})
    def get(self, request):
        try:
            since = int(request.query_params.get("since", ""))
            if since < 0:
                raise ValueError
        except ValueError:
            return error(400, _t("Paramètre « since » invalide : un entier positif (le curseur "
                                 "reçu) est attendu."), code="invalid_cursor")
        device, failure = pulling_device(request)
        if failure:
            return failure
        current = pull.current_cursor()
        if since > current:
            # After a restore of the server, or a cursor from another server: never silent.
            return error(409, _t("Curseur %(since)d en avance sur le serveur (dernier : "
                                 "%(current)d), par exemple après une restauration : "
                                 "téléchargez à nouveau le paquet complet "
                                 "(GET /api/sync/package/) après avoir envoyé vos modifications.")
                         % {"since": since, "current": current}, code="cursor_ahead",
                         cursor=current)
        return Response(pull.changes(request.user, since))


# --- push ------------------------------------------------------------------------------------
class PushView(SyncView):
    @extend_schema(
        tags=[TAG], summary="Envoyer un lot de modifications",
        description="Chaque modification porte un UUID créé par l'appareil et la version du "
                    "serveur sur laquelle elle a été faite. Réponse : un état par modification "
                    "(applied, duplicate, conflict, rejected). Renvoyer le même lot renvoie la "
                    "même réponse sans rien réappliquer. Avec l'en-tête « Prefer: "
                    "respond-async », le lot est enregistré et la réponse est 202 tout de "
                    "suite ; il est appliqué en arrière-plan et sa réponse se lit à l'adresse "
                    "Location (GET /api/sync/push/<batch_id>/).",
        request=inline_serializer("PushBatch", {
            "batch_id": serializers.UUIDField(), "device_id": serializers.UUIDField(),
            "changes": ChangeSerializer(many=True)}),
        parameters=[OpenApiParameter("Prefer", str, OpenApiParameter.HEADER,
                                     description="respond-async : appliquer en arrière-plan")],
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: ERROR, 403: ERROR,
                   409: ERROR, 413: ERROR})
    def post(self, request):
        payload, failure = read_json(request, max_batch_bytes())
        if failure:
            return failure
        envelope = BatchSerializer(data=payload)
        if not envelope.is_valid():
            too_big = any("trop gros" in r for r in flatten_errors(envelope.errors))
            return error(413 if too_big else 400, _t("Lot refusé : rien n'a été enregistré."),
                         flatten_errors(envelope.errors),
                         code="batch_too_large" if too_big else "invalid_batch")
        data = envelope.validated_data
        try:
            if push_queue.wants_async(request):
                return push_queue.accept(request.user, data, payload)
            answer = push_queue.process(request.user, data["batch_id"], data["device_id"],
                                        data["changes"], payload)
        except push.BatchRefused as refused:
            return error(refused.status, refused.reasons[0], refused.reasons,
                         **({"code": refused.code} if refused.code else {}))
        except push.Busy:
            response = error(503, _t("Serveur trop sollicité : le lot n'a été appliqué qu'en "
                                     "partie ; renvoyez le même lot (même batch_id) dans un "
                                     "instant, il reprendra où il s'est arrêté."), code="busy")
            response["Retry-After"] = "5"
            return response
        with access_log.reading_as("sync-push"):
            installation_type.journal_push_answer(request.user, answer)
        return Response(answer)


# --- photos ----------------------------------------------------------------------------------
PHOTO_STATUS = inline_serializer("PhotoStatus", {
    "sha256": serializers.CharField(), "size": serializers.IntegerField(),
    "content_type": serializers.CharField(), "received": serializers.IntegerField(),
    "verified": serializers.BooleanField()})


def visible_blob(request, sha256):
    if not SHA256_PATH_RE.match(sha256):
        return None  # like an unknown photo (and never a NUL or a garbage string in SQL)
    return photos.visible_blob(request.user, sha256.lower())


class PhotoView(SyncView):
    @extend_schema(tags=[TAG], summary="État d'une photo (octets reçus, vérifiée)",
                   responses={200: PHOTO_STATUS, 404: ERROR})
    def get(self, request, sha256):
        blob = visible_blob(request, sha256)
        if blob is None:
            return error(404, _t("Photo inconnue."), code="not_found")
        return Response(photos.status(blob, request.user))

    @extend_schema(
        tags=[TAG], summary="Envoyer une photo ou un morceau de photo",
        description="Corps : les octets. En-tête facultatif Content-Range: bytes début-fin/total "
                    "pour un envoi par morceaux ; après une coupure, lire l'état (GET) et "
                    "reprendre à « received ».",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER)],
        responses={200: PHOTO_STATUS, 400: ERROR, 404: ERROR, 409: ERROR, 413: ERROR})
    def put(self, request, sha256):
        if not SHA256_PATH_RE.match(sha256):
            return error(404, _t("Photo inconnue : elle doit d'abord être annoncée par un "
                                 "contrôle synchronisé."), code="not_found")
        sha256 = sha256.lower()
        try:
            return Response(photos.receive_chunk(
                request.user, sha256, request.META.get("HTTP_CONTENT_RANGE"), request,
                _content_length(request)))
        except photos.ChecksumMismatch as mismatch:
            if mismatch.shared:
                photos.reset_after_mismatch(sha256)
            return error(mismatch.status, mismatch.message, **mismatch.extra)
        except photos.UploadError as failure:
            return error(failure.status, failure.message, **failure.extra)


class PhotoContentView(SyncView):
    @extend_schema(tags=[TAG], summary="Télécharger une photo vérifiée",
                   responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 404: ERROR})
    def get(self, request, sha256):
        # Only a photo the user holds (received for a control they may read) is given.
        blob = SHA256_PATH_RE.match(sha256) and photos.held_blob(request.user, sha256.lower())
        if not blob:
            return error(404, _t("Photo inconnue ou pas encore reçue."))
        return FileResponse(open(photos.final_path(blob.sha256), "rb"),
                            content_type=blob.content_type)


class ControlPhotosView(SyncView):
    @extend_schema(tags=[TAG], summary="Photos d'un contrôle et celles qui manquent encore",
                   responses={200: OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request, uuid):
        uuid = parse_uuid(uuid)
        control = uuid and scope.controls(request.user).filter(uuid=uuid).first()
        if control is None:
            return error(404, _t("Contrôle inconnu ou hors de vos attributions."),
                         code="not_found")
        statuses = photos.control_photo_status(control, request.user)
        return Response({"control": str(control.uuid), "photos": statuses,
                         "missing": [p["sha256"] for p in statuses if not p["verified"]]})


# --- reading installations (also for municipal agents, without owners) ------------------------
class InstallationListView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=[TAG], summary="Installations visibles (sans propriétaire hors SPANC)",
                   parameters=[OpenApiParameter("commune", str, description="Code INSEE")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        queryset = scope.installations(request.user).prefetch_related("components__type")
        insee = request.query_params.get("commune")
        if insee and not INSEE_RE.match(insee):
            return error(400, _t("Paramètre « commune » invalide : un code INSEE de 5 caractères "
                                 "est attendu."), code="invalid_parameter")
        if insee:
            queryset = queryset.filter(commune__insee=insee)
        with access_log.reading_as("sync-installations"):
            return Response({"installations": installation_type.journal_owners(
                request.user, [installation_type.out(i, request.user) for i in queryset[:5000]])})


# --- manager actions -------------------------------------------------------------------------
class CampaignSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.SlugField()
    communes = serializers.ListField(child=serializers.CharField(max_length=5), required=False)
    area = serializers.JSONField(
        required=False, help_text="Polygone GeoJSON en WGS84 (ou en Lambert-93 avec un membre "
                                  "« crs » EPSG:2154).")
    due_before = serializers.DateField(required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)


class CampaignView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Planifier une campagne (communes ou zone dessinée)",
                   request=CampaignSerializer,
                   responses={201: OpenApiTypes.OBJECT, 400: ERROR, 503: ERROR})
    def post(self, request):
        payload, failure = read_json(request, 1_000_000)
        if failure:
            return failure
        serializer = CampaignSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Campagne invalide."), flatten_errors(serializer.errors))
        data = serializer.validated_data
        kind = ControlKind.objects.filter(code=data["kind"], active=True).first()
        if kind is None:
            return error(400, _t("Nature de contrôle inconnue."))
        communes = list(Commune.objects.filter(insee__in=data.get("communes", [])))
        if len(communes) != len(set(data.get("communes", []))):
            return error(400, _t("Code INSEE inconnu dans la liste des communes."))
        area = None
        if "area" in data:
            try:  # the same reading as the map of the manager screens (WGS 84 or Lambert-93)
                area = planning.parse_area(json.dumps(data["area"]))
            except ValidationError as invalid:
                return error(400, _t("Zone invalide : %(reason)s")
                             % {"reason": " ".join(invalid.messages)})
        try:
            campaign, count = campaigns.plan_campaign(
                request.user, data["name"], kind, communes, area, data.get("due_before"),
                data.get("starts_on"), data.get("ends_on"))
        except Busy as busy:
            return busy_answer(busy)
        except ActionRefused as refused:
            return error(400, refused)
        return Response({"id": campaign.pk, "name": campaign.name, "planned": count,
                         "controls": [str(u) for u in campaign.controls.values_list("uuid",
                                                                                     flat=True)]},
                        status=201)


class AssignSerializer(StrictSerializer):
    controls = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    inspector = serializers.CharField()


class AssignView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Attribuer des contrôles à un contrôleur",
                   request=AssignSerializer,
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR, 503: ERROR})
    def post(self, request):
        payload, failure = read_json(request, 1_000_000)
        if failure:
            return failure
        serializer = AssignSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Attribution invalide."), flatten_errors(serializer.errors))
        data = serializer.validated_data
        inspector = User.objects.filter(username=data["inspector"]).first()
        controls = list(scope.controls(request.user).filter(uuid__in=data["controls"]))
        if inspector is None or len(controls) != len(set(data["controls"])):
            return error(400, _t("Contrôleur ou contrôle inconnu."))
        try:
            count = campaigns.assign(request.user, controls, inspector)
        except Busy as busy:
            return busy_answer(busy)
        except ActionRefused as refused:
            return error(400, refused)
        return Response({"assigned": count})


class DecisionSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["validate", "reject"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class DecisionView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Valider ou refuser un contrôle transmis",
                   request=DecisionSerializer,
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR, 503: ERROR})
    def post(self, request, uuid):
        payload, failure = read_json(request, 100_000)
        if failure:
            return failure
        serializer = DecisionSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Décision invalide."), flatten_errors(serializer.errors))
        uuid = parse_uuid(uuid)
        control = uuid and scope.controls(request.user).filter(uuid=uuid).first()
        if control is None:
            return error(404, _t("Contrôle inconnu ou hors de vos attributions."),
                         code="not_found")
        try:
            control = review.decide(
                request.user, control, serializer.validated_data["decision"] == "validate",
                serializer.validated_data.get("reason", ""))
        except Busy as busy:
            return busy_answer(busy)
        except ActionRefused as refused:
            return error(400, refused, missing_photos=control_type.missing_photos(control))
        return Response(control_type.out(control, request.user))


class ConflictListView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Conflits à arbitrer", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"conflicts": [
            {"change_id": str(c.id), "entity": c.entity, "id": str(c.entity_uuid),
             "user": c.batch.user.username, "device": c.batch.device.name,
             "received_at": c.created_at.isoformat(), "client": c.data,
             # The object's version now, not the one stored when the conflict arose.
             "server_version": conflicts.current_server_state(request.user, c)[0]}
            for c in conflicts.open_conflicts(request.user)]})


class ResolutionSerializer(StrictSerializer):
    keep = serializers.ChoiceField(choices=["server", "client"])


class ConflictResolutionView(BaseSyncView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Arbitrer un conflit", request=ResolutionSerializer,
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR, 404: ERROR, 503: ERROR})
    def post(self, request, change_id):
        payload, failure = read_json(request, 10_000)
        if failure:
            return failure
        serializer = ResolutionSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Arbitrage invalide."), flatten_errors(serializer.errors))
        change_id = parse_uuid(change_id)
        change = change_id and conflicts.visible_conflicts(request.user).filter(
            pk=change_id).first()
        if change is None:
            return error(404, _t("Conflit inconnu ou hors de votre ressort."), code="not_found")
        try:
            change = conflicts.resolve_conflict(
                request.user, change, serializer.validated_data["keep"] == "client")
        except Busy as busy:
            return busy_answer(busy)
        except ActionRefused as refused:
            return error(400, refused)
        answer = {"change_id": str(change.id), "resolution": change.resolution}
        if getattr(change, "applied_to", None):
            answer["applied_to"] = str(change.applied_to)  # the record the field version went to
        return Response(answer)



# --- anything else under /api/sync/ ----------------------------------------------------------
@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([permissions.AllowAny])
def not_found(request, path=""):
    """Unknown paths (and malformed identifiers in paths) answer the protocol's JSON 404."""
    return error(404, _t("Adresse inconnue de l'API de synchronisation : %(path)s")
                 % {"path": request.path.replace("\x00", "\ufffd")}, code="not_found")


class BatchStateView(SyncView):
    @extend_schema(
        tags=[TAG], summary="État d'un lot envoyé avec « Prefer: respond-async »",
        description="200 : la réponse du lot, comme celle d'un envoi direct. 202 : le lot est "
                    "enregistré mais pas encore appliqué ; relire après Retry-After secondes. "
                    "404 : lot inconnu (ou d'un autre utilisateur). 503 `busy` (state "
                    "« failed ») : les processus de tâches de fond qui l'appliquaient se sont "
                    "arrêtés ; renvoyer le même lot.",
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 403: ERROR, 404: ERROR,
                   503: ERROR})
    def get(self, request, batch_id):
        answer = push_queue.state(request.user, batch_id)
        if answer is None:
            return error(404, _t("Lot inconnu."))
        if answer.status_code == 200:  # the batch's answer, read now
            with access_log.reading_as("sync-push"):
                installation_type.journal_push_answer(request.user, answer.data)
        return answer
