"""The one feature source: every read and write of a layer's features, by every protocol.

    from layers.features import FeatureQuery, In, storage_area
    source = AccessPolicy.for_user(user).source(name, Permission.VIEW)   # only the policy makes one

- source.py   FeatureSource: what the policy gave (layer, permission, rows, columns) and every
              SELECT (pages, exports, count, extents, tiles, Mapnik, GetFeatureInfo, gisserver);
- query.py    FeatureQuery and the condition tree (Compare, In, Like, Between, IsNull, Spatial,
              Fids, All, Any, Not) compiled to parameterised SQL;
- encoders.py the output encoders run by PostgreSQL (GeoJSON, CSV, GML 3.2, OGR);
- columns.py  Column (name, type, readable, writable);
- writing.py  insert, update, delete under the write filter, with the history;
- django_model.py the Django model of a layer's table (django-gisserver).
"""
from .columns import Column, UnknownColumn
from .query import (All, Any, Between, Compare, FeatureQuery, Fids, In, IsNull, Like, Not,
                    OUTPUT_SRIDS, Spatial, storage_area, storage_geometry)
from .source import (ALL_ROWS, NO_ROWS, Clip, ExportFailed, FeatureSource, InvalidFilterValue,
                     RowFilter)
from .writing import (GeometryValue, InvalidGeometry, InvalidValue, MaintainedLayer,
                      OperationDenied,
                      OutsideWriteFilter, ReadOnlyColumn,
                      geometry_from_geojson, geometry_from_gml)

__all__ = [
    "ALL_ROWS", "NO_ROWS", "OUTPUT_SRIDS", "All", "Any", "Between", "Clip", "Column", "Compare",
    "ExportFailed", "FeatureQuery", "FeatureSource", "Fids", "GeometryValue", "In",
    "InvalidFilterValue", "InvalidGeometry", "InvalidValue", "IsNull", "Like", "MaintainedLayer",
    "Not",
    "OperationDenied", "OutsideWriteFilter",
    "ReadOnlyColumn", "RowFilter", "Spatial", "UnknownColumn", "geometry_from_geojson",
    "geometry_from_gml", "storage_area", "storage_geometry",
]
