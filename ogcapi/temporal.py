"""The ``datetime`` parameter of OGC API (Features /items and Maps): an instant or an interval
``start/end`` (RFC 3339; ``..`` or nothing for an open end), compiled into a condition on the
collection's temporal property — its first readable date or timestamp column. A collection
without one matches every feature (as pygeoapi does)."""
from datetime import date, datetime

from django.utils.translation import gettext as _

from layers.features import All, Compare

from .errors import bad_request


def parse_instant(text):
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise bad_request(_("datetime illisible : %(value)s (RFC 3339, ou un intervalle "
                            "début/fin avec « .. »).") % {"value": text}) from None


def instants(raw):
    """[instant] or [start, end] (None for an open end) of a datetime value; a 400 when it
    cannot be read."""
    parts = raw.split("/")
    if len(parts) > 2:
        raise bad_request(_("datetime : une date, ou un intervalle début/fin."))
    return [parse_instant(part) for part in parts]


def temporal_column(source):
    for column in source.readable:
        if column.type.startswith(("date", "timestamp")):
            return column.name
    return None


def condition(raw, source):
    """The condition of a datetime value (None: not given, or nothing to filter) on the
    source's temporal property."""
    if raw is None:
        return None
    read = instants(raw)
    name = temporal_column(source)
    if name is None:
        return None
    if len(read) == 1:
        return Compare(name, "=", read[0]) if read[0] else None
    start, end = read
    conditions = []
    if start:
        conditions.append(Compare(name, ">=", start))
    if end:
        conditions.append(Compare(name, "<=", end))
    return All(*conditions) if conditions else None
