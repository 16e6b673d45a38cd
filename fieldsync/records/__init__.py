"""The kinds of record a tablet syncs: one module each in this package, found here and registered
in their order.

Each module declares its wire schema and validation, its scope, how a change applies to it
(create, update, …) and when it conflicts, the layer it is published to and its part of the
offline package (records.base.RecordType), and exposes its instance as TYPE. The push, the pull,
the conflicts and the manager's actions loop over REGISTRY: adding a type is adding its module
here, and its form to the field app (fieldsync/static/terrain/forms/<entity>.js). The order
(RecordType.position) matters where records refer to each other: a control refers to an
installation, so installations come first (in a batch, in the package, in the published layers,
in the field app's stores).
"""
import importlib
import pkgutil


def _record_types():
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            found.append(importlib.import_module(f"{__name__}.{module.name}").TYPE)
    return sorted(found, key=lambda record_type: record_type.position)


REGISTRY = {record_type.entity: record_type for record_type in _record_types()}


def get(entity):
    """The record type of this entity name (KeyError for an unknown one)."""
    return REGISTRY[entity]


def ops():
    """Every operation a change may name, in the registry's order."""
    found = []
    for record_type in REGISTRY.values():
        found += [op for op in record_type.ops if op not in found]
    return found


def may_sync(user):
    """May this user use the sync API and the field app: some record type admits him (SPANC
    staff for installations and controls, a service's agents for reports)."""
    return any(record_type.admits(user) for record_type in REGISTRY.values())


def admitted(user):
    """The record types this user may push and pull, in the registry's order."""
    return [record_type for record_type in REGISTRY.values() if record_type.admits(user)]
