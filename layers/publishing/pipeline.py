"""One import from start to end: checks at submission, then load, finalise, publish."""
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from ..events import layer_published
from ..models import LAYER_NAME_RE, STAGING_SCHEMA, ImportJob, Layer, Publication
from ..tables import finish_table
from . import ogr
from .errors import PublishError
from .finalise import fix_geometries, launder_columns
from .heartbeat import Heartbeat
from .history import check_mode, check_publisher, commit_publication, drop_staging, resolve_theme
from .sources import check_extension, is_postgis_source, open_file_source, open_postgis_source, parse_srs
from .uploads import check_size, check_zip, imports_root, remove_tree, sha256_of, store_upload

logger = logging.getLogger(__name__)

# Files small enough to be opened by GDAL right at submission, so the user learns at once about
# a corrupt file, a missing CRS or a GeoPackage with several layers.
INSPECT_AT_SUBMISSION_BYTES = 20 * 1024 * 1024


def staging_table_name(job):
    return f"{job.layer_name}__job{job.pk}"


def job_directory(job):
    """MEDIA_ROOT/imports/<job id>/<random>/: the random part keeps a received file, whose data
    may be restricted, from being guessed under the media URL while the import waits."""
    return imports_root() / str(job.pk) / job.options["private_dir"]


def work_directory(job):
    """Where the import unpacks and converts its file: CAPGEO_WORK_DIR (the process's own scratch
    directory) when set, else beside the received file."""
    if getattr(settings, "CAPGEO_WORK_DIR", ""):
        return Path(settings.CAPGEO_WORK_DIR) / f"import-{job.pk}-{job.options['private_dir']}"
    return job_directory(job) / "work"


def media_read_only():
    """Whether this process leaves MEDIA_ROOT to the web servers (CAPGEO_MEDIA_READ_ONLY)."""
    return bool(getattr(settings, "CAPGEO_MEDIA_READ_ONLY", False))


def _check_name(layer_name):
    if not layer_name or not LAYER_NAME_RE.match(str(layer_name)):
        raise PublishError(_("Nom technique « %(name)s » invalide : il commence par une lettre "
                             "minuscule et ne contient que des lettres minuscules sans accent, des "
                             "chiffres et « _ » (48 caractères au plus).") % {"name": layer_name})


def prepare_import(*, user, path, source_name, layer_name, title=None, theme=None, srs=None,
                   source_layer=None, mode=Publication.Mode.CREATE, x_field=None, y_field=None,
                   geometry_field=None, store=True):
    """Check the request cheaply and record an ImportJob (queued); PublishError when refused.

    store=True copies the file into MEDIA_ROOT/imports/<job id>/ (the caller keeps its own);
    store=False reads it where it is (command line).
    """
    check_publisher(user)
    _check_name(layer_name)
    theme = resolve_theme(theme)
    srs_code = parse_srs(srs)
    check_mode(layer_name, mode)
    postgis = is_postgis_source(path)
    size = 0
    if not postgis:
        check_extension(source_name or path)
        if not Path(path).is_file():
            raise PublishError(_("Le fichier « %(name)s » est introuvable.") % {"name": source_name or path})
        # The size limit is the upload's (CAPGEO_UPLOAD_MAX_BYTES, a file received over HTTP); a
        # file the server already holds (command line, store=False) is read where it is.
        size = check_size(path) if store else Path(path).stat().st_size
        if Path(source_name or path).suffix.lower() == ".zip":
            check_zip(path)
    job = ImportJob.objects.create(
        layer_name=layer_name, source_name=source_name or Path(str(path)).name, created_by=user,
        options={
            "mode": mode, "title": title or "", "theme": theme.slug if theme else "",
            "srs": srs_code, "source_layer": source_layer or "",
            "csv_columns": {"x": x_field or "", "y": y_field or "", "geometry": geometry_field or ""},
            "owned_file": bool(store and not postgis),
            "private_dir": secrets.token_hex(16),
        },
    )
    directory = job_directory(job)
    try:
        if postgis:
            job.source_path = str(path)
        elif store:
            stored, checksum = store_upload(path, job_directory(job), job.source_name)
            job.source_path, job.options["checksum"] = str(stored), checksum
        else:
            job.source_path = str(Path(path).resolve())
        job.save(update_fields=["source_path", "options"])
        suffix = Path(job.source_path).suffix.lower()
        if postgis or suffix in (".gpkg", ".shp") or \
                (suffix != ".zip" and size <= INSPECT_AT_SUBMISSION_BYTES):
            _open_source(job, work_directory(job))
    except BaseException:
        discard_job_files(job)
        job.delete()
        raise
    finally:
        remove_tree(work_directory(job))
        _remove_empty_parents(directory)
    return job


def _open_source(job, work_dir):
    options = job.options
    if is_postgis_source(job.source_path):
        return open_postgis_source(job.source_path, ogr.connection_string(), srs=options.get("srs"))
    columns = {key: value for key, value in options.get("csv_columns", {}).items() if value}
    return open_file_source(job.source_path, work_dir, source_layer=options.get("source_layer") or None,
                            csv_columns=columns, srs=options.get("srs"))


def discard_job_files(job):
    if "private_dir" not in job.options:
        return
    if getattr(settings, "CAPGEO_WORK_DIR", ""):
        remove_tree(work_directory(job))  # this process's own scratch
    if media_read_only():
        return  # the received file is the web servers' to remove (layers.jobs.discard_orphan_uploads)
    directory = job_directory(job)
    remove_tree(directory if job.options.get("owned_file") else directory / "work")
    _remove_empty_parents(directory)


def _remove_empty_parents(directory):
    for folder in (directory, directory.parent):
        try:
            folder.rmdir()
        except OSError:  # not empty (the stored file is kept until the job has run), or gone
            pass


class JobProgress:
    """Persists progress (throttled) and passes it on to an optional callback (the CLI's bar)."""

    def __init__(self, job, callback=None):
        self.job, self.callback = job, callback
        self.last_saved, self.last_percent = 0.0, -1

    def __call__(self, percent, message=None):
        percent = max(0, min(100, int(percent)))
        if self.callback:
            self.callback(percent, message)
        now = time.monotonic()
        if message is None and (percent == self.last_percent or now - self.last_saved < 0.5):
            return
        self.last_saved, self.last_percent = now, percent
        fields = {"progress": percent, "heartbeat_at": Now()}  # the database's clock
        if message:
            fields["message"] = message
        ImportJob.objects.filter(pk=self.job.pk).update(**fields)


def run_import(job_id, on_progress=None):
    """Run a queued import to its end; returns the ImportJob (succeeded or failed). Never raises
    for bad input: the job's message says what went wrong, in French."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), heartbeat_at=Now(),
        progress=0, message=_("Import en cours."),
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job  # already run, or being run by another worker
    progress = JobProgress(job, on_progress)
    staging = staging_table_name(job)
    try:
        with Heartbeat(job.pk):
            publication = _publish(job, progress, staging)
    except PublishError as error:
        _finish(job, ImportJob.Status.FAILED, str(error))
    except Exception:  # an unexpected failure must still end the job with a message
        logger.exception("Import %s of layer %s failed", job.pk, job.layer_name)
        _finish(job, ImportJob.Status.FAILED,
                _("L'import a échoué sur une erreur inattendue ; le détail est dans le journal du "
                  "serveur. Aucune donnée n'a été modifiée."))
    else:
        # The map engine draws the thumbnail again: the new data, in the layer's default style.
        layer_published.send(sender=Layer, layer=publication.layer)
        job.publication, job.layer = publication, publication.layer
        job.report = publication.report
        message = _("Couche « %(name)s » publiée (version %(version)s, %(count)s objets).") % {
            "name": job.layer_name, "version": publication.version,
            "count": publication.feature_count}
        _finish(job, ImportJob.Status.SUCCEEDED, message)
        if on_progress:
            on_progress(100, message)
    finally:
        try:
            drop_staging(staging)
        finally:
            discard_job_files(job)
    return job


def _finish(job, status, message):
    job.status, job.message = status, message
    job.finished_at = job.heartbeat_at = timezone.now()
    if status == ImportJob.Status.SUCCEEDED:
        job.progress = 100
    job.save(update_fields=["status", "message", "finished_at", "heartbeat_at", "progress",
                            "publication", "layer", "report"])


def _publish(job, progress, staging):
    started = time.monotonic()
    options = job.options
    mode = options.get("mode", Publication.Mode.CREATE)
    progress(1, _("Lecture de la source."))
    # Checked again: the catalogue may have changed since the job was queued.
    check_mode(job.layer_name, mode)
    source = _open_source(job, work_directory(job))
    checksum = options.get("checksum", "")
    drop_staging(staging)
    progress(5, _("Chargement des données (ogr2ogr)."))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # A file read where it is (command line) is hashed while ogr2ogr loads it: hashlib
        # releases the GIL, and ogr2ogr mostly waits for PostgreSQL.
        hashing = None
        if not checksum and not is_postgis_source(job.source_path):
            hashing = pool.submit(sha256_of, job.source_path)
        gdal_warnings = ogr.load(source, staging, on_progress=lambda p: progress(5 + p * 0.8))
        if hashing is not None:
            checksum = hashing.result()
    progress(86, _("Vérification et réparation des géométries."))
    with transaction.atomic():
        renamed = launder_columns(STAGING_SCHEMA, staging)
        if mode == Publication.Mode.APPEND:  # the rows are copied into the live table's copy
            figures = fix_geometries(STAGING_SCHEMA, staging)
        else:
            # Index first: the pass that checks the geometries also measures the table for the
            # catalogue (count, extents), which finds its edge rows with the index.
            with connection.cursor() as cursor:
                finish_table(cursor, STAGING_SCHEMA, staging)
            figures = fix_geometries(STAGING_SCHEMA, staging, measure=True)
            if figures["measured"] is None:  # rows repaired, dropped or retyped
                with connection.cursor() as cursor:
                    finish_table(cursor, STAGING_SCHEMA, staging)
    progress(95, _("Mise en ligne."))
    warnings = list(source.warnings)
    if renamed:
        warnings.append(_("%(count)s nom(s) de colonne modifié(s) pour être utilisables en SQL.")
                        % {"count": len(renamed)})
    if figures["geometries_repaired"]:
        warnings.append(_("%(count)s géométrie(s) invalide(s) réparée(s).")
                        % {"count": figures["geometries_repaired"]})
    if figures["skipped"]:
        warnings.append(_("%(count)s objet(s) ignoré(s) : géométrie vide.")
                        % {"count": figures["skipped"]})
    if figures["null_geometries"]:
        warnings.append(_("%(count)s objet(s) sans géométrie.") % {"count": figures["null_geometries"]})
    report = {
        "mode": mode,
        "source_name": job.source_name,
        "source_format": source.kind,
        "source_layer": source.layer or "",
        "source_crs": source.crs_label,
        "crs_given": bool(options.get("srs")),
        "source_fields": source.fields,
        "features_read": figures["features_loaded"],
        "features_written": figures["features_loaded"] - figures["skipped"],
        "geometries_invalid": figures["invalid_geometries"],
        "geometries_repaired": figures["geometries_repaired"],
        "skipped": figures["skipped"],
        "null_geometries": figures["null_geometries"],
        "geometry_type": figures["geometry_type"],
        "renamed_columns": renamed,
        "gdal_warnings": gdal_warnings,
        "warnings": warnings,
    }
    publication = commit_publication(
        layer_name=job.layer_name, staging_table=staging, mode=mode, user=job.created_by,
        title=options.get("title") or None, theme=resolve_theme(options.get("theme") or None),
        source_name=job.source_name, checksum=checksum, report=report,
        measured=figures["measured"],
    )
    publication.report["duration_seconds"] = round(time.monotonic() - started, 2)
    publication.save(update_fields=["report"])
    return publication
