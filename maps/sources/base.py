"""What every remote source shares: the remote layer in a map (RemoteServed), its style, the
codes a remote server may use for the CRSs the platform serves, and the images it answers."""
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from PIL import Image

from layers.models import Layer, RemoteLayer
from layers.remote.fetch import RemoteError

from ..errors import MapError, crs_code_name

DRAWN_PROTOCOLS = ("wms", "wmts", "wfs")
# Codes a remote server may use for the CRSs the platform serves.
EQUIVALENT_CRS = {
    "EPSG:2154": ("EPSG:2154",),
    "EPSG:3857": ("EPSG:3857", "EPSG:900913", "EPSG:102100", "EPSG:102113"),
    "EPSG:4326": ("EPSG:4326", "CRS:84"),
    "CRS:84": ("CRS:84", "EPSG:4326"),
}
IMAGE_PREFERENCE = ("image/png", "image/png; mode=32bit", "image/png8", "image/png; mode=8bit",
                    "image/webp", "image/jpeg", "image/gif")


def is_remote(served):
    return getattr(served, "is_remote", False)


def has_remote(served_layers):
    return any(is_remote(s) for s in served_layers)


@dataclass
class RemoteServed:
    """A remote catalogue layer in a map: its Grant and the remote style to ask for."""
    grant: object
    style: str
    fresh: object = field(default=None, init=False, repr=False, compare=False)
    is_remote = True

    @property
    def layer(self):
        return self.grant.layer

    @property
    def remote(self):
        """The RemoteLayer as now stored (decisions may be cached across requests, and a new
        capabilities reading changes only the remote layer)."""
        if self.fresh is None:
            self.fresh = RemoteLayer.objects.select_related("service").get(
                pk=self.layer.remote_layer_id)
        return self.fresh

    @property
    def protocol(self):
        return self.remote.service.protocol

    @property
    def metadata(self):
        return self.remote.metadata or {}


def drawable(layer):
    return (layer.kind == Layer.Kind.REMOTE and layer.remote_layer_id is not None
            and layer.remote_layer.service.protocol in DRAWN_PROTOCOLS)


def remote_style(layer, name, locator="STYLES"):
    """The remote style to request ('' = the server's default)."""
    styles = list(layer.remote_layer.styles)
    if not name or (name.lower() == "default" and name not in styles):
        if layer.remote_layer.service.protocol == "wmts":
            return (layer.remote_layer.metadata or {}).get("default_style") or \
                (styles[0] if styles else "default")
        return ""
    if name in styles:
        return name
    raise MapError("StyleNotDefined", _("La couche « %(layer)s » n'a pas de style « %(style)s ».")
                   % {"layer": layer.name, "style": name[:100]}, locator)


def style_details(layer, style):
    """What the capabilities said of a remote style (title, LegendURL and its size)."""
    return ((layer.remote_layer.metadata or {}).get("style_details") or {}).get(style) or {}


def remote_crs(served, crs):
    """The remote's code for the requested CRS, or InvalidCRS."""
    offered = set(served.remote.crs)
    for code in EQUIVALENT_CRS.get(crs.code, (crs.code,)):
        if code in offered:
            return code
    version = getattr(served, "wms_version", "1.3.0")
    raise MapError(crs_code_name(version),
                   _("La couche distante « %(layer)s » n'est pas proposée dans le système "
                     "%(crs)s (proposés : %(list)s).")
                   % {"layer": served.layer.name, "crs": crs.code,
                      "list": ", ".join(sorted(offered)) or "—"},
                   "CRS" if version == "1.3.0" else "SRS")


def bbox_text(box):
    return ",".join(repr(float(v)) for v in box)


def pick_format(formats, preference=IMAGE_PREFERENCE):
    lowered = {f.lower(): f for f in formats}
    for wanted in preference:
        if wanted in lowered:
            return lowered[wanted]
    return next((f for f in formats if f.lower().startswith("image/")), "image/png")


def decoded(content_type, content, size=None):
    if not content_type.startswith("image/"):
        raise RemoteError(_("le serveur n'a pas renvoyé une image (%(type)s)")
                          % {"type": content_type or "?"})
    try:
        picture = Image.open(io.BytesIO(content))
        picture.load()
    except (OSError, Image.DecompressionBombError, ValueError):
        raise RemoteError(_("image illisible")) from None
    picture = picture.convert("RGBA")
    if size and picture.size != size:
        picture = picture.resize(size, Image.BILINEAR)
    return picture
