"""REST registration of remote services (/api/remote-services/), for GIS administrators only.

POST a URL and a protocol: the capabilities are read (400 with the French reason if the service
is unusable, and nothing saved); POST …/<id>/publish with identifiers to put layers into the
catalogue. The admin pages and `manage.py register_remote_service` do the same (layers.remote).
"""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Layer, RemoteService, Theme
from ..remote.fetch import RemoteError
from ..remote.publish import AUDIENCES, publish, register_service

TAG = "Services distants"


class GisAdminOnly(permissions.BasePermission):
    message = gettext_lazy("Seuls les administrateurs SIG gèrent les services distants.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_gis_admin)


class RegisterSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    protocol = serializers.ChoiceField(choices=RemoteService.Protocol.choices)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PublishSerializer(serializers.Serializer):
    layers = serializers.ListField(child=serializers.CharField(max_length=300), min_length=1,
                                   max_length=100)
    usage = serializers.ChoiceField(choices=Layer.Usage.choices, default=Layer.Usage.OVERLAY)
    theme = serializers.SlugRelatedField(slug_field="slug", queryset=Theme.objects.all(),
                                         required=False, allow_null=True, default=None)
    audience = serializers.ChoiceField(choices=list(AUDIENCES), default="admins")


def service_body(service):
    published = dict(Layer.objects.filter(remote_layer__service=service)
                     .values_list("remote_layer__identifier", "name"))
    return {
        "id": service.pk, "title": service.title, "url": service.url,
        "protocol": service.protocol, "version": service.version, "provider": service.provider,
        "capabilities_checked_at": service.capabilities_checked_at,
        "layers": [{"identifier": layer.identifier, "title": layer.title,
                    "absent": bool((layer.metadata or {}).get("absent")),
                    "published_as": published.get(layer.identifier)}
                   for layer in service.layers.order_by("title")],
    }


SERVICE = inline_serializer("RemoteService", {
    "id": serializers.IntegerField(), "title": serializers.CharField(),
    "url": serializers.URLField(), "protocol": serializers.CharField(),
    "version": serializers.CharField(), "layers": serializers.ListField(child=serializers.DictField()),
})


class RemoteServicesView(APIView):
    permission_classes = [GisAdminOnly]

    @extend_schema(tags=[TAG], summary="Services distants enregistrés (administrateurs SIG)",
                   responses={200: SERVICE})
    def get(self, request):
        return Response([service_body(s) for s in RemoteService.objects.order_by("title")])

    @extend_schema(tags=[TAG], summary="Enregistrer un service distant (lecture des capacités)",
                   request=RegisterSerializer, responses={201: SERVICE})
    def post(self, request):
        params = RegisterSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            service, _created = register_service(params.validated_data["url"],
                                                 params.validated_data["protocol"],
                                                 params.validated_data["title"], user=request.user)
        except RemoteError as error:
            return Response({"detail": error.message, "parameter": "url"},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(service_body(service), status=status.HTTP_201_CREATED)


class RemoteServicePublishView(APIView):
    permission_classes = [GisAdminOnly]

    @extend_schema(tags=[TAG], summary="Publier des couches d'un service distant au catalogue",
                   request=PublishSerializer, responses={201: SERVICE})
    def post(self, request, pk):
        service = RemoteService.objects.filter(pk=pk).first()
        if service is None:  # (get_object_or_404's message is English)
            raise NotFound(_("Service distant introuvable."))
        params = PublishSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        remote_layers = {layer.identifier: layer for layer in service.layers.all()}
        unknown = [i for i in params.validated_data["layers"] if i not in remote_layers]
        if unknown:
            return Response({"detail": _("Couche(s) absente(s) des capacités : %(names)s.")
                             % {"names": ", ".join(unknown)}, "parameter": "layers"},
                            status=status.HTTP_400_BAD_REQUEST)
        for identifier in params.validated_data["layers"]:
            publish(remote_layers[identifier], usage=params.validated_data["usage"],
                    theme=params.validated_data["theme"],
                    audience=params.validated_data["audience"], user=request.user)
        return Response(service_body(service), status=status.HTTP_201_CREATED)
