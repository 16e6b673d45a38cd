"""The chunk of a pushed batch being applied in this context, if any (fieldsync.batching).

The lowest piece of the batched apply: the code that writes during a push (journal, publication,
editing, rules) asks `current()` whether a chunk collects its writes, and `cached()` for what it
may read once per chunk; it never imports fieldsync.batching, which imports it.
"""
import contextvars

_current = contextvars.ContextVar("fieldsync_batch_unit", default=None)


def current():
    """The chunk being applied, or None outside a push (management actions, admin, …)."""
    return _current.get()


def deferring():
    """The chunk being applied if it writes the records' rows at its end (its first attempt),
    else None (write them now: outside a push, or a chunk applied again change by change after
    the database refused one of its rows, see fieldsync.batching)."""
    unit = _current.get()
    return unit if unit is not None and unit.defer else None


def enter(unit):
    """Make `unit` the current chunk; returns the token for leave()."""
    return _current.set(unit)


def leave(token):
    _current.reset(token)


def cached(key, compute):
    """compute() once per chunk when a chunk is being applied, else every time."""
    unit = _current.get()
    if unit is None:
        return compute()
    if key not in unit.cache:
        unit.cache[key] = compute()
    return unit.cache[key]


def prepare(key, value):
    """Keep a record the chunk looked up and locked beforehand (see take)."""
    unit = _current.get()
    if unit is not None:
        unit.prepared[key] = value


def take(key, keep=False):
    """The record prepared under `key` for the chunk being applied, or None (then the caller
    looks it up itself). Taken once unless `keep`: a record a change may modify is read again,
    fresh and locked, by the next change that names it."""
    unit = _current.get()
    if unit is None:
        return None
    return unit.prepared.get(key) if keep else unit.prepared.pop(key, None)
