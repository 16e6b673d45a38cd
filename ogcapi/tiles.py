"""OGC API – Tiles (Part 1) for the collections: vector tiles (Mapbox Vector Tiles) in two tile
matrix sets, drawn by the platform's MVT path (wms/tiles: ST_AsMVT through the feature source, the
access policy's decisions, ETag and Cache-Control). This module only describes the tile sets and
hands each tile request to that path: rows, columns and rights are the same as on
/tiles/<layer>/<z>/<x>/<y>.mvt, whose text answers become OGC API exceptions here.

- WebMercatorQuad (OGC 17-083r4, Annex D.1): EPSG:3857, levels 0 to 22; a tile is the one of
  /tiles/ (z, x = tileCol, y = tileRow).
- LAMB93: Lambert-93 (EPSG:2154), the platform's WMTS grid (wms.tiles.grids): the projected
  bounds of EPSG:2154's area of use (metropolitan France, -357 823.2365 … 1 313 632.3628 E,
  6 037 008.6939 … 7 230 727.3772 N; origin at its top-left corner), 256-pixel tiles, cell sizes of
  8 192 m at level 0 (scale 1:29 257 142.857, France in one tile) halved at each level down to
  0.125 m at level 16 (1:446.428…). Round cell sizes keep tile edges on whole metres; the same
  grid as the WMTS's Lambert-93 image tiles, so vector and image tiles line up. Not a registered
  OGC tile matrix set (there is none for Lambert-93): its definition is served in full.
"""
import json

from django.http import HttpResponse
from django.utils.translation import gettext as _

from wms.tiles import grids
from wms.tiles.mvt import lambert93_matrix_size
from wms.tiles.views_mvt import lambert93_vector_tile, vector_tile

from .errors import ApiError, not_found

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
ORIGIN = 20037508.3427892
MAX_ZOOM = 22
# Scale denominator of zoom 0 (0.28 mm pixels, 256 pixels over the equator's 2·ORIGIN metres).
SCALE_0 = 559082264.0287178
LAMBERT93_ID = "LAMB93"
LAMBERT93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
PIXEL = 0.00028  # metres: the standard rendering pixel of scale denominators
TITLES = {TMS_ID: "Google Maps Compatible for the World",
          LAMBERT93_ID: "Lambert-93 (EPSG:2154), France métropolitaine"}
IDS = (TMS_ID, LAMBERT93_ID)


def known(tms):
    if tms not in IDS:
        raise not_found(_("Jeu de matrices de tuiles inconnu : %(id)s.") % {"id": tms[:60]})
    return tms


def tms_link(base, tms):
    return {"href": f"{base}/tileMatrixSets/{tms}", "rel": "self", "type": "application/json",
            "title": tms}


def tile_matrix_set(base, tms=TMS_ID):
    if tms == LAMBERT93_ID:
        return lambert93_matrix_set(base)
    return {
        "id": TMS_ID, "title": TITLES[TMS_ID], "uri": TMS_URI,
        "crs": WEB_MERCATOR, "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {"lowerLeft": [-ORIGIN, -ORIGIN], "upperRight": [ORIGIN, ORIGIN],
                        "crs": WEB_MERCATOR},
        "tileMatrices": [{
            "id": str(z), "scaleDenominator": SCALE_0 / 2 ** z,
            "cellSize": 2 * ORIGIN / 256 / 2 ** z, "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-ORIGIN, ORIGIN], "tileWidth": 256, "tileHeight": 256,
            "matrixWidth": 2 ** z, "matrixHeight": 2 ** z} for z in range(MAX_ZOOM + 1)],
        "links": [tms_link(base, TMS_ID)],
    }


def lambert93_matrix_set(base):
    minx, miny, maxx, maxy = grids.LAMBERT93_BBOX
    size = grids.LAMBERT93_TILE_SIZE
    matrices = []
    for level, resolution in enumerate(grids.LAMBERT93_RESOLUTIONS):
        width, height = lambert93_matrix_size(level)
        matrices.append({
            "id": str(level), "scaleDenominator": resolution / PIXEL, "cellSize": resolution,
            "cornerOfOrigin": "topLeft", "pointOfOrigin": [minx, maxy], "tileWidth": size,
            "tileHeight": size, "matrixWidth": width, "matrixHeight": height})
    return {
        "id": LAMBERT93_ID, "title": TITLES[LAMBERT93_ID],
        "description": _("Grille Lambert-93 de la plateforme (celle de son WMTS) : coin "
                         "supérieur gauche du domaine d'usage d'EPSG:2154, tuiles de 256 "
                         "pixels, 8 192 m par pixel au niveau 0, divisés par deux à chaque "
                         "niveau."),
        "crs": LAMBERT93, "orderedAxes": ["E", "N"],
        "boundingBox": {"lowerLeft": [minx, miny], "upperRight": [maxx, maxy], "crs": LAMBERT93},
        "tileMatrices": matrices,
        "links": [tms_link(base, LAMBERT93_ID)],
    }


def tile_matrix_sets(base):
    listed = []
    for tms in IDS:
        entry = {"id": tms, "title": TITLES[tms], "links": [tms_link(base, tms)]}
        if tms == TMS_ID:
            entry["uri"] = TMS_URI
        listed.append(entry)
    return {"tileMatrixSets": listed}


def tileset(base, layer, tms=TMS_ID):
    url = f"{base}/collections/{layer.name}/tiles/{tms}"
    document = {
        "title": layer.title, "dataType": "vector",
        "crs": LAMBERT93 if tms == LAMBERT93_ID else WEB_MERCATOR,
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": layer.title},
            {"href": f"{base}/tileMatrixSets/{tms}",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json", "title": tms},
            {"href": url + "/{tileMatrix}/{tileRow}/{tileCol}", "rel": "item", "type": MVT,
             "templated": True, "title": _("Tuiles vectorielles (MVT)")},
            {"href": f"{base}/collections/{layer.name}", "rel": "collection",
             "type": "application/json", "title": layer.title},
        ],
    }
    if tms == TMS_ID:
        document["tileMatrixSetURI"] = TMS_URI
    return document


def tilesets(base, layer):
    return {"tilesets": [tileset(base, layer, tms) for tms in IDS],
            "links": [{"href": f"{base}/collections/{layer.name}/tiles", "rel": "self",
                       "type": "application/json", "title": _("Jeux de tuiles")}]}


def tile(request, name, matrix, row, col, tms=TMS_ID):
    """The tile (MVT) through the platform's vector tile view; its text errors in JSON."""
    if not (matrix.isdigit() and row.isdigit() and col.isdigit()) or len(matrix + row + col) > 30:
        raise ApiError(400, "InvalidParameterValue",
                       _("tileMatrix, tileRow et tileCol sont des entiers positifs."))
    levels = MAX_ZOOM if tms == TMS_ID else len(grids.LAMBERT93_RESOLUTIONS) - 1
    if int(matrix) > levels:
        raise not_found(_("Niveau de tuiles inconnu : %(z)s (0 à %(max)d).")
                        % {"z": matrix, "max": levels})
    if tms == TMS_ID:
        response = vector_tile(request, name, matrix, col, row)
    else:
        response = lambert93_vector_tile(request, name, matrix, row, col)
    if response.status_code in (400, 404):
        message = response.content.decode("utf-8", "replace")
        code = "NotFound" if response.status_code == 404 else "InvalidParameterValue"
        raise ApiError(response.status_code, code, message)
    return response


def json_answer(document):
    return HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/json")
