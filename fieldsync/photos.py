"""Photo files: announced by a field record (a control, a report: SHA-256 and size), uploaded
separately, resumable.

Which records show a photo, and what its arrival does to them, is each record type's
(RecordType.photo_links, photo_received): a control's ControlPhoto rows, a report's RecordPhoto
rows (the report then receives the photo, re-encoded without metadata). A photo is stored once
per SHA-256 however many records show it. Uploads go by chunks
(PUT with Content-Range: bytes start-end/total); the server keeps how many bytes it holds, so a
device cut off mid-upload asks (GET) and resumes at that offset. When the last byte arrives the
file is hashed: a mismatch discards it, a match marks the photo verified, and received for the
controls of the uploader's scope that show it (ControlPhoto.proven).

Knowing a SHA-256 is not having the photo: a control that announces the SHA-256 of a photo the
server holds only for controls outside the user's scope does not get it for free. That photo is
missing for his control until he uploads its bytes too (proof of possession, the same PUT, by
chunks if he likes, kept in a file of his own beside the stored photo); once they hash to the
same SHA-256, it counts as received for his controls. Until then he can neither read its state
beyond his own upload nor download it.

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
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _t

from . import records
from .serializers import max_photo_bytes
from .models import Control, PhotoBlob

RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadError(Exception):
    """A refused upload; `code` (in the JSON answer) tells the client what to do."""
    CODES = {400: "invalid_upload", 404: "not_found", 409: "wrong_offset", 413: "too_large"}

    def __init__(self, status, message, code=None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = {"code": code or self.CODES.get(status, "invalid_upload"), **extra}


def photo_root():
    return Path(getattr(settings, "FIELDSYNC_PHOTO_ROOT", settings.VAR_DIR / "fieldsync" / "photos"))


def max_chunk_bytes():
    return getattr(settings, "FIELDSYNC_MAX_CHUNK_BYTES", 8 * 1024 * 1024)


def final_path(sha256):
    return photo_root() / sha256[:2] / sha256


def partial_path(sha256):
    return photo_root() / "partial" / f"{sha256}.part"


def proof_path(sha256, user):
    return photo_root() / "partial" / f"{sha256}.proof-{user.pk}"


def _links(user, sha256, held=None):
    """The links of the records the user may read (of the types he may sync) showing the photo:
    a list of querysets, one per link table."""
    found = []
    for record_type in records.admitted(user):
        for links in record_type.photo_links(user, sha256):
            found.append(links if held is None else links.filter(proven=held))
    return found


def _any(links):
    return any(queryset.exists() for queryset in links)


def _blob_ids(links):
    condition = Q(pk__in=[])
    for queryset in links:
        condition |= Q(pk__in=queryset.values("blob_id"))
    return condition


def _received(user, sha256):
    """The photo's bytes came from this user: each record type counts it for his records."""
    for record_type in records.admitted(user):
        record_type.photo_received(user, sha256, final_path(sha256))


def visible_blob(user, sha256, lock=False):
    """The announced photo if a record the user may read shows it (held or not)."""
    queryset = PhotoBlob.objects.filter(_blob_ids(_links(user, sha256)))
    return (queryset.select_for_update() if lock else queryset).first()


def held_blob(user, sha256):
    """The photo if the user holds it: verified and received for a record they may read (the
    only way to its content)."""
    return PhotoBlob.objects.filter(_blob_ids(_links(user, sha256, held=True)),
                                    verified=True).first()


def _someone_elses_upload(blob, user):
    """True while the bytes received so far for an unverified photo are another user's."""
    return (not blob.verified and blob.received > 0 and blob.uploader_id is not None
            and blob.uploader_id != user.pk)


def status(blob, user=None):
    """The photo's state as this user sees it: a photo the server holds for others only shows
    the bytes of his own upload (proof of possession), never as verified; so does a photo whose
    upload by someone else is under way."""
    if user is not None and _someone_elses_upload(blob, user):
        path = proof_path(blob.sha256, user)
        return {"sha256": blob.sha256, "size": blob.size, "content_type": blob.content_type,
                "received": path.stat().st_size if path.exists() else 0, "verified": False}
    if user is not None and blob.verified and not _any(_links(user, blob.sha256, held=True)):
        path = proof_path(blob.sha256, user)
        received = path.stat().st_size if path.exists() else 0
        return {"sha256": blob.sha256, "size": blob.size, "content_type": blob.content_type,
                "received": received, "verified": False}
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
                                  "enregistrement synchronisé (contrôle, signalement)."))
    if blob.verified and _any(_links(user, sha256, held=True)):
        # Already here for this user's records: nothing to send. His own records that show it
        # but were linked as missing (announced before he held it, e.g. while his upload was
        # completing) count from now on, under the photo's lock.
        for record_type in records.admitted(user):
            record_type.photo_held(user, sha256, final_path(sha256))
        return status(blob)
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
    if blob.verified or _someone_elses_upload(blob, user):
        # Held for others, or being uploaded by someone else: this user's bytes are his own
        # (under the photo's row lock, so two uploaders never share one file).
        return _receive_proof(user, blob, start, end, stream, content_length)
    blob.uploader = user  # the bytes received from now on are his (received is 0, or his)
    if start != blob.received:
        raise UploadError(409, _t("Reprenez l'envoi à l'octet %(offset)d.")
                          % {"offset": blob.received}, received=blob.received)
    data = _read_exactly(stream, content_length, start, end)
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
    blob.save(update_fields=["received", "verified", "verified_at", "uploader"])
    if blob.verified:  # received for the uploader's records that show it
        _received(user, sha256)
    return status(blob)


def _read_exactly(stream, content_length, start, end):
    data = stream.read(content_length + 1) if content_length else b""
    if len(data) != end - start + 1:
        raise UploadError(400, _t("Le morceau reçu (%(got)d octets) ne correspond pas à "
                                  "l'en-tête Content-Range (%(want)d octets).")
                          % {"got": len(data), "want": end - start + 1})
    return data


def _receive_proof(user, blob, start, end, stream, content_length):
    """An upload of a photo the server already holds, by a user who does not hold it yet: his
    bytes are kept in a file of his own (its size is his offset) and, once complete, hashed; the
    same SHA-256 makes the photo received for his controls that show it."""
    path = proof_path(blob.sha256, user)
    offset = path.stat().st_size if path.exists() else 0
    if start != offset:
        raise UploadError(409, _t("Reprenez l'envoi à l'octet %(offset)d.")
                          % {"offset": offset}, received=offset)
    data = _read_exactly(stream, content_length, start, end)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as failure:
        if failure.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _truncate_quietly(path, start)
        raise UploadError(507, _t("Espace disque du serveur insuffisant : ce morceau n'a pas été "
                                  "enregistré. Réessayez plus tard à partir de l'octet "
                                  "%(offset)d.") % {"offset": start}, received=start) from None
    if end + 1 < blob.size:
        return status(blob, user)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    if digest.hexdigest() != blob.sha256:
        path.unlink(missing_ok=True)
        raise ChecksumMismatch(blob, shared=False)  # his own bytes only: the others' stay
    if not blob.verified:
        # He completed his own upload before the one under way: his file is the photo; the
        # other uploader's bytes become that user's own upload, resumed where he was.
        partial = partial_path(blob.sha256)
        if partial.exists() and blob.uploader_id is not None:
            theirs = partial.with_name(f"{blob.sha256}.proof-{blob.uploader_id}")
            os.replace(partial, theirs)
            _truncate_quietly(theirs, blob.received)  # bytes past it never committed
        target = final_path(blob.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        blob.verified, blob.verified_at = True, timezone.now()
        blob.received, blob.uploader = blob.size, None
        blob.save(update_fields=["received", "verified", "verified_at", "uploader"])
    else:
        path.unlink(missing_ok=True)
    _received(user, blob.sha256)
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
    def __init__(self, blob, shared=True):
        super().__init__(400, _t("Empreinte incorrecte : le fichier reçu ne correspond pas à "
                                 "l'empreinte SHA-256 annoncée ; il a été écarté, renvoyez la "
                                 "photo depuis le début."), code="checksum_mismatch", received=0)
        self.blob = blob
        self.shared = shared  # the photo's own upload (else the user's own file only)


def reset_after_mismatch(sha256):
    """The upload transaction rolled back; record that the discarded bytes must be resent (by
    whoever uploads next)."""
    PhotoBlob.objects.filter(sha256=sha256, verified=False).update(received=0, uploader=None)


def control_photo_status(control: Control, user):
    """The state of each photo of the control; one not received for it is never "verified"."""
    statuses = []
    for link in control.photos.select_related("blob"):
        state = status(link.blob, user)
        if not link.proven:
            state["verified"] = False
        statuses.append(state)
    return statuses
