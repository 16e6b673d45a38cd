"""The ISO 19139 record of a layer, for whoever may view the layer (the access policy decides; a
layer one may not view is unknown, as everywhere). Its address is the resource identifier
written in the record (metadata.iso19139.resource_identifier)."""
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _

from layers.access import AccessPolicy
from layers.models import Permission

from . import iso19139


def iso_record(request, uuid):
    policy = AccessPolicy.for_user(request.user)
    layer = (policy.layers(Permission.VIEW).select_related("theme", "owner_commune")
             .filter(uuid=uuid).first())
    if layer is None:
        raise Http404(_("Fiche de métadonnées inconnue."))
    public = AccessPolicy.for_user(AnonymousUser()).layers(Permission.VIEW).filter(
        pk=layer.pk).exists()
    base_url = request.build_absolute_uri("/").rstrip("/")
    body = iso19139.record_bytes(layer, base_url, policy.permissions(layer), public)
    response = HttpResponse(body, content_type="application/xml; charset=UTF-8")
    response["Content-Disposition"] = f'inline; filename="{layer.name}-iso19139.xml"'
    return response
