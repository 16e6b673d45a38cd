"""GetStyles (WMS 1.1.1 / 1.3.0 with the SLD profile): the named styles of the requested layers as
one SLD 1.1.0 document, each layer a NamedLayer and each style a UserStyle (the default marked
IsDefault). The layers pass the access policy like a GetMap: a layer the user may not view is
unknown, and a style's rules reading a column hidden from the user are left out as when
drawn (maps.catalogue.styled_for). Remote layers have no local styles: their styles live on their own server."""
from django.http import HttpResponse

from layers.access import AccessPolicy
from layers.sld_export import document
from layers.styles import StyleError, resolve_style
from maps import catalogue

from .params import name_list, required

CONTENT_TYPE = "application/vnd.ogc.sld+xml"


def get_styles(request, params, version):
    names = name_list(required(params, "LAYERS"), "LAYERS")
    policy = AccessPolicy.for_user(request.user)
    named_layers = []
    for name in names:
        grant = catalogue.grant_for(policy, name, "LAYERS")
        layer = grant.layer
        styles = []
        for position, style in enumerate(catalogue.layer_styles(layer)):
            try:
                resolved = catalogue.styled_for(grant, resolve_style(layer, style))
            except StyleError:
                continue  # a style that no longer validates is not offered (as in capabilities)
            styles.append((resolved.name, resolved.title, resolved.rules, position == 0))
        named_layers.append((layer.name, styles))
    response = HttpResponse(document(named_layers), content_type=f"{CONTENT_TYPE}; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response
