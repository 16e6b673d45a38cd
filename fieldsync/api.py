"""The sync API (/api/sync/), described in docs/sync-protocol.md and in the OpenAPI schema.

Errors are JSON: {"detail": "<message en français>", "reasons": [...]} with a 4xx status; bodies
are read and parsed here (not by DRF's parsers) so that size limits and malformed JSON get the
protocol's own answers.
"""
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from capgeo.accounts.models import User
from capgeo.territory.models import Commune

from . import editing, management_actions, photos, planning, pull, push, scope, wire
from .changes import BatchSerializer, ChangeSerializer, StrictSerializer, flatten_errors
from .models import ControlKind, Device, SyncChange

TAG = "Synchronisation SPANC"
ERROR = inline_serializer("SyncError", {"detail": serializers.CharField(),
                                        "reasons": serializers.ListField(child=serializers.CharField())})


def max_batch_bytes():
    return getattr(settings, "FIELDSYNC_MAX_BATCH_BYTES", 20 * 1024 * 1024)


def error(status_code, detail, reasons=(), **extra):
    return Response({"detail": str(detail), "reasons": [str(r) for r in reasons], **extra},
                    status=status_code)


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def read_json(request, limit):
    """(payload, None) or (None, error Response)."""
    length = _content_length(request)
    if length > limit:
        return None, error(413, _t("Requête trop volumineuse : %(size)d octets, %(max)d au plus.")
                           % {"size": length, "max": limit})
    raw = request.read(limit + 1) if length else b""
    if len(raw) > limit:
        return None, error(413, _t("Requête trop volumineuse : %(max)d octets au plus.")
                           % {"max": limit})
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, error(400, _t("JSON invalide : %(error)s.") % {"error": exc})


class SpancStaff(permissions.BasePermission):
    message = _("Réservé aux agents du SPANC.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and (
            user.is_gis_admin or user.role in scope.SPANC_ROLES))


class Managers(permissions.BasePermission):
    message = _("Réservé aux responsables SPANC.")

    def has_permission(self, request, view):
        return scope.is_manager(request.user)


class SyncView(APIView):
    permission_classes = [permissions.IsAuthenticated, SpancStaff]


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
                                     "utilisateur."))
            return Response({"id": str(existing.id), "name": existing.name})
        try:
            with transaction.atomic():
                device = Device.objects.create(id=data["id"], name=data["name"],
                                               user=request.user)
        except IntegrityError:
            return error(409, _t("Cet identifiant d'appareil est déjà enregistré."))
        return Response({"id": str(device.id), "name": device.name}, status=201)


# --- pull ------------------------------------------------------------------------------------
class PackageView(SyncView):
    @extend_schema(tags=[TAG], summary="Paquet hors ligne des attributions",
                   description="Installations, contrôles attribués et précédents, vocabulaires et "
                               "grille de l'annexe II, zones à enjeu, emprise de la carte, "
                               "curseur de synchronisation.",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return HttpResponse(pull.package(request.user), content_type="application/json")


class ChangesView(SyncView):
    @extend_schema(tags=[TAG], summary="Modifications depuis un curseur",
                   parameters=[OpenApiParameter("since", int, required=True,
                                                description="Curseur reçu au dernier tirage.")],
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR})
    def get(self, request):
        try:
            since = int(request.query_params.get("since", ""))
            if since < 0:
                raise ValueError
        except ValueError:
            return error(400, _t("Paramètre « since » invalide : un entier positif (le curseur "
                                 "reçu) est attendu."))
        return Response(pull.changes(request.user, since))


# --- push ------------------------------------------------------------------------------------
class PushView(SyncView):
    @extend_schema(
        tags=[TAG], summary="Envoyer un lot de modifications",
        description="Chaque modification porte un UUID créé par l'appareil et la version du "
                    "serveur sur laquelle elle a été faite. Réponse : un état par modification "
                    "(applied, duplicate, conflict, rejected). Renvoyer le même lot renvoie la "
                    "même réponse sans rien réappliquer.",
        request=inline_serializer("PushBatch", {
            "batch_id": serializers.UUIDField(), "device_id": serializers.UUIDField(),
            "changes": ChangeSerializer(many=True)}),
        responses={200: OpenApiTypes.OBJECT, 400: ERROR, 403: ERROR, 409: ERROR, 413: ERROR})
    def post(self, request):
        payload, failure = read_json(request, max_batch_bytes())
        if failure:
            return failure
        envelope = BatchSerializer(data=payload)
        if not envelope.is_valid():
            too_big = any("trop gros" in r for r in flatten_errors(envelope.errors))
            return error(413 if too_big else 400, _t("Lot refusé : rien n'a été enregistré."),
                         flatten_errors(envelope.errors))
        data = envelope.validated_data
        try:
            answer = push.process(request.user, data["batch_id"], data["device_id"],
                                  data["changes"], payload)
        except push.BatchRefused as refused:
            return error(refused.status, refused.reasons[0], refused.reasons)
        return Response(answer)


# --- photos ----------------------------------------------------------------------------------
PHOTO_STATUS = inline_serializer("PhotoStatus", {
    "sha256": serializers.CharField(), "size": serializers.IntegerField(),
    "content_type": serializers.CharField(), "received": serializers.IntegerField(),
    "verified": serializers.BooleanField()})


class PhotoView(SyncView):
    @extend_schema(tags=[TAG], summary="État d'une photo (octets reçus, vérifiée)",
                   responses={200: PHOTO_STATUS, 404: ERROR})
    def get(self, request, sha256):
        blob = photos.visible_blob(request.user, sha256.lower())
        if blob is None:
            return error(404, _t("Photo inconnue."))
        return Response(photos.status(blob))

    @extend_schema(
        tags=[TAG], summary="Envoyer une photo ou un morceau de photo",
        description="Corps : les octets. En-tête facultatif Content-Range: bytes début-fin/total "
                    "pour un envoi par morceaux ; après une coupure, lire l'état (GET) et "
                    "reprendre à « received ».",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER)],
        responses={200: PHOTO_STATUS, 400: ERROR, 404: ERROR, 409: ERROR, 413: ERROR})
    def put(self, request, sha256):
        sha256 = sha256.lower()
        try:
            return Response(photos.receive_chunk(
                request.user, sha256, request.META.get("HTTP_CONTENT_RANGE"), request,
                _content_length(request)))
        except photos.ChecksumMismatch as mismatch:
            photos.reset_after_mismatch(sha256)
            return error(mismatch.status, mismatch.message, **mismatch.extra)
        except photos.UploadError as failure:
            return error(failure.status, failure.message, **failure.extra)


class PhotoContentView(SyncView):
    @extend_schema(tags=[TAG], summary="Télécharger une photo vérifiée",
                   responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 404: ERROR})
    def get(self, request, sha256):
        blob = photos.visible_blob(request.user, sha256.lower())
        if blob is None or not blob.verified:
            return error(404, _t("Photo inconnue ou pas encore reçue."))
        return FileResponse(open(photos.final_path(blob.sha256), "rb"),
                            content_type=blob.content_type)


class ControlPhotosView(SyncView):
    @extend_schema(tags=[TAG], summary="Photos d'un contrôle et celles qui manquent encore",
                   responses={200: OpenApiTypes.OBJECT, 404: ERROR})
    def get(self, request, uuid):
        control = scope.controls(request.user).filter(uuid=uuid).first()
        if control is None:
            return error(404, _t("Contrôle inconnu."))
        statuses = photos.control_photo_status(control)
        return Response({"control": str(control.uuid), "photos": statuses,
                         "missing": [p["sha256"] for p in statuses if not p["verified"]]})


# --- reading installations (also for municipal agents, without owners) ------------------------
class InstallationListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=[TAG], summary="Installations visibles (sans propriétaire hors SPANC)",
                   parameters=[OpenApiParameter("commune", str, description="Code INSEE")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        queryset = scope.installations(request.user).prefetch_related("components__type")
        insee = request.query_params.get("commune")
        if insee:
            queryset = queryset.filter(commune__insee=insee)
        return Response({"installations": [wire.installation_out(i, request.user)
                                           for i in queryset[:5000]]})


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


class CampaignView(APIView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Planifier une campagne (communes ou zone dessinée)",
                   request=CampaignSerializer, responses={201: OpenApiTypes.OBJECT, 400: ERROR})
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
            campaign, count = management_actions.plan_campaign(
                request.user, data["name"], kind, communes, area, data.get("due_before"),
                data.get("starts_on"), data.get("ends_on"))
        except management_actions.ActionRefused as refused:
            return error(400, refused)
        return Response({"id": campaign.pk, "name": campaign.name, "planned": count,
                         "controls": [str(u) for u in campaign.controls.values_list("uuid",
                                                                                     flat=True)]},
                        status=201)


class AssignSerializer(StrictSerializer):
    controls = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    inspector = serializers.CharField()


class AssignView(APIView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Attribuer des contrôles à un contrôleur",
                   request=AssignSerializer, responses={200: OpenApiTypes.OBJECT, 400: ERROR})
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
            count = management_actions.assign(request.user, controls, inspector)
        except management_actions.ActionRefused as refused:
            return error(400, refused)
        return Response({"assigned": count})


class DecisionSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["validate", "reject"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class DecisionView(APIView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Valider ou refuser un contrôle transmis",
                   request=DecisionSerializer, responses={200: OpenApiTypes.OBJECT, 400: ERROR})
    def post(self, request, uuid):
        payload, failure = read_json(request, 100_000)
        if failure:
            return failure
        serializer = DecisionSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Décision invalide."), flatten_errors(serializer.errors))
        control = scope.controls(request.user).filter(uuid=uuid).first()
        if control is None:
            return error(404, _t("Contrôle inconnu."))
        try:
            control = management_actions.decide(
                request.user, control, serializer.validated_data["decision"] == "validate",
                serializer.validated_data.get("reason", ""))
        except management_actions.ActionRefused as refused:
            return error(400, refused, missing_photos=editing.missing_photos(control))
        return Response(wire.control_out(control, request.user))


class ConflictListView(APIView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Conflits à arbitrer", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"conflicts": [
            {"change_id": str(c.id), "entity": c.entity, "id": str(c.entity_uuid),
             "user": c.batch.user.username, "device": c.batch.device.name,
             "received_at": c.created_at.isoformat(), "client": c.data,
             "server_version": c.answer.get("server_version")}
            for c in management_actions.open_conflicts(request.user)]})


class ResolutionSerializer(StrictSerializer):
    keep = serializers.ChoiceField(choices=["server", "client"])


class ConflictResolutionView(APIView):
    permission_classes = [permissions.IsAuthenticated, Managers]

    @extend_schema(tags=[TAG], summary="Arbitrer un conflit", request=ResolutionSerializer,
                   responses={200: OpenApiTypes.OBJECT, 400: ERROR})
    def post(self, request, change_id):
        payload, failure = read_json(request, 10_000)
        if failure:
            return failure
        serializer = ResolutionSerializer(data=payload)
        if not serializer.is_valid():
            return error(400, _t("Arbitrage invalide."), flatten_errors(serializer.errors))
        change = get_object_or_404(SyncChange, pk=change_id, status="conflict")
        try:
            change = management_actions.resolve_conflict(
                request.user, change, serializer.validated_data["keep"] == "client")
        except management_actions.ActionRefused as refused:
            return error(400, refused)
        return Response({"change_id": str(change.id), "resolution": change.resolution})

