"""A MapProxy source ("capgeo") that renders a catalogue layer in-process, for one audience.

MapProxy's own mapnik source does not work with mapnik 4, and an HTTP round trip to our own WMS
would need a way to authorise the internal requests. This source asks the access policy for the
Grant of the audience its cache belongs to, checks that the Grant still matches the cache it
fills (a cache is never filled with rows of another row filter), and renders with wms.tiles.render.
"""
import logging
from io import BytesIO

from mapproxy.config.configuration.source import (SourceConfiguration,
                                                   register_source_configuration)
from mapproxy.config.spec import source_commons
from mapproxy.extent import DefaultMapExtent, MapExtent
from mapproxy.image import ImageResult
from mapproxy.layer import BlankImageError
from mapproxy.layer.map_layer import MapLayer
from mapproxy.source import SourceError
from mapproxy.srs import SRS
from mapproxy.util.coverage import coverage as bbox_coverage
from mapproxy.util.ext.dictspec.spec import anything, combined, required

from layers.access import LayerNotFound
from layers.audience import Audience
from layers.models import Permission
from maps.errors import MapError

from .cache_names import cache_variant
from .render import SRIDS, render_png

log = logging.getLogger(__name__)


class CatalogueLayerSource(MapLayer):
    supports_meta_tiles = True

    def __init__(self, layer_name, audience, variant, style_name="", extent=None, image_opts=None):
        super().__init__(image_opts=image_opts)
        self.layer_name = layer_name
        self.style_name = style_name
        self.audience = audience
        self.variant = variant
        if extent:  # EPSG:3857 (wms.tiles.config._padded_extent)
            self.coverage = bbox_coverage(extent, SRS(3857))
            self.extent = MapExtent(extent, SRS(3857))
        else:
            self.coverage = None
            self.extent = DefaultMapExtent()

    def get_map(self, query):
        if self.coverage and not self.coverage.intersects(query.bbox, query.srs):
            raise BlankImageError()
        srid = int(query.srs.srs_code.split(":")[1])
        if srid not in SRIDS:
            raise SourceError(f"unsupported CRS {query.srs.srs_code}")
        try:
            grant = self.audience.policy().source(self.layer_name, Permission.VIEW)
        except LayerNotFound:
            raise BlankImageError() from None
        if cache_variant(grant) != self.variant:
            # Rules changed since this configuration was built: render nothing rather than
            # rows of another audience; the next request rebuilds the configuration.
            log.warning("tile source %s/%s no longer matches its audience", self.layer_name,
                        self.variant)
            raise BlankImageError()
        try:
            png = render_png(grant, query.bbox, srid, *query.size, style_name=self.style_name)
        except MapError:  # the style is gone: the next request rebuilds the configuration
            raise BlankImageError() from None
        if png is None:
            raise BlankImageError()
        return ImageResult(BytesIO(png), size=query.size, image_opts=self.image_opts)


class CatalogueSourceConfiguration(SourceConfiguration):
    source_type = ("capgeo",)
    required_keys = {"type", "layer", "audience", "variant"}

    def source(self, params=None):
        return CatalogueLayerSource(
            self.conf["layer"], Audience(**self.conf["audience"]), self.conf["variant"],
            style_name=self.conf.get("style", ""), extent=self.conf.get("extent"), image_opts=self.image_opts(),
        )


_registered = False


def register():
    global _registered
    if not _registered:
        register_source_configuration(
            "capgeo", CatalogueSourceConfiguration, "capgeo",
            combined(source_commons, {
                required("layer"): str(), required("variant"): str(), "style": str(),
                required("audience"): {anything(): anything()},
                "extent": [float()], "transparent": bool(), "image": {anything(): anything()},
            }),
        )
        _registered = True
