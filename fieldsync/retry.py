"""Transactions run again after PostgreSQL broke them off to settle a lock (a deadlock or a
serialization failure): which errors, how many times, and what is said past the last try.

Used by the pushed batches' chunks (fieldsync.batching) and by the manager's actions
(fieldsync.actions): in both, nothing of a broken-off transaction was committed, so it may simply
run again.
"""
RETRIES = 3
# SQLSTATE of the errors after which a transaction runs again.
RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure


class Replay(Exception):
    """Raised while writing a chunk's pending rows when a concurrent transaction changed what the
    chunk relied on: the chunk is rolled back and applied again, like after a deadlock."""


def retryable_sqlstate(error):
    """The SQLSTATE of a deadlock or a serialization failure behind this error ("replay" for
    Replay), else None (its causes are followed: a caller may have wrapped the database error in
    its own)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, Replay):
            return "replay"
        if getattr(error, "pgcode", None) in RETRYABLE:
            return error.pgcode
        error, seen = error.__cause__, seen + 1
    return None


def pause(attempt):
    """Seconds to wait before the attempt-th new try."""
    return 0.05 * attempt
