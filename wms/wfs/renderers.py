"""Whole features encoded by PostgreSQL, streamed with bounded memory.

gisserver's database rendering still builds one Django model instance per feature and writes its
attributes in Python; over 100,000 features that costs more than the encoding itself, and its
GML output reads a whole page into memory first (numberReturned comes before the features).
For the catalogue's flat feature types these renderers:
- take the queryset gisserver built on the user's FeatureSource (FES filter, row filter, SORTBY,
  paging), let the source select its readable columns and wrap its SQL, and encode each feature
  with the source's encoders in PostgreSQL (layers.features.encoders: the GeoJSON Feature the REST
  API uses too, or a GML 3.2 member with xmlforest() escaping the attributes);
- read it in batches from a server-side cursor (layers.features.encoders.stream_rows);
- count numberMatched/numberReturned with a COUNT query instead of loading the page, and
  return exactly the page (gisserver's streaming iterator adds a sentinel row otherwise);
- continue a paging after the last fid served instead of an OFFSET (wms.wfs.paging).
Headers, footers, links, chunking and error handling stay gisserver's.
"""
import math

from django.utils.functional import cached_property
from gisserver.output import DBGeoJsonRenderer, DBGML32Renderer
from gisserver.output.iters import CountingIterator
from gisserver.output.results import CALCULATE, SimpleFeatureCollection

from layers.features.encoders import (geojson_feature_select, gml32_member_select,
                                      stream_rows)
from layers.features.source import GEOMETRY_ALIAS
from layers.sql import quote_ident
from layers.tables import GEOMETRY_COLUMN, PRIMARY_KEY

from . import paging
from .features import LayerFeatureType

DIGITS = 8


class CountedFeatureCollection(SimpleFeatureCollection):
    """numberReturned from a COUNT query, so a GML page is streamed instead of loaded first.

    keyset_after: the fid this page starts after, when it continues a paging (wms.wfs.paging);
    known_matched: numberMatched already counted for the same query and data."""

    supports_keyset = False
    paging_key = None
    keyset_after = None
    known_matched = None

    def page_rows(self):
        """The queryset of the page's rows from its first one (keyset), or None (OFFSET)."""
        if self.keyset_after is None:
            return None
        return self.queryset.filter(**{f"{PRIMARY_KEY}__gt": self.keyset_after})

    @property
    def number_matched(self):
        if self.keyset_after is not None and not self._is_hits_request:
            # Known for this query and data, else counted: never inferred from STARTINDEX (the
            # page starts after a fid, not at a position).
            self._count()
        return super().number_matched

    def _count(self):
        if self._number_matched == CALCULATE and self.known_matched is not None:
            self._number_matched = self.known_matched
        if self._number_matched == CALCULATE:
            queryset = self.queryset.all()
            queryset.query.annotations = {
                key: value for key, value in queryset.query.annotations.items()
                if not key.startswith("_as_") and not key.startswith("_As")
            }
            self._number_matched = queryset.count()
        return self._number_matched

    def _paginated_queryset(self, add_sentinel=None):
        # gisserver's iterator() asks for its default (a sentinel row) even when it counts
        # instead (GISSERVER_COUNT_NUMBER_MATCHED=1) and then yields it: GetPropertyValue and the
        # generic renderers (CSV, several types) answered COUNT=n with n+1 values.
        if add_sentinel is None:
            add_sentinel = self._use_sentinel_record
        rows = self.page_rows()
        if rows is not None:
            return rows[:self.stop - self.start + (1 if add_sentinel else 0)]
        return super()._paginated_queryset(add_sentinel=add_sentinel)

    @cached_property
    def number_returned(self):
        if self._is_hits_request or self._result_cache is not None \
                or self._result_iterator is not None:
            return super().number_returned
        rows = self.page_rows()
        if rows is not None:  # counted on the page itself (at most COUNT rows by the index)
            return rows[:self.stop - self.start].count()
        return max(0, min(self.stop, self._count()) - self.start)


def counted(collection, keyset=False):
    """Make the collection's pages count instead of loading (class swap: same state);
    keyset=True: pages continuing a remembered paging start after its last fid."""
    for sub_collection in collection.results:
        if type(sub_collection) is SimpleFeatureCollection:
            sub_collection.__class__ = CountedFeatureCollection
            sub_collection.supports_keyset = keyset
    if keyset:
        paging.continue_pagings(collection)
    return collection


class SQLFeatureMixin:
    """read_features() yields each feature's text encoded by PostgreSQL (flat layer types)."""

    def sql_columns(self, projection):
        """Attribute names to output, or None when the projection is not a flat layer type."""
        feature_type = projection.feature_type
        if not isinstance(feature_type, LayerFeatureType):
            return None
        names = []
        for element in projection.xsd_root_elements:
            if element.type.is_complex_type or "." in (element.orm_path or ""):
                return None
            if element.orm_path == GEOMETRY_COLUMN or element.type.is_geometry:
                continue
            names.append(element.orm_path)
        attributes = set(feature_type.source.readable_names())
        return names if set(names) <= attributes else None

    def inner_sql(self, sub_collection, columns):
        """(sql, params) of the page's rows: fid, the columns and the raw geometry."""
        source = sub_collection.feature_types[0].source
        stop = sub_collection.stop if sub_collection.stop != math.inf else None
        rows = sub_collection.page_rows() if isinstance(sub_collection, CountedFeatureCollection) \
            else None
        if rows is not None:
            return source.wrap_queryset_sql(rows, columns, 0, stop - sub_collection.start)
        return source.wrap_queryset_sql(sub_collection.queryset, columns,
                                        sub_collection.start, stop)

    def geometry_sql(self, projection):
        geometry = f"q.{GEOMETRY_ALIAS}"
        srid = projection.output_crs.srid
        if srid != projection.feature_type.crs.srid:
            geometry = f"ST_Transform({geometry}, {int(srid)})"
        return geometry

    def read_features(self, sub_collection):
        projection = sub_collection.projection
        columns = self.sql_columns(projection)
        if columns is None or len(sub_collection.feature_types) != 1:
            yield from super().read_features(sub_collection)
            return
        sql, params = self.inner_sql(sub_collection, columns)
        query = self.feature_sql(projection, columns, sql)
        rows = (row for batch in stream_rows(query, params) for row in batch)
        sub_collection._result_iterator = counter = CountingIterator(rows)
        last = None
        for last in counter:
            yield last
        paging.remember(sub_collection, last)


class SQLGeoJsonRenderer(SQLFeatureMixin, DBGeoJsonRenderer):
    def feature_sql(self, projection, columns, inner):
        name = projection.feature_type.name
        gml_id = "'\"" + name + ".' || q." + quote_ident(PRIMARY_KEY) + " || '\"'"
        return geojson_feature_select(f"({inner}) q", "q", columns,
                                      self.geometry_sql(projection), DIGITS, id_sql=gml_id,
                                      indent="    ")

    def render_feature(self, projection, instance):
        if isinstance(instance, str):
            return instance.encode()
        return super().render_feature(projection, instance)


class SQLGML32Renderer(SQLFeatureMixin, DBGML32Renderer):
    #: More ST_AsGML options (the WFS 1.1.0 renderer asks for LineString instead of Curve).
    extra_gml_options = 0

    def feature_sql(self, projection, columns, inner):
        feature_type = projection.feature_type
        tag = self.feature_qnames[feature_type]
        prefix = tag.split(":")[0] + ":" if ":" in tag else ""
        crs = projection.output_crs
        legacy = crs.force_xy
        options = (0 if legacy else 1 | (16 if crs.is_north_east_order else 0)) \
            | self.extra_gml_options
        return gml32_member_select(f"({inner}) q", "q", columns, self.geometry_sql(projection),
                                   DIGITS, tag, prefix, feature_type.name, options,
                                   projection.has_bounded_by)

    def write_feature(self, projection, instance, extra_xmlns=""):
        if isinstance(instance, str):
            self._write(instance)
            return
        super().write_feature(projection, instance, extra_xmlns=extra_xmlns)
