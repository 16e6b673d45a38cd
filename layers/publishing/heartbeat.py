"""The heartbeat of a running import: the import worker (layers.jobs) marks failed the jobs whose
heartbeat_at stopped moving, so long SQL steps must keep it fresh."""
import logging
import threading

from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from ..models import ImportJob

logger = logging.getLogger(__name__)


def heartbeat_seconds():
    return int(getattr(settings, "CAPGEO_IMPORT_HEARTBEAT_SECONDS", 15))


class Heartbeat:
    """While an import runs, a thread refreshes its heartbeat_at (own database connection), so
    long SQL steps without progress are not mistaken for a dead worker."""

    def __init__(self, job_id, interval=None):
        self.job_id = job_id
        self.interval = interval or heartbeat_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def _run(self):
        try:
            while not self._stop.wait(self.interval):
                ImportJob.objects.filter(pk=self.job_id, status=ImportJob.Status.RUNNING) \
                    .update(heartbeat_at=Now())  # the database's clock
        except Exception:  # a missed heartbeat must never break the import itself
            logger.exception("Heartbeat of import %s failed", self.job_id)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        return False
