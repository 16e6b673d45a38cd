"""Which catalogue layers and styles a WMS request may use, decided by the access policy."""
from dataclasses import dataclass

from django.utils.translation import gettext as _

from layers.access import AccessPolicy, LayerNotFound
from layers.models import LAYER_NAME_RE, Layer, Permission, Style
from layers.styles import StyleError, resolve_style

from .errors import WmsError


def servable(queryset):
    """Vector layers that have data (an extent): what the WMS draws."""
    return queryset.filter(kind=Layer.Kind.VECTOR, extent__isnull=False)


def visible_layers(user):
    return servable(AccessPolicy.for_user(user).layers(Permission.VIEW)).select_related("theme")


@dataclass
class ServedLayer:
    grant: object
    style: object  # a layers.models.Style, or None for the built-in default

    @property
    def layer(self):
        return self.grant.layer

    @property
    def style_version(self):
        return "builtin" if self.style is None else f"{self.style.pk}:{self.style.updated_at.isoformat()}"

    def resolved_style(self):
        try:
            return resolve_style(self.layer, self.style)
        except StyleError as error:
            raise WmsError("StyleNotDefined", _("Le style « %(style)s » est invalide : %(error)s")
                           % {"style": self.style.name, "error": " ".join(error.messages)},
                           "STYLES") from None


def layer_styles(layer, styles=None):
    """The layer's styles, default first; [None] (the built-in default) when it has none."""
    rows = list(styles if styles is not None else layer.styles.all())
    rows.sort(key=lambda s: (not s.is_default, s.name))
    return rows or [None]


def style_named(layer, name, locator="STYLES"):
    rows = layer_styles(layer)
    if not name or name.lower() == "default" and not any(s and s.name == name for s in rows):
        return rows[0]
    for style in rows:
        if style is not None and style.name == name:
            return style
    raise WmsError("StyleNotDefined", _("La couche « %(layer)s » n'a pas de style « %(style)s ».")
                   % {"layer": layer.name, "style": name[:100]}, locator)


def grant_for(policy, name, locator="LAYERS"):
    grant = None
    if LAYER_NAME_RE.match(name):  # anything else cannot be a layer (and never reaches SQL)
        try:
            grant = policy.grant(name, Permission.VIEW)
        except LayerNotFound:
            pass
    if grant is None or not grant.layer.is_vector or grant.layer.extent is None:
        raise WmsError("LayerNotDefined", _("Couche inconnue : « %(name)s ».") % {"name": name[:100]},
                       locator)
    return grant


def resolve(user, names, style_names, locator="LAYERS", style_locator="STYLES"):
    policy = AccessPolicy.for_user(user)
    served = []
    for name, style_name in zip(names, style_names):
        grant = grant_for(policy, name, locator)
        served.append(ServedLayer(grant, style_named(grant.layer, style_name, style_locator)))
    return served


def style_rows(layers):
    """{layer id: [styles]} for many layers in one query (capabilities)."""
    rows = {}
    for style in Style.objects.filter(layer__in=layers).order_by("name"):
        rows.setdefault(style.layer_id, []).append(style)
    return rows
