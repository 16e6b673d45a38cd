"""Publishing vector layers: import a file or a PostGIS table, update a layer, keep its history.

Public API (for the import queue, the command line and the history pages). The web pages and
the REST API submit imports through the queue, layers.jobs.submit_import (same arguments as
prepare_import, path named uploaded_path), which calls prepare_import and queues the job in one
transaction; this package knows nothing of the queue.

    prepare_import(*, user, path, source_name, layer_name, title=None, theme=None,
                   srs=None, source_layer=None, mode="create",
                   x_field=None, y_field=None, geometry_field=None, store=True) -> ImportJob
        Checks the request cheaply (rights, name, mode against the catalogue, theme slug, SRS,
        format, size, zip safety; small files and GeoPackages are opened by GDAL at once),
        copies the file into MEDIA_ROOT/imports/<job id>/<random>/ when store is true (the caller
        keeps and removes its own file) and records the job, queued. Raises PublishError (French
        message) when refused; then nothing is left behind. path may also be
        "postgis:schema.table" (a table or view of the platform's database). source_name is the
        original file name (its extension tells the format: .gpkg, .zip (Shapefile),
        .geojson/.json, .csv). srs: "EPSG:n" (only used when the source has none, or to override
        it). source_layer: the layer of a GeoPackage (or the dataset of a zip holding several).
        mode: "create", "replace" or "append". x_field/y_field/geometry_field: CSV columns when
        not the usual names.

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

__all__ = ["PublishError", "prepare_import", "run_import", "restore_publication"]
