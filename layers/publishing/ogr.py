"""Loading a Source into a staging table with ogr2ogr, its progress read as it goes.

ogr2ogr streams features from the source into PostgreSQL with COPY, in its own connection (so
what it writes is committed and visible to others as soon as it ends). The password travels in
the PGPASSWORD environment variable, never on the command line.
"""
import os
import re
import subprocess
import tempfile

from django.db import connections
from django.utils.translation import gettext as _

from ..models import STAGING_SCHEMA
from ..tables import GEOMETRY_COLUMN, PRIMARY_KEY, SRID
from .errors import PublishError

OGR2OGR = os.environ.get("CAPGEO_OGR2OGR", "ogr2ogr")
PROGRESS_RE = re.compile(r"(\d{1,3})(?=\.\.\.| - done)")


def _quote_conninfo(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def connection_string(schemas=None, alias="default"):
    """A GDAL "PG:" string for one of Django's databases, without the password."""
    settings = connections[alias].settings_dict
    parts = {"dbname": settings["NAME"], "host": settings.get("HOST"), "port": settings.get("PORT"),
             "user": settings.get("USER")}
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if settings.get("OPTIONS", {}).get(option):
            parts[option] = settings["OPTIONS"][option]
    conninfo = " ".join(f"{key}={_quote_conninfo(value)}" for key, value in parts.items() if value)
    if schemas:
        # Keeps GDAL from listing every table of the database when it opens the connection.
        conninfo += f" schemas={schemas} active_schema={schemas.split(',')[0]}"
    return "PG:" + conninfo


def environment(alias="default"):
    env = dict(os.environ)
    password = connections[alias].settings_dict.get("PASSWORD")
    if password:
        env["PGPASSWORD"] = str(password)
    env["PGAPPNAME"] = "capgeo-import"
    return env


def geometry_family(geometry_type):
    """POINT, LINESTRING, POLYGON or None (mixed, collections, unknown) from any type name."""
    name = str(geometry_type or "").upper()
    for family in ("POLYGON", "LINESTRING", "POINT"):
        if family in name and "COLLECTION" not in name:
            return family
    return None


def build_command(source, staging_table):
    command = [
        OGR2OGR, "-f", "PostgreSQL", connection_string(STAGING_SCHEMA), source.gdal_path,
    ]
    if source.layer:
        command.append(source.layer)
    command += [
        "-nln", staging_table,
        "-lco", f"SCHEMA={STAGING_SCHEMA}",
        "-lco", f"GEOMETRY_NAME={GEOMETRY_COLUMN}",
        "-lco", f"FID={PRIMARY_KEY}",
        "-lco", "FID64=TRUE",
        # Names are laundered by us in SQL (layers.publishing.finalise), so the import report
        # can tell exactly which source names changed.
        "-lco", "LAUNDER=NO",
        "-lco", "PRECISION=NO",
        "-lco", "SPATIAL_INDEX=NONE",  # built once at the end, faster than during the COPY
        "-dim", "XY",
        "--config", "PG_USE_COPY", "YES",
        "-gt", "65536",
        "-progress",
    ]
    if source.source_epsg == SRID:  # already in Lambert-93: no needless transformation
        command += ["-a_srs", f"EPSG:{SRID}"]
    else:
        if source.source_epsg and source.source_epsg != source.declared_epsg:
            command += ["-s_srs", f"EPSG:{int(source.source_epsg)}"]
        command += ["-t_srs", f"EPSG:{SRID}"]
    if geometry_family(source.geometry_type) in ("POLYGON", "LINESTRING"):
        command += ["-nlt", "PROMOTE_TO_MULTI"]
    for option in source.open_options:
        command += ["-oo", option]
    return command


def load(source, staging_table, on_progress=None):
    """Run ogr2ogr; on_progress(percent) is called as ogr2ogr reports it."""
    command = build_command(source, staging_table)
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors,
                                   env=environment(), stdin=subprocess.DEVNULL)
        seen = ""
        last = -1
        while True:
            chunk = process.stdout.read1(256) if hasattr(process.stdout, "read1") \
                else process.stdout.read(64)
            if not chunk:
                break
            seen = (seen + chunk.decode("ascii", "replace"))[-64:]
            numbers = PROGRESS_RE.findall(seen)
            if numbers and on_progress and int(numbers[-1]) != last:
                last = int(numbers[-1])
                on_progress(min(last, 100))
        returncode = process.wait()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if returncode != 0:
        if "invalid byte sequence for encoding" in stderr or "Non UTF-8 content" in stderr:
            raise PublishError(_encoding_message(source))
        detail = _last_error(stderr)
        raise PublishError(
            _("GDAL n'a pas pu charger les données (%(detail)s).") % {"detail": detail}
        )
    return [line for line in stderr.splitlines() if line.startswith("Warning")][:20]


def _encoding_message(source):
    if source.kind == "shapefile":
        return _("Les textes du Shapefile ne sont pas en UTF-8 et aucun fichier .cpg n'indique leur "
                 "encodage : ajoutez au zip un fichier .cpg (même nom que le .shp) contenant par "
                 "exemple ISO-8859-1 ou UTF-8.")
    return _("Les textes de la source ne sont pas en UTF-8 : enregistrez le fichier en UTF-8 puis "
             "publiez-le à nouveau.")


def _last_error(stderr):
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("ERROR", "FAILURE"))]
    detail = (errors or lines or [_("erreur inconnue")])[-1]
    # Never echo a connection string back (it has no password, but no need to show it either).
    return re.sub(r"PG:[^ ]*( [a-z_]+='[^']*')*", "PG:…", detail)[:300]
