"""Zipped Shapefile export (f=shp): ogr2ogr reads the user's FeatureSource from PostgreSQL.

The query's SQL is the one of every export (FeatureSource.ogr_sql: the row filter, then bbox
and attribute filters, the readable columns). A Shapefile cannot hold what a layer table can, so:
- field names are at most 10 bytes: we shorten them ourselves (deterministic, unique) and list
  every renamed field in LISEZMOI.txt inside the zip and in the X-Capgeo-Warning header;
- one geometry type per file: a layer of mixed geometries (GEOMETRY) is refused (use gpkg);
- dates keep their day only and texts at most 254 characters: timestamps, times and types the
  DBF format does not know are written as ISO text.
The files are written by ogr2ogr in a temporary directory, opened, the directory removed, then the
zip is built while it is sent (nothing is left on disk, memory stays one read buffer).
"""
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.utils.translation import gettext as _

from ..features import ExportFailed
from ..tables import PRIMARY_KEY

FIELD_BYTES = 10  # dBase III field names
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


class ShapefileUnsuitable(ValueError):
    """The layer cannot be written as a Shapefile (the message says why, in French)."""


def _truncate(name, size):
    encoded = name.encode("utf-8")[:size]
    return encoded.decode("utf-8", errors="ignore")


def field_names(names):
    """{original: shapefile name}: at most 10 UTF-8 bytes, unique regardless of case."""
    mapping, taken = {}, set()
    for name in names:
        candidate = _truncate(name, FIELD_BYTES)
        counter = 1
        while candidate.lower() in taken:
            suffix = f"_{counter}"
            candidate = _truncate(name, FIELD_BYTES - len(suffix)) + suffix
            counter += 1
        taken.add(candidate.lower())
        mapping[name] = candidate
    return mapping


def renamed_fields(source, query):
    """[(original, shortened)] for the fields whose name changes in the Shapefile."""
    mapping = field_names([PRIMARY_KEY] + source.properties(query))
    return [(original, short) for original, short in mapping.items() if original != short]


def check_suitable(layer):
    if (layer.geometry_type or "GEOMETRY") == "GEOMETRY":
        raise ShapefileUnsuitable(_(
            "La couche « %(name)s » mélange plusieurs types de géométrie, qu'un Shapefile ne "
            "peut pas contenir : téléchargez-la en GeoPackage (f=gpkg) ou en GeoJSON.")
            % {"name": layer.name})


def write_shapefile(source, query, directory):
    """Write <layer>.shp/.shx/.dbf/.prj/.cpg into directory; returns their paths."""
    name = source.layer.name
    mapping = field_names([PRIMARY_KEY] + source.properties(query))
    source.write_ogr(query, directory / f"{name}.shp", "ESRI Shapefile", [
        "-nlt", source.layer.geometry_type,
        "-a_srs", f"EPSG:{int(query.crs)}",
        "-lco", "ENCODING=UTF-8",  # writes the .cpg and UTF-8 attributes
        "-gt", "65536",
    ], renamed=mapping, dbf=True)
    paths = [directory / f"{name}{suffix}" for suffix in SHAPEFILE_PARTS]
    if not all(os.path.exists(path) for path in paths[:3]):
        raise ExportFailed("ogr2ogr wrote no complete Shapefile")
    return [path for path in paths if path.exists()]


def readme(source, query, renamed):
    lines = [
        _("Couche « %(title)s » (%(name)s) exportée par C@p Géo au format Shapefile.")
        % {"title": source.layer.title, "name": source.layer.name},
        _("Système de coordonnées : EPSG:%(srid)d (fichier .prj) ; attributs en UTF-8 (fichier "
          ".cpg).") % {"srid": query.crs},
        _("Limites du format : noms de champs de 10 caractères au plus, textes de 254 caractères "
          "au plus, dates sans heure. Pour des données complètes, préférez le GeoPackage."),
    ]
    if renamed:
        lines.append("")
        lines.append(_("Champs renommés (nom d'origine -> nom dans le Shapefile) :"))
        lines += [f"  {original} -> {short}" for original, short in renamed]
    return "\r\n".join(lines) + "\r\n"


def open_export(source, query, parent_directory):
    """Open handles of the written files by archive name, written in a fresh directory under
    parent_directory that is already removed."""
    check_suitable(source.layer)
    directory = Path(tempfile.mkdtemp(prefix="capgeo-export-", dir=parent_directory))
    try:
        paths = write_shapefile(source, query, directory)
        # Open files stay readable once unlinked: nothing is left on disk after this.
        handles = {path.name: open(path, "rb") for path in paths}  # noqa: SIM115
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return handles


class _Sink:
    """A write-only, non-seekable file for zipfile: what is written is collected for yielding."""

    def __init__(self):
        self.chunks = []
        self.position = 0

    def write(self, chunk):
        self.chunks.append(bytes(chunk))
        self.position += len(chunk)
        return len(chunk)

    def tell(self):
        return self.position

    def flush(self):
        pass

    def take(self):
        chunks, self.chunks = self.chunks, []
        return b"".join(chunks)


def stream_zip(handles, readme_text, block=1 << 16):
    """Yield the zip of the open files (and LISEZMOI.txt) as it is compressed; closes them."""
    sink = _Sink()
    try:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, handle in handles.items():
                with archive.open(name, "w", force_zip64=True) as member:
                    while True:
                        block_bytes = handle.read(block)
                        if not block_bytes:
                            break
                        member.write(block_bytes)
                        if sink.chunks:
                            yield sink.take()
            archive.writestr("LISEZMOI.txt", readme_text.encode("utf-8"))
        yield sink.take()
    finally:
        for handle in handles.values():
            handle.close()
