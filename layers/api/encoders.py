"""HTTP responses carrying features: a GeoJSON page, and the GeoJSON, CSV, GeoPackage and zipped
Shapefile exports.

Features are encoded by PostgreSQL (the user's FeatureSource, layers.features) and streamed as they are read, so a response's
memory is one batch of rows, whatever the size of the layer. The GeoPackage is written by ogr2ogr
in a temporary directory and sent as a file, which is unlinked as soon as it is open; the
Shapefile's files likewise, zipped while they are sent (layers.api.shapefile).
"""
import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from ..features import ExportFailed
from . import shapefile
from .params import BadParameter, crs_uri

logger = logging.getLogger(__name__)

GEOJSON_TYPE = "application/geo+json"
CSV_TYPE = "text/csv; charset=utf-8"
GPKG_TYPE = "application/geopackage+sqlite3"
ZIP_TYPE = "application/zip"


def _legacy_crs_member(srid):
    """The GeoJSON 2008 "crs" member, read by GDAL/QGIS, for coordinates not in WGS 84."""
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}


def _finish(response, query, filename=None):
    response["Content-Crs"] = f"<{crs_uri(query.crs)}>"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Answers depend on who asks (rows under the access policy): never in a shared cache.
    patch_cache_control(response, private=True)
    return response


def geojson_page(source, query, matched, links):
    returned = max(0, min(query.limit, matched - query.offset))
    head = {"numberMatched": matched, "numberReturned": returned,
            "next": links.get("next"), "previous": links.get("previous"),
            "links": [{"rel": rel, "href": href, "type": GEOJSON_TYPE}
                      for rel, href in links.items() if href]}
    if query.crs != 4326:
        head["crs"] = _legacy_crs_member(query.crs)
    response = StreamingHttpResponse(source.geojson_collection(query, head, encoded=True),
                                     content_type=GEOJSON_TYPE)
    return _finish(response, query)


def geojson_export(source, query):
    head = {"name": source.layer.name}
    if query.crs != 4326:
        head["crs"] = _legacy_crs_member(query.crs)
    response = StreamingHttpResponse(source.geojson_collection(query, head, encoded=True),
                                     content_type=GEOJSON_TYPE)
    return _finish(response, query, f"{source.layer.name}.geojson")


def csv_export(source, query):
    response = StreamingHttpResponse(source.csv(query), content_type=CSV_TYPE)
    return _finish(response, query, f"{source.layer.name}.csv")


class ExportUnavailable(APIException):
    status_code = 503
    default_code = "export_failed"


def export_directory():
    """Where exports are written before they are sent (CAPGEO_EXPORT_TMP_DIR, or the system's)."""
    return getattr(settings, "CAPGEO_EXPORT_TMP_DIR", None) or tempfile.gettempdir()


def geopackage_export(source, query):
    directory = Path(tempfile.mkdtemp(prefix="capgeo-export-", dir=export_directory()))
    try:
        path = source.write_geopackage(query, directory / f"{source.layer.name}.gpkg")
        handle = open(path, "rb")  # noqa: SIM115 (closed by FileResponse)
    except ExportFailed as error:
        logger.error("GeoPackage export of %s failed: %s", source.layer.name, error)
        raise ExportUnavailable({"detail": _(
            "L'export GeoPackage a échoué ; réessayez plus tard ou prévenez l'administrateur SIG."
        )}) from None
    finally:
        # The open file stays readable once unlinked; nothing is left on disk.
        shutil.rmtree(directory, ignore_errors=True)
    response = FileResponse(handle, content_type=GPKG_TYPE, as_attachment=True,
                            filename=f"{source.layer.name}.gpkg")
    return _finish(response, query)



def shapefile_export(source, query):
    try:
        handles = shapefile.open_export(source, query, export_directory())
    except shapefile.ShapefileUnsuitable as error:
        raise BadParameter("f", str(error)) from None
    except ExportFailed as error:
        logger.error("Shapefile export of %s failed: %s", source.layer.name, error)
        raise ExportUnavailable({"detail": _(
            "L'export Shapefile a échoué ; réessayez plus tard ou prévenez l'administrateur SIG."
        )}) from None
    renamed = shapefile.renamed_fields(source, query)
    response = StreamingHttpResponse(
        shapefile.stream_zip(handles, shapefile.readme(source, query, renamed)),
        content_type=ZIP_TYPE)
    if renamed:
        # Header values are Latin-1: the full list (UTF-8) is in LISEZMOI.txt inside the zip.
        response["X-Capgeo-Warning"] = (
            "Shapefile field names shortened to 10 characters: "
            + ", ".join(f"{original}->{short}" for original, short in renamed)
        ).encode("ascii", "replace").decode("ascii")
    return _finish(response, query, f"{source.layer.name}.zip")
