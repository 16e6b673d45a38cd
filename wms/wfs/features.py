"""Catalogue layers as django-gisserver feature types, read through the user's FeatureSource.

The source (layers.features) gives the model (its readable columns as fields) and the queryset:
its rows (the row filter as a semi-join on the layer table aliased ``t``, the filter SQL used
verbatim), ordered by fid, so pages are stable however the client pages them. gisserver adds
its FES filters, sorting and paging to that queryset.
"""
from django.utils.functional import cached_property
from gisserver.crs import CRS
from gisserver.features import FeatureType
from gisserver.geometries import WGS84BoundingBox

from layers.features.django_model import usable_attribute
from layers.tables import GEOMETRY_COLUMN, SRID

DEFAULT_CRS = CRS.from_string(f"urn:ogc:def:crs:EPSG::{SRID}")
OTHER_CRS = [CRS.from_string("urn:ogc:def:crs:EPSG::4326"),
             CRS.from_string("urn:ogc:def:crs:EPSG::3857")]


class LayerFeatureType(FeatureType):
    """One catalogue layer the user may download, with his FeatureSource."""

    def __init__(self, source):
        self.source = source
        layer = source.layer
        fields = [name for name in source.readable_names() if usable_attribute(name)]
        super().__init__(
            source.queryset(),
            fields=fields + [GEOMETRY_COLUMN],
            geometry_field_name=GEOMETRY_COLUMN,
            name=layer.name,
            title=layer.title,
            abstract=layer.abstract or None,
            keywords=list(layer.keywords) + ([layer.theme.name] if layer.theme_id else []),
            crs=DEFAULT_CRS,
            other_crs=OTHER_CRS,
            show_name_field=False,
        )

    @property
    def layer(self):
        return self.source.layer

    @cached_property
    def _bounding_box(self):
        """WGS 84 box of the rows the user may read, measured on the data in WGS 84
        (layers.extents: the catalogue's when unrestricted, his rows' when restricted)."""
        box = self.source.summary().boxes.get(4326)
        return WGS84BoundingBox(*box) if box else None

    def get_bounding_box(self):
        return self._bounding_box
