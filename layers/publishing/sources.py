"""What is being published: find the dataset in a file or archive, open it with GDAL, pick the
layer, and settle its coordinate reference system.

Formats are read by GDAL only (GeoDjango's DataSource to inspect, ogr2ogr to load). A CRS given
by the user is accepted only as an EPSG code known to PostGIS (spatial_ref_sys) and is handed to
GDAL as the string ``EPSG:<n>`` built here, never as the user's text.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.db import connection
from django.utils.translation import gettext as _

from ..models import STAGING_SCHEMA
from .errors import PublishError
from .uploads import extract_zip

# Extension -> (GDAL driver that must open it, kind).
FILE_FORMATS = {
    ".gpkg": ("GPKG", "gpkg"),
    ".shp": ("ESRI Shapefile", "shapefile"),
    ".geojson": ("GeoJSON", "geojson"),
    ".json": ("GeoJSON", "geojson"),
    ".csv": ("CSV", "csv"),
}
SUPPORTED_UPLOADS = (".gpkg", ".zip", ".geojson", ".json", ".csv")
POSTGIS_PREFIXES = ("postgis:", "pg:")

CSV_X_NAMES = ("lon", "lng", "long", "longitude", "x")
CSV_Y_NAMES = ("lat", "latitude", "y")
CSV_WKT_NAMES = ("wkt", "geom", "geometry", "the_geom", "geometrie")

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SRS_RE = re.compile(r"^\s*(?:EPSG\s*:\s*)?(\d{1,6})\s*$", re.IGNORECASE)
FORBIDDEN_SOURCE_SCHEMAS = {STAGING_SCHEMA, "pg_catalog", "information_schema", "pg_toast"}


@dataclass
class Source:
    """A dataset ready for ogr2ogr."""
    kind: str                      # gpkg, shapefile, geojson, csv, postgis
    gdal_path: str                 # file path, or "PG:…" without password for a PostGIS source
    layer: str | None = None       # layer name given to ogr2ogr (None: the only one)
    geometry_type: str = "Unknown"  # as GDAL reports it (Point, MultiPolygon, Unknown…)
    declared_epsg: int | None = None
    declared_crs: str = ""         # human-readable name of the declared CRS
    source_epsg: int | None = None  # the CRS used to read the data (declared or given)
    fields: list = field(default_factory=list)   # [{"name", "type"}] as GDAL reads them
    open_options: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def crs_label(self):
        if self.source_epsg:
            return f"EPSG:{self.source_epsg}"
        return self.declared_crs


def is_postgis_source(path):
    return str(path).lower().startswith(POSTGIS_PREFIXES)


def parse_srs(value):
    """A user-given CRS as an EPSG code known to PostGIS, or PublishError."""
    if value in (None, ""):
        return None
    match = SRS_RE.match(str(value))
    code = int(match.group(1)) if match else None
    if code is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = %s",
                           [code])
            if cursor.fetchone():
                return code
    raise PublishError(
        _("Le système de coordonnées « %(value)s » est inconnu : indiquez un code EPSG connu, "
          "par exemple EPSG:2154 (Lambert-93) ou EPSG:4326 (longitudes/latitudes WGS 84).")
        % {"value": value}
    )


def check_extension(name):
    """Cheap check of an uploaded file's name; returns its lower-case extension."""
    suffix = Path(str(name)).suffix.lower()
    if suffix not in SUPPORTED_UPLOADS and suffix != ".shp":
        raise PublishError(
            _("Le format du fichier « %(name)s » n'est pas pris en charge : envoyez un GeoPackage "
              "(.gpkg), un Shapefile zippé (.zip), un GeoJSON (.geojson) ou un CSV (.csv).")
            % {"name": Path(str(name)).name}
        )
    return suffix


# --- files ---------------------------------------------------------------------------------------

def open_file_source(path, work_dir, *, source_layer=None, csv_columns=None, srs=None):
    """Inspect a received file (a zip is extracted into work_dir first) -> Source."""
    path = Path(path)
    if check_extension(path.name) == ".zip":
        dataset = _dataset_in_archive(extract_zip(path, Path(work_dir) / "archive"), source_layer)
        if dataset.suffix.lower() != ".gpkg":
            source_layer = None  # the choice was the file itself
    else:
        dataset = path
    driver, kind = FILE_FORMATS[dataset.suffix.lower()]
    datasource = _open(dataset, driver)
    layer = _choose_layer(datasource, source_layer, kind)
    source = Source(kind=kind, gdal_path=str(dataset), layer=layer.name if kind == "gpkg" else None)
    source.fields = [{"name": name, "type": ogr_type.__name__.removeprefix("OFT")}
                     for name, ogr_type in zip(layer.fields, layer.field_types)]
    source.geometry_type = layer.geom_type.name
    try:
        declared = layer.srs
    except GDALException:
        declared = None
    if declared is not None:
        try:
            declared.identify_epsg()
        except GDALException:
            pass
        source.declared_epsg = declared.srid
        source.declared_crs = declared.name or ""
    del datasource
    if kind == "csv":
        source.open_options = _csv_geometry_options(source.fields, csv_columns or {})
        source.geometry_type = "Unknown"
    elif source.geometry_type == "None":
        raise PublishError(_("La couche « %(layer)s » n'a pas de géométrie.") % {"layer": layer.name})
    settle_crs(source, srs)
    return source


def _open(dataset, driver):
    try:
        datasource = DataSource(str(dataset))
    except GDALException:
        raise PublishError(
            _("Le fichier « %(name)s » est illisible : il est corrompu ou n'est pas au format "
              "annoncé par son extension.") % {"name": dataset.name}
        ) from None
    if datasource.driver.name != driver:
        # The extension decides the format: never let content pick another GDAL driver.
        raise PublishError(
            _("Le fichier « %(name)s » n'est pas un fichier %(driver)s valide.")
            % {"name": dataset.name, "driver": driver}
        )
    return datasource


def _dataset_in_archive(directory, wanted):
    candidates = sorted(
        p for p in directory.rglob("*")
        if p.is_file() and p.suffix.lower() in FILE_FORMATS
        and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(directory).parts)
    )
    if not candidates:
        raise PublishError(_("L'archive ne contient ni Shapefile (.shp), ni GeoPackage, ni GeoJSON, "
                             "ni CSV."))
    if len(candidates) == 1:
        return candidates[0]
    if wanted:
        for candidate in candidates:
            if wanted in (candidate.stem, candidate.name):
                return candidate
        # A layer of a single GeoPackage inside the archive.
        packages = [c for c in candidates if c.suffix.lower() == ".gpkg"]
        if len(packages) == 1:
            return packages[0]
    raise PublishError(
        _("L'archive contient plusieurs jeux de données (%(names)s) : choisissez celui à publier "
          "(nom de la couche).") % {"names": ", ".join(c.stem for c in candidates)}
    )


def _choose_layer(datasource, wanted, kind):
    layers = list(datasource)
    names = [layer.name for layer in layers]
    if wanted:
        for layer in layers:
            if layer.name == wanted:
                return layer
        raise PublishError(
            _("Le fichier ne contient pas de couche « %(wanted)s » ; couches disponibles : "
              "%(names)s.") % {"wanted": wanted, "names": ", ".join(names) or "—"}
        )
    if not layers:
        raise PublishError(_("Le fichier ne contient aucune couche."))
    if len(layers) > 1:
        if kind == "gpkg":
            raise PublishError(
                _("Le GeoPackage contient plusieurs couches : %(names)s. Choisissez celle à "
                  "publier (nom de la couche du GeoPackage).") % {"names": ", ".join(names)}
            )
        raise PublishError(_("Le fichier contient plusieurs couches : %(names)s. Choisissez celle "
                             "à publier.") % {"names": ", ".join(names)})
    return layers[0]


def _csv_geometry_options(fields, columns):
    """Open options telling GDAL's CSV driver where the geometry is (given or usual names)."""
    names = [f["name"] for f in fields]
    by_lower = {name.strip().lower(): name for name in names}

    def find(given, usual):
        if given:
            match = given if given in names else by_lower.get(str(given).strip().lower())
            if match is None:
                raise PublishError(_("Le fichier CSV n'a pas de colonne « %(name)s » ; colonnes : "
                                     "%(names)s.") % {"name": given, "names": ", ".join(names)})
            return match
        return next((by_lower[name] for name in usual if name in by_lower), None)

    options = ["AUTODETECT_TYPE=YES", "KEEP_GEOM_COLUMNS=NO", "EMPTY_STRING_AS_NULL=YES"]
    wkt = find(columns.get("geometry"), () if columns.get("x") else CSV_WKT_NAMES)
    if wkt:
        return options + [f"GEOM_POSSIBLE_NAMES={wkt}"]
    x = find(columns.get("x"), CSV_X_NAMES)
    y = find(columns.get("y"), CSV_Y_NAMES)
    if x and y:
        return options + [f"X_POSSIBLE_NAMES={x}", f"Y_POSSIBLE_NAMES={y}"]
    raise PublishError(
        _("Le fichier CSV n'a pas de colonnes de géométrie : il faut deux colonnes de coordonnées "
          "(lon/lat, longitude/latitude, x/y) ou une colonne WKT, ou indiquer leurs noms. "
          "Colonnes trouvées : %(names)s.") % {"names": ", ".join(names) or "—"}
    )


def settle_crs(source, srs):
    """The CRS to read the data in: the one given by the user (checked), else the declared one."""
    given = parse_srs(srs)
    if given:
        if source.declared_epsg and source.declared_epsg != given:
            source.warnings.append(
                _("Le système déclaré par la source (EPSG:%(declared)s) a été remplacé par "
                  "EPSG:%(given)s, comme demandé.") % {"declared": source.declared_epsg, "given": given}
            )
        source.source_epsg = given
        return
    if source.declared_epsg is None and not source.declared_crs:
        raise PublishError(
            _("La source ne déclare pas de système de coordonnées : précisez-le, par exemple "
              "EPSG:2154 (Lambert-93) ou EPSG:4326 (longitudes/latitudes WGS 84).")
        )
    source.source_epsg = source.declared_epsg


# --- PostGIS tables and views of the platform's database -------------------------------------

def open_postgis_source(reference, connection_string, *, srs=None):
    """A table or view of this database, written postgis:schema.table -> Source."""
    qualified = str(reference).split(":", 1)[1].strip()
    schema, _dot, table = qualified.partition(".")
    if not table:
        schema, table = "public", schema
    if not (IDENTIFIER_RE.match(schema) and IDENTIFIER_RE.match(table)) \
            or schema in FORBIDDEN_SOURCE_SCHEMAS:
        raise PublishError(_("« %(name)s » n'est pas une table PostGIS utilisable (écrivez "
                             "schéma.table).") % {"name": qualified})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f_geometry_column, srid, type FROM geometry_columns "
            "WHERE f_table_schema = %s AND f_table_name = %s ORDER BY f_geometry_column",
            [schema, table],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", [f'"{schema}"."{table}"'],
        )
        columns = cursor.fetchall()
    if not rows:
        raise PublishError(_("La table ou vue « %(name)s » n'existe pas dans la base ou n'a pas de "
                             "colonne géométrique.") % {"name": f"{schema}.{table}"})
    geometry_column, srid, geometry_type = rows[0]
    source = Source(
        kind="postgis",
        gdal_path=f"{connection_string} tables={schema}.{table}({geometry_column})",
        geometry_type=geometry_type,
        declared_epsg=srid or None,
        declared_crs=f"EPSG:{srid}" if srid else "",
        fields=[{"name": name, "type": pgtype} for name, pgtype in columns
                if name != geometry_column],
    )
    if len(rows) > 1:
        source.warnings.append(_("La source a plusieurs colonnes géométriques : seule « %(column)s » "
                                 "est publiée.") % {"column": geometry_column})
    settle_crs(source, srs)
    return source
