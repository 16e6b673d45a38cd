"""Unmanaged Django models built at run time over the catalogue's layer tables.

django-gisserver serves GeoDjango models; a catalogue layer is a table created by the publisher,
so each layer gets a model class made with type(): managed=False, its fields the feature source's
readable columns (those usable as Django field names), its geometry field typed from
``layer.geometry_type``. Only the FeatureSource asks for one (FeatureSource.model()). The classes live in
app registries of their own (never in Django's, so makemigrations and the admin ignore them), and are
cached per layer shape; a republished layer with other columns gets a new class.

The table is named with the quoting trick ``layers_data"."<name>``: Django quotes it as
``"layers_data"."<name>"``. Layer names are validated by LAYER_NAME_RE, so they hold no quote.
"""
import re
from functools import lru_cache

from django.apps.registry import Apps
from django.contrib.gis.db import models

from ..models import DATA_SCHEMA, LAYER_NAME_RE
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID

# Attribute names usable as Django field names and XML element names.
FIELD_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
RESERVED_NAMES = {"pk", PRIMARY_KEY, GEOMETRY_COLUMN, "objects", "id"}

GEOMETRY_FIELDS = {
    "POINT": models.PointField,
    "LINESTRING": models.LineStringField,
    "POLYGON": models.PolygonField,
    "MULTIPOINT": models.MultiPointField,
    "MULTILINESTRING": models.MultiLineStringField,
    "MULTIPOLYGON": models.MultiPolygonField,
}

NUMERIC_RE = re.compile(r"^numeric\((\d+)(?:,(\d+))?\)$")


def usable_attribute(name):
    return bool(FIELD_NAME_RE.match(name)) and "__" not in name and not name.endswith("_") \
        and name.lower() not in RESERVED_NAMES


def field_for(pgtype):
    """The Django field matching a PostgreSQL column type (format_type() spelling)."""
    pgtype = pgtype.lower().strip()
    if pgtype in ("smallint", "integer"):
        return models.IntegerField(null=True)
    if pgtype == "bigint":
        return models.BigIntegerField(null=True)
    if pgtype in ("real", "double precision"):
        return models.FloatField(null=True)
    if pgtype.startswith("numeric"):
        match = NUMERIC_RE.match(pgtype.replace(" ", ""))
        digits, places = (int(match.group(1)), int(match.group(2) or 0)) if match else (1000, 15)
        return models.DecimalField(null=True, max_digits=digits, decimal_places=places)
    if pgtype == "boolean":
        return models.BooleanField(null=True)
    if pgtype == "date":
        return models.DateField(null=True)
    if pgtype.startswith("timestamp"):
        return models.DateTimeField(null=True)
    if pgtype.startswith("time"):
        return models.TimeField(null=True)
    if pgtype == "uuid":
        return models.UUIDField(null=True)
    # text, character varying(n), character(n) and anything else: read as text.
    return models.TextField(null=True)


def layer_model(layer, columns):
    """The model class of a vector layer's live table with these columns (those usable)."""
    attributes = tuple((c.name, c.type) for c in columns if usable_attribute(c.name))
    return _model(layer.name, attributes, layer.geometry_type or "GEOMETRY")


@lru_cache(maxsize=512)
def _model(name, attributes, geometry_type):
    if not LAYER_NAME_RE.match(name):
        raise ValueError(f"invalid layer name {name!r}")
    geometry_field = GEOMETRY_FIELDS.get(geometry_type, models.GeometryField)
    body = {
        "__module__": __name__,
        PRIMARY_KEY: models.BigAutoField(primary_key=True),
        GEOMETRY_COLUMN: geometry_field(srid=SRID, null=True),
        "Meta": type("Meta", (), {
            "managed": False,
            "db_table": f'{DATA_SCHEMA}"."{name}',
            # Each class in a registry of its own: out of Django's, and a layer republished with
            # other columns may get a class of the same name (gml:id is "<name>.<fid>").
            "apps": Apps(()),
            "app_label": "wms",
            "ordering": [PRIMARY_KEY],  # stable pages (QGIS pages by STARTINDEX)
        }),
    }
    for attribute, pgtype in attributes:
        body[attribute] = field_for(pgtype)
    return type(name, (models.Model,), body)
