"""Photo files: announced by a control (SHA-256 and size), uploaded separately, resumable.

A photo is stored once per SHA-256 however many controls show it. Uploads go by chunks
(PUT with Content-Range: bytes start-end/total); the server keeps how many bytes it holds, so a
device cut off mid-upload asks (GET) and resumes at that offset. When the last byte arrives the
file is hashed: a mismatch discards it, a match marks the photo verified.

Files live in FIELDSYNC_PHOTO_ROOT (default var/fieldsync/photos), outside MEDIA_ROOT: /media/ is
served without access control, and these photos show private homes.
"""
import errno
import hashlib
import os
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import scope
from .changes import max_photo_bytes
from .models import Control, PhotoBlob

RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadError(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def photo_root():
    return Path(getattr(settings, "FIELDSYNC_PHOTO_ROOT", settings.VAR_DIR / "fieldsync" / "photos"))


def max_chunk_bytes():
    return getattr(settings, "FIELDSYNC_MAX_CHUNK_BYTES", 8 * 1024 * 1024)


def final_path(sha256):
    return photo_root() / sha256[:2] / sha256


def partial_path(sha256):
    return photo_root() / "partial" / f"{sha256}.part"


def visible_blob(user, sha256, lock=False):
    """The announced photo if the user may see it (through a control they may read)."""
    used_by_visible = PhotoBlob.objects.filter(
        sha256=sha256, uses__control__in=scope.controls(user).values("pk")).values("pk")
    queryset = PhotoBlob.objects.filter(pk__in=used_by_visible)
    return (queryset.select_for_update() if lock else queryset).first()


def status(blob):
    return {"sha256": blob.sha256, "size": blob.size, "content_type": blob.content_type,
            "received": blob.size if blob.verified else blob.received,
            "verified": blob.verified}


def parse_range(header, body_length, size):
    if not header:
        return 0, body_length - 1, body_length
    match = RANGE_RE.match(header.strip())
    if not match:
        raise UploadError(400, _t("En-tête Content-Range invalide : « bytes début-fin/total » "
                                  "attendu."))
    start, end, total = (int(g) for g in match.groups())
    if end < start or end >= total:
        raise UploadError(400, _t("En-tête Content-Range incohérent."))
    return start, end, total


@transaction.atomic
def receive_chunk(user, sha256, content_range, stream, content_length):
    blob = visible_blob(user, sha256, lock=True)
    if blob is None:
        raise UploadError(404, _t("Photo inconnue : elle doit d'abord être annoncée par un "
                                  "contrôle synchronisé."))
    if blob.verified:
        return status(blob)  # already here (maybe from another control): nothing to send
    if content_length > max_chunk_bytes():
        raise UploadError(413, _t("Morceau trop gros : %(max)d octets au plus par envoi.")
                          % {"max": max_chunk_bytes()})
    if content_length > max_photo_bytes():
        raise UploadError(413, _t("Photo trop volumineuse : %(max)d octets au plus.")
                          % {"max": max_photo_bytes()})
    start, end, total = parse_range(content_range, content_length, blob.size)
    if total != blob.size:
        raise UploadError(400, _t("Taille totale %(total)d différente de la taille annoncée "
                                  "(%(size)d octets).") % {"total": total, "size": blob.size})
    if start != blob.received:
        raise UploadError(409, _t("Reprenez l'envoi à l'octet %(offset)d.")
                          % {"offset": blob.received}, received=blob.received)
    data = stream.read(content_length + 1) if content_length else b""
    if len(data) != end - start + 1:
        raise UploadError(400, _t("Le morceau reçu (%(got)d octets) ne correspond pas à "
                                  "l'en-tête Content-Range (%(want)d octets).")
                          % {"got": len(data), "want": end - start + 1})
    path = partial_path(sha256)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "wb") as handle:
            # Bytes past the recorded offset come from a write whose transaction did not commit.
            handle.truncate(start)
            handle.seek(start)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        blob.received = end + 1
        if blob.received == blob.size:
            _verify(blob, path)
    except OSError as failure:
        if failure.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _truncate_quietly(path, start)  # give the space back; the acknowledged bytes stay
        raise UploadError(507, _t("Espace disque du serveur insuffisant : ce morceau n'a pas été "
                                  "enregistré. Réessayez plus tard à partir de l'octet "
                                  "%(offset)d.") % {"offset": start}, received=start) from None
    blob.save(update_fields=["received", "verified", "verified_at"])
    return status(blob)


def _truncate_quietly(path, size):
    try:
        os.truncate(path, size)
    except OSError:
        pass


def _verify(blob, path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    if digest.hexdigest() != blob.sha256:
        path.unlink(missing_ok=True)
        raise ChecksumMismatch(blob)  # the caller then resets the offset (reset_after_mismatch)
    target = final_path(blob.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    blob.verified = True
    blob.verified_at = timezone.now()


class ChecksumMismatch(UploadError):
    def __init__(self, blob):
        super().__init__(400, _t("Empreinte incorrecte : le fichier reçu ne correspond pas à "
                                 "l'empreinte SHA-256 annoncée ; il a été écarté, renvoyez la "
                                 "photo depuis le début."), received=0)
        self.blob = blob


def reset_after_mismatch(sha256):
    """The upload transaction rolled back; record that the discarded bytes must be resent."""
    PhotoBlob.objects.filter(sha256=sha256, verified=False).update(received=0)


def control_photo_status(control: Control):
    return [status(p.blob) for p in control.photos.select_related("blob")]
