"""The columns a feature source exposes: which attributes the user may read, which he may write.

The access policy decides them (layers.access) and hands them to the FeatureSource with the rows;
every SELECT built by the source lists only readable columns, every write accepts only writable
ones. Today a granted user reads every attribute and writes every one with the EDIT permission;
a rule kind that hides a column or makes it read-only (issue #14) only has to return other
Column values from the policy: no protocol changes.

The key (fid) and the geometry (geom) are not Columns: every feature has them.
"""
from dataclasses import dataclass

from ..sql import quote_ident
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY

__all__ = ["Column", "GEOMETRY_COLUMN", "PRIMARY_KEY", "UnknownColumn", "layer_columns"]


class UnknownColumn(ValueError):
    """A column name the source does not expose to this user (absent, or hidden from him)."""

    def __init__(self, name, known):
        super().__init__(name)
        self.name, self.known = name, list(known)


@dataclass(frozen=True)
class Column:
    name: str
    type: str                # PostgreSQL's format_type() spelling, e.g. "integer", "text"
    readable: bool = True
    writable: bool = False

    @property
    def sql(self):
        """The column of the layer's table aliased ``t``, quoted."""
        return f"t.{quote_ident(self.name)}"

    @property
    def is_numeric(self):
        return self.type.startswith(("smallint", "integer", "bigint", "numeric", "real",
                                     "double precision"))


def layer_columns(layer, writable=False):
    """Every attribute of the layer as a readable Column (writable when asked), in table order."""
    return tuple(Column(a["name"], a.get("type", ""), True, writable)
                 for a in (layer.attributes or []))
