"""OGC API – Tiles (Part 1) for the collections: vector tiles (Mapbox Vector Tiles) in the
WebMercatorQuad tile matrix set, drawn by the platform's MVT path (wms/tiles: ST_AsMVT through the
feature source, the access policy's decisions, ETag and Cache-Control). This module only describes
the tile sets and hands each tile request to that view: rows, columns and rights are the same as
on /tiles/<layer>/<z>/<x>/<y>.mvt, whose text answers become OGC API exceptions here.
"""
import json

from django.http import HttpResponse
from django.utils.translation import gettext as _

from wms.tiles.views_mvt import vector_tile

from .errors import ApiError, not_found

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
ORIGIN = 20037508.3427892
MAX_ZOOM = 22
# Scale denominator of zoom 0 (0.28 mm pixels, 256 pixels over the equator's 2·ORIGIN metres).
SCALE_0 = 559082264.0287178


def tile_matrix_set(base):
    return {
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "crs": WEB_MERCATOR, "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {"lowerLeft": [-ORIGIN, -ORIGIN], "upperRight": [ORIGIN, ORIGIN],
                        "crs": WEB_MERCATOR},
        "tileMatrices": [{
            "id": str(z), "scaleDenominator": SCALE_0 / 2 ** z,
            "cellSize": 2 * ORIGIN / 256 / 2 ** z, "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-ORIGIN, ORIGIN], "tileWidth": 256, "tileHeight": 256,
            "matrixWidth": 2 ** z, "matrixHeight": 2 ** z} for z in range(MAX_ZOOM + 1)],
        "links": [{"href": f"{base}/tileMatrixSets/{TMS_ID}", "rel": "self",
                   "type": "application/json", "title": TMS_ID}],
    }


def tile_matrix_sets(base):
    return {"tileMatrixSets": [{
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "links": [{"href": f"{base}/tileMatrixSets/{TMS_ID}", "rel": "self",
                   "type": "application/json", "title": TMS_ID}]}]}


def tileset(base, layer):
    url = f"{base}/collections/{layer.name}/tiles/{TMS_ID}"
    return {
        "title": layer.title, "dataType": "vector", "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": layer.title},
            {"href": f"{base}/tileMatrixSets/{TMS_ID}",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json", "title": TMS_ID},
            {"href": url + "/{tileMatrix}/{tileRow}/{tileCol}", "rel": "item", "type": MVT,
             "templated": True, "title": _("Tuiles vectorielles (MVT)")},
            {"href": f"{base}/collections/{layer.name}", "rel": "collection",
             "type": "application/json", "title": layer.title},
        ],
    }


def tilesets(base, layer):
    return {"tilesets": [tileset(base, layer)],
            "links": [{"href": f"{base}/collections/{layer.name}/tiles", "rel": "self",
                       "type": "application/json", "title": _("Jeux de tuiles")}]}


def tile(request, name, matrix, row, col):
    """The tile (MVT) through the platform's vector tile view; its text errors in JSON."""
    if not (matrix.isdigit() and row.isdigit() and col.isdigit()) or len(matrix + row + col) > 30:
        raise ApiError(400, "InvalidParameterValue",
                       _("tileMatrix, tileRow et tileCol sont des entiers positifs."))
    if int(matrix) > MAX_ZOOM:
        raise not_found(_("Niveau de tuiles inconnu : %(z)s (0 à %(max)d).")
                        % {"z": matrix, "max": MAX_ZOOM})
    response = vector_tile(request, name, matrix, col, row)
    if response.status_code in (400, 404):
        message = response.content.decode("utf-8", "replace")
        code = "NotFound" if response.status_code == 404 else "InvalidParameterValue"
        raise ApiError(response.status_code, code, message)
    return response


def json_answer(document):
    return HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/json")
