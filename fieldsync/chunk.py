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
