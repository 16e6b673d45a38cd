"""What every manager action shares: its refusal (ActionRefused, in French), and its transaction,
run again after a deadlock or a serialization failure (SQLSTATE 40P01, 40001) against a push or
another manager, as a push's chunk is (fieldsync.retry); past the last try Busy: nothing of it was
written (the API answers a JSON 503 `busy`, the screens say to try again).

The actions (fieldsync.campaigns, fieldsync.review, fieldsync.conflicts) are used by the manager
screens (/spanc/) and the API alike; every accepted one is audited and logged for pull cursors,
like a tablet's change. Rows are locked in the order of the records (fieldsync.records.control):
installations, then controls, then SyncChange rows.
"""
import functools
import time

from django.db import transaction
from django.utils.translation import gettext as _t

from . import retry


class ActionRefused(Exception):
    pass


class Busy(ActionRefused):
    """The action kept losing deadlocks or serialization failures: nothing of it was written."""

    def __init__(self):
        super().__init__(_t("Serveur trop sollicité : rien n'a été enregistré ; réessayez dans "
                            "un instant."))


def retried(action):
    """Run the action in a transaction, again after a deadlock or a serialization failure."""
    @functools.wraps(action)
    def run(*args, **kwargs):
        for attempt in range(retry.RETRIES + 1):
            try:
                with transaction.atomic():
                    return action(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - re-raised unless retryable
                if retry.retryable_sqlstate(error) is None:
                    raise
                if attempt == retry.RETRIES:
                    raise Busy() from error
                time.sleep(retry.pause(attempt + 1))
        raise AssertionError("unreachable")
    return run
