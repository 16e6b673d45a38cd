"""Publishing vector layers: import a file or a PostGIS table, update a layer, keep its history.

Public API (for the web pages, the REST API and the command line):

    submit_import(*, user, uploaded_path, source_name, layer_name, title=None, theme=None,
                  srs=None, source_layer=None, mode="create",
                  x_field=None, y_field=None, geometry_field=None) -> ImportJob
        Checks the request cheaply (rights, name, mode against the catalogue, theme slug, SRS,
        format, size, zip safety; small files and GeoPackages are opened by GDAL at once),
        copies the file into MEDIA_ROOT/imports/<job id>/<random>/ (the caller keeps and removes its own
        file) and queues the import. Raises PublishError (French message) when refused; then
        nothing is left behind. uploaded_path may also be "postgis:schema.table" (a table or
        view of the platform's database). source_name is the original file name (its extension
        tells the format: .gpkg, .zip (Shapefile), .geojson/.json, .csv). srs: "EPSG:n" (only
        used when the source has none, or to override it). source_layer: the layer of a
        GeoPackage (or the dataset of a zip holding several). mode: "create", "replace" or
        "append". x_field/y_field/geometry_field: CSV columns when not the usual names.

    run_import(job_id, on_progress=None) -> ImportJob
        Runs a queued import to its end (the worker calls it); never raises for bad input: the
        job ends failed with a French message. on_progress(percent, message) is optional.

    restore_publication(publication, user) -> Publication
        Makes an archived version live again, recorded as a new Publication (mode "restore").

    PublishError: the exception, str(error) is the French message for the user.

How an import runs: ogr2ogr loads the source into layers_staging."<name>__job<id>", the table is
finalised in SQL (safe column names, geometries repaired and typed, SRID 2154, GiST index), then
swapped in atomically; the previous live table is archived in layers_history as "<name>__v<N>".
"""
from .errors import PublishError
from .history import restore_publication
from .pipeline import prepare_import, run_import


def submit_import(*, user, uploaded_path, source_name, layer_name, title=None, theme=None, srs=None,
                  source_layer=None, mode="create", x_field=None, y_field=None,
                  geometry_field=None):
    from django.db import transaction

    from ..jobs import enqueue_import

    # The job is committed with its queue entry or not at all: a server killed mid-submission
    # leaves no job waiting for ever (the stored file it may leave is removed by the import
    # worker, layers.jobs.discard_orphan_uploads).
    with transaction.atomic():
        job = prepare_import(
            user=user, path=uploaded_path, source_name=source_name, layer_name=layer_name,
            title=title, theme=theme, srs=srs, source_layer=source_layer, mode=mode,
            x_field=x_field, y_field=y_field, geometry_field=geometry_field, store=True,
        )
        enqueue_import(job)
    return job


__all__ = ["PublishError", "submit_import", "run_import", "restore_publication", "prepare_import"]
