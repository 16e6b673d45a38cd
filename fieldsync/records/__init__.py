"""The kinds of record a tablet syncs, one module each, registered here in their order.

Each module declares its wire schema and validation, its scope, how a change applies to it
(create, update, …) and when it conflicts, the layer it is published to and its part of the
offline package (records.base.RecordType). The push, the pull, the conflicts and the manager's
actions loop over REGISTRY: adding a type is adding its module here (and its form to the field
app, fieldsync/static/terrain/records.js). The order matters where records refer to each other:
a control refers to an installation, so installations come first (in a batch, in the package,
in the published layers).
"""
from . import control, installation

REGISTRY = {record_type.entity: record_type for record_type in (installation.TYPE, control.TYPE)}


def get(entity):
    """The record type of this entity name (KeyError for an unknown one)."""
    return REGISTRY[entity]


def ops():
    """Every operation a change may name, in the registry's order."""
    found = []
    for record_type in REGISTRY.values():
        found += [op for op in record_type.ops if op not in found]
    return found
