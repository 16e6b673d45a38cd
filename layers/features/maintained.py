"""Layers whose rows a domain application maintains from its own records.

The field sync publishes `spanc_installations` and `spanc_controles` from its installations
and controls, the signalements app its two report layers from the reports: each publication
rewrites those rows. An edit made through a protocol (WFS-T, OGC API – Features Part 4) would
be overwritten by the next one, silently. So the writes of the feature source (insert, update,
delete) refuse such a layer for everyone, administrators included, with a message naming the
application where the data is edited; the domain checks its own writes against the layer's
rules with FeatureSource.check_write and publishes them itself.

The domains declare their layers when their app is ready (AppConfig.ready), so every process
serving protocols knows them.
"""
_MAINTAINED = {}  # layer name -> (lazy) name of the application that maintains it


def maintain(layer_name, application):
    """Declare that `application` (a translatable name, e.g. "les fiches SPANC") maintains the
    rows of `layer_name`."""
    _MAINTAINED[layer_name] = application


def maintainer(layer_name):
    """The application that maintains layer_name's rows, or None."""
    return _MAINTAINED.get(layer_name)
