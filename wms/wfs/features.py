"""Catalogue layers as django-gisserver feature types, read through the access policy's Grant.

Every queryset a feature type hands to gisserver carries the Grant's row filter (as a semi-join
on the layer table aliased ``t``, so the filter SQL is used verbatim) and is ordered by fid, so
pages are stable however the client pages them.
"""
from django.utils.functional import cached_property
from gisserver.crs import CRS
from gisserver.features import FeatureType
from gisserver.geometries import WGS84BoundingBox

from layers.extents import visible_summary
from layers.models import DATA_SCHEMA
from layers.tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID, qualified

from .models import layer_model, usable_attribute

DEFAULT_CRS = CRS.from_string(f"urn:ogc:def:crs:EPSG::{SRID}")
OTHER_CRS = [CRS.from_string("urn:ogc:def:crs:EPSG::4326"),
             CRS.from_string("urn:ogc:def:crs:EPSG::3857")]


def row_filter_sql(grant):
    """(sql, params) limiting the model's rows to the grant's, or None when unrestricted."""
    if not grant.restricted:
        return None
    sql, params = grant.where("t")
    table = qualified(DATA_SCHEMA, grant.layer.name)
    key = f'{table}."{PRIMARY_KEY}"'
    return f'{key} IN (SELECT t."{PRIMARY_KEY}" FROM {table} t WHERE {sql})', list(params)


class LayerFeatureType(FeatureType):
    """One catalogue layer the user may download, with its Grant."""

    def __init__(self, grant):
        self.grant = grant
        layer = grant.layer
        model = layer_model(layer)
        fields = [a["name"] for a in layer.attributes if usable_attribute(a["name"])]
        super().__init__(
            model.objects.all(),
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
        return self.grant.layer

    def filter_by_grant(self, queryset):
        restriction = row_filter_sql(self.grant)
        if restriction is not None:
            sql, params = restriction
            queryset = queryset.extra(where=[sql], params=params)
        return queryset.order_by(PRIMARY_KEY)

    def get_queryset(self):
        return self.filter_by_grant(super().get_queryset())

    @cached_property
    def _bounding_box(self):
        """WGS 84 box of the rows the user may read, measured on the data in WGS 84
        (layers.extents: the catalogue's when unrestricted, his rows' when restricted)."""
        box = visible_summary(self.grant).boxes.get(4326)
        return WGS84BoundingBox(*box) if box else None

    def get_bounding_box(self):
        return self._bounding_box
