"""Pushed batches accepted at once and applied in the background (`Prefer: respond-async`).

Why: a batch is applied inside the request that brings it, and gunicorn serves the whole site
with three synchronous workers. Three tablets pushing large batches at the same moment held the
three workers: maps, WFS and pages waited for the pushes to end. A tablet may now ask
(RFC 7240) `Prefer: respond-async`: the batch is checked and stored as before (nothing is lost once
acknowledged), the answer is `202 Accepted` at once, and the batch is applied by the platform's
background worker (`manage.py import_worker`, the django-tasks database queue that already runs
layer imports) one batch at a time, so that pushes use one core and never a web worker. The tablet
then reads `GET /api/sync/push/<batch_id>/` (`Location`) until it answers 200 with the usual
answer; re-sending the same batch is still safe and answers the same way.

Without the header nothing changes: the batch is applied in the request and answered with 200.

A batch is applied under a PostgreSQL session advisory lock on its id, by the request or by the
worker: never both at once, never twice (push.process answers a stored answer). A batch whose
application stopped half-way (a worker killed) is finished by the next POST of it or by its task:
the task of a worker that died is queued again by the other workers (layers.workers, twice at
most); past that, the batch is marked abandoned (`failed_at`) and its Location answers 503 `busy`
— send the same batch again — until it is sent again.
"""
import logging
import zlib
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _t
from django_tasks import task
from rest_framework.response import Response

from layers.workers import recovery

from . import push, records
from .models import SyncBatch

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x5359  # "SY": the first key of the batches' advisory locks


def wants_async(request):
    """Whether the client asked for an asynchronous answer (RFC 7240 `Prefer: respond-async`)."""
    preferences = request.META.get("HTTP_PREFER", "")
    return any(p.strip().split("=")[0].strip().lower() == "respond-async"
               for p in preferences.split(","))


def _lock_key(batch_id):
    return zlib.crc32(str(batch_id).encode()) - 2 ** 31  # an int4


@contextmanager
def exclusive(batch_id):
    """Hold the batch's session advisory lock (wait for whoever applies it now)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, _lock_key(batch_id)])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)",
                           [_LOCK_NAMESPACE, _lock_key(batch_id)])


def process(user, batch_id, device_id, changes, payload):
    """push.process under the batch's lock: the request's way and the worker's way."""
    with exclusive(batch_id):
        return push.process(user, batch_id, device_id, changes, payload)


def location(batch_id):
    return f"/api/sync/push/{batch_id}/"


def pending(batch, status=202):
    response = Response({
        "batch_id": str(batch.id), "state": "queued",
        "received_at": batch.received_at.isoformat(),
        "detail": _t("Lot reçu et enregistré : il sera appliqué sous peu. Lisez son état à "
                     "l'adresse donnée (Location) jusqu'à la réponse complète."),
    }, status=status)
    response["Location"] = location(batch.id)
    response["Retry-After"] = "1"
    return response


def accept(user, data, payload):
    """Answer of an asynchronous push: the stored answer if the batch was already applied, else
    202 once the batch is stored and its task queued."""
    device = push.device_for(user, data["device_id"])
    batch = push._store_batch(user, device, data["batch_id"], payload)
    if batch.response is not None:
        response = Response(push.refreshed(user, batch.response))
    else:
        if batch.failed_at is not None:  # abandoned by the workers: sent again, queued again
            SyncBatch.objects.filter(pk=batch.pk).update(failed_at=None)
        transaction.on_commit(lambda: apply_batch.enqueue(str(batch.id)))
        response = pending(batch)
    response["Preference-Applied"] = "respond-async"
    return response


def state(user, batch_id):
    """Answer of GET /api/sync/push/<batch_id>/ (None: unknown to this user)."""
    batch = SyncBatch.objects.filter(id=batch_id, user=user).select_related("device").first()
    if batch is None:
        return None
    if batch.response is not None:
        return Response(push.refreshed(user, batch.response))
    try:
        push.device_for(user, batch.device_id)
    except push.BatchRefused as refused:
        return Response({"detail": refused.reasons[0], "reasons": refused.reasons},
                        status=refused.status)
    if batch.failed_at is not None:
        return abandoned(batch)
    return pending(batch)


def abandoned(batch):
    """The workers gave the batch up (each died while applying it): nothing is lost — the changes
    already applied stay, the others were not applied — and sending it again finishes it."""
    detail = _t("Le lot n'a pas pu être appliqué en arrière-plan (le processus qui l'appliquait "
                "s'est arrêté) ; renvoyez le même lot (même batch_id) : il reprendra où il s'est "
                "arrêté.")
    response = Response({"batch_id": str(batch.id), "state": "failed", "detail": detail,
                         "reasons": [detail], "code": "busy"}, status=503)
    response["Retry-After"] = "5"
    return response


@task()
def apply_batch(batch_id):
    """The worker's side: apply a stored batch (nothing if it was applied meanwhile)."""
    batch = SyncBatch.objects.select_related("user").filter(id=batch_id).first()
    if batch is None or batch.response is not None:
        return {"batch": batch_id, "state": "done"}
    if not records.may_sync(batch.user):
        # The account was deactivated (or left the SPANC or its service) after sending: as its request would now
        # be refused, its batch is not applied.
        log.warning("sync batch %s not applied: %s may no longer push", batch_id, batch.user)
        return {"batch": batch_id, "state": "refused", "status": 403}
    payload = batch.payload
    try:
        answer = process(batch.user, batch.id, batch.device_id, payload["changes"], payload)
    except push.BatchRefused as refused:
        log.warning("sync batch %s not applied: %s", batch_id, refused)
        return {"batch": batch_id, "state": "refused", "status": refused.status}
    except push.Busy:
        # Deadlocks lost past the last try: the committed chunks stay, the rest is applied by a
        # new task (the batch is stored; its state stays 202 until then).
        log.warning("sync batch %s: deadlocks lost, queued again", batch_id)
        transaction.on_commit(lambda: apply_batch.enqueue(str(batch_id)))
        return {"batch": batch_id, "state": "busy"}
    return {"batch": batch_id, "state": "done", "summary": answer["summary"]}


def _batch_abandoned(message, batch_id):
    SyncBatch.objects.filter(id=batch_id, response__isnull=True).update(failed_at=timezone.now())
    log.warning("sync batch %s abandoned: %s", batch_id, message)


# Applying a batch twice is harmless (its lock, its stored answer, each change's id): a batch
# whose worker died is queued again twice, then abandoned and reported to the tablet.
recovery(apply_batch, retries=2, on_failed=_batch_abandoned)
