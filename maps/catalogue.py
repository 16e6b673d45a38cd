"""Which catalogue layers and styles a map may use (WMS, prints, tiles, thumbnails, reports),
decided by the access policy."""
import json
from dataclasses import dataclass

from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from layers.access import AccessPolicy, LayerNotFound
from layers.models import LAYER_NAME_RE, Layer, Permission, Style
from layers.styles import StyleError, resolve_style, restrict_style

from .errors import MapError
from .sources.base import DRAWN_PROTOCOLS, RemoteServed, drawable, remote_style


def servable(queryset):
    """Vector layers that have data (an extent), and remote WMS/WMTS layers: what maps draw."""
    return queryset.filter(
        Q(kind=Layer.Kind.VECTOR)
        | Q(kind=Layer.Kind.REMOTE, remote_layer__service__protocol__in=DRAWN_PROTOCOLS),
        extent__isnull=False)


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
    def hidden_columns(self):
        """The layer's columns the user may not read: the style is drawn without them."""
        return tuple(column.name for column in self.grant.columns if not column.readable)

    @property
    def style_version(self):
        """The style's identity as drawn for this user (Maps, legends and thumbnails are cached
        by it): its version, and the columns hidden from him when there are some."""
        version = "builtin" if self.style is None else \
            f"{self.style.pk}:{self.style.updated_at.isoformat()}"
        hidden = self.hidden_columns
        return f"{version}|sans:{','.join(hidden)}" if hidden else version

    def resolved_style(self):
        """The style as this user may see it drawn: its classes, rules and labels that read a
        column hidden from him are not applied (layers.styles.restrict_style)."""
        try:
            return styled_for(self.grant, resolve_style(self.layer, self.style))
        except StyleError as error:
            raise MapError("StyleNotDefined", _("Le style « %(style)s » est invalide : %(error)s")
                           % {"style": self.style.name, "error": " ".join(error.messages)},
                           "STYLES") from None


def styled_for(source, style):
    """A resolved style as drawn for the user of the feature source (his readable columns)."""
    if not style.attributes or all(column.readable for column in source.columns):
        return style
    return restrict_style(source.layer, style, source.readable_names())


def layer_styles(layer, styles=None):
    """The layer's styles, default first; [None] (the built-in default) when it has none."""
    rows = list(styles if styles is not None else layer.styles.all())
    rows.sort(key=lambda s: (not s.is_default, s.name))
    return rows or [None]


# The layer and its styles in one query (GetMap is called often; the policy then adds one query
# for the rules). The SLD text is not read.
STYLES_JSON = (
    "SELECT coalesce(json_agg(json_build_object('id', s.id, 'name', s.name, 'title', s.title, "
    "'is_default', s.is_default, 'kind', s.kind, 'definition', s.definition, "
    "'updated_at', s.updated_at)), '[]'::json) FROM layers_style s "
    "WHERE s.layer_id = layers_layer.id"
)


def layer_with_styles(name):
    found = list(Layer.objects.select_related("theme", "remote_layer__service")
                 .annotate(style_rows=RawSQL(STYLES_JSON, [])).filter(name=name).order_by()[:1])
    if not found:
        return None
    layer = found[0]
    rows = layer.style_rows if isinstance(layer.style_rows, list) else json.loads(layer.style_rows)
    layer.loaded_styles = [
        Style(id=row["id"], layer=layer, name=row["name"], title=row["title"],
              is_default=row["is_default"], kind=row["kind"], definition=row["definition"],
              updated_at=parse_datetime(row["updated_at"]))
        for row in rows
    ]
    return layer


def style_named(layer, name, locator="STYLES"):
    rows = layer_styles(layer, getattr(layer, "loaded_styles", None))
    if not name or name.lower() == "default" and not any(s and s.name == name for s in rows):
        return rows[0]
    for style in rows:
        if style is not None and style.name == name:
            return style
    raise MapError("StyleNotDefined", _("La couche « %(layer)s » n'a pas de style « %(style)s ».")
                   % {"layer": layer.name, "style": name[:100]}, locator)


def grant_for(policy, name, locator="LAYERS", allow_remote=False):
    grant = None
    if LAYER_NAME_RE.match(name):  # anything else cannot be a layer (and never reaches SQL)
        layer = layer_with_styles(name)
        try:
            grant = policy.source(layer, Permission.VIEW) if layer is not None else None
        except LayerNotFound:
            pass
    drawn = grant is not None and (
        grant.layer.is_vector or allow_remote and drawable(grant.layer))
    if not drawn or grant.layer.extent is None:
        raise MapError("LayerNotDefined", _("Couche inconnue : « %(name)s ».") % {"name": name[:100]},
                       locator)
    return grant


def resolve(user, names, style_names, locator="LAYERS", style_locator="STYLES"):
    policy = AccessPolicy.for_user(user)
    served = []
    for name, style_name in zip(names, style_names):
        grant = grant_for(policy, name, locator, allow_remote=True)
        if not grant.layer.is_vector:
            served.append(RemoteServed(
                grant, remote_style(grant.layer, style_name, style_locator)))
            continue
        served.append(ServedLayer(grant, style_named(grant.layer, style_name, style_locator)))
    return served


def style_rows(layers):
    """{layer id: [styles]} for many layers in one query (capabilities)."""
    rows = {}
    for style in Style.objects.filter(layer__in=layers).order_by("name"):
        rows.setdefault(style.layer_id, []).append(style)
    return rows
