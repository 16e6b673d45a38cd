"""Received files: size limits, SHA-256 fingerprints and safe extraction of zip archives.

Files are read in chunks (never whole in memory). A zip is extracted only after checking every
entry: no path leaving the target directory, no symbolic link, and bounded sizes (declared and
actually written), so neither a crafted archive nor a zip bomb can reach outside or fill the disk.
"""
import hashlib
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from .errors import PublishError

CHUNK_SIZE = 1024 * 1024
# A ratio above this between uncompressed and compressed sizes is treated as a zip bomb; real
# geodata compresses at most ~20:1.
MAX_COMPRESSION_RATIO = 200


def upload_max_bytes():
    return int(getattr(settings, "CAPGEO_UPLOAD_MAX_BYTES", 500 * 1024 * 1024))


def unzip_max_bytes():
    return int(getattr(settings, "CAPGEO_UNZIP_MAX_BYTES", 2 * 1024 * 1024 * 1024))


def imports_root():
    return Path(settings.MEDIA_ROOT) / "imports"


def check_size(path):
    size = Path(path).stat().st_size
    limit = upload_max_bytes()
    if size > limit:
        raise PublishError(
            _("Le fichier pèse %(size)s, au-delà de la limite de %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)}
        )
    return size


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def safe_file_name(name):
    """A plain file name (no directory) keeping the extension, for storing an upload."""
    base = get_valid_filename(PurePosixPath(str(name).replace("\\", "/")).name) or "source"
    return base[:150]


def store_upload(source_path, target_dir, source_name):
    """Copy a received file into target_dir (created) in chunks; returns (path, sha256)."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / safe_file_name(source_name)
    digest = hashlib.sha256()
    with open(source_path, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK_SIZE):
            digest.update(chunk)
            dst.write(chunk)
    return target, digest.hexdigest()


def _entry_problem(info):
    """Why a zip entry is refused, or None."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        return _("le chemin « %(name)s » sort du dossier de l'archive") % {"name": info.filename}
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return _("« %(name)s » est un lien symbolique") % {"name": info.filename}
    return None


def check_zip(path):
    """Validate a zip archive from its directory (cheap): entries, declared sizes and ratio."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise PublishError(_("L'archive zip est illisible ou corrompue.")) from None
    with archive:
        infos = archive.infolist()
        total = 0
        for info in infos:
            problem = _entry_problem(info)
            if problem:
                raise PublishError(_("L'archive zip est refusée : %(problem)s.") % {"problem": problem})
            total += info.file_size
            if info.file_size > 1024 * 1024 and \
                    info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise PublishError(_(
                    "L'archive zip est refusée : « %(name)s » se décompresse %(ratio)d fois plus "
                    "gros que sa taille compressée (archive piégée ?)."
                ) % {"name": info.filename, "ratio": info.file_size // max(info.compress_size, 1)})
        _check_unzipped_total(total)
        return infos


def _check_unzipped_total(total):
    limit = unzip_max_bytes()
    if total > limit:
        raise PublishError(
            _("L'archive zip se décompresse en plus de %(limit)s, la limite autorisée.")
            % {"limit": filesizeformat(limit)}
        )


def extract_zip(path, target_dir):
    """Extract a checked archive into target_dir, counting the bytes really written."""
    check_zip(path)
    target_dir = Path(target_dir).resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            destination = (target_dir / info.filename.replace("\\", "/")).resolve()
            if destination != target_dir and target_dir not in destination.parents:
                raise PublishError(_("L'archive zip est refusée : le chemin « %(name)s » sort du "
                                     "dossier de l'archive.") % {"name": info.filename})
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(destination, "wb") as dst:
                    while chunk := src.read(CHUNK_SIZE):
                        written += len(chunk)
                        # Declared sizes can lie: the real count is what is bounded.
                        _check_unzipped_total(written)
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
                raise PublishError(_("L'archive zip est corrompue (%(detail)s).")
                                   % {"detail": error}) from None
    return target_dir


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
