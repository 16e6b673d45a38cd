"""The OpenAPI 3.0 definition of /ogc/ (its ``servers`` entry is the address the client used).

Generated from the same lists the views use (conformance classes, CRSs, filter languages, item
parameters), with the collection ids the requesting user may view as the enumeration of
``collectionId``: the definition never names a collection its reader cannot see.
"""
from . import crs as crs_module
from .constants import CONFORMANCE, DEFAULT_LIMIT, MAX_LIMIT

TILE_MATRIX_SETS = ("WebMercatorQuad", "LAMB93")  # ogcapi.tiles.IDS
MAP_CRS = (crs_module.EPSG + "2154", crs_module.CRS84, crs_module.EPSG + "4326",
           crs_module.EPSG + "3857")  # ogcapi.maps.MAP_CRS, the default first

EXCEPTION = {"$ref": "#/components/responses/Exception"}


def _parameter(name, where, schema, description, required=False, **extra):
    return {"name": name, "in": where, "required": required, "schema": schema,
            "description": description, **extra}


def definition(base, collection_ids, max_size=4096):
    geojson = {"application/geo+json": {"schema": {"type": "object"}}}
    json_object = {"application/json": {"schema": {"type": "object"}}}
    html = {"text/html": {"schema": {"type": "string"}}}
    parameters = {
        "collectionId": _parameter("collectionId", "path",
                                   {"type": "string", "enum": list(collection_ids)},
                                   "Identifiant de la collection (nom technique de la couche).",
                                   required=True),
        "featureId": _parameter("featureId", "path", {"type": "string"},
                                "Identifiant de l'objet.", required=True),
        "f": _parameter("f", "query", {"type": "string", "enum": ["json", "html"]},
                        "Format de la réponse.", style="form", explode=False),
        "limit": _parameter("limit", "query", {"type": "integer", "minimum": 1,
                                               "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                            "Nombre maximal d'objets par page.", style="form", explode=False),
        "bbox": _parameter("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6,
                                             "items": {"type": "number"}},
                           "Boîte englobante (dans bbox-crs, CRS84 par défaut).", style="form",
                           explode=False),
        "bbox-crs": _parameter("bbox-crs", "query", {"type": "string", "format": "uri",
                                                     "enum": list(crs_module.INPUT)},
                               "Système de coordonnées de bbox.", style="form", explode=False),
        "crs": _parameter("crs", "query", {"type": "string", "format": "uri",
                                           "enum": crs_module.output_crs_list()},
                          "Système de coordonnées des géométries renvoyées.", style="form",
                          explode=False),
        "datetime": _parameter("datetime", "query", {"type": "string"},
                               "Instant ou intervalle (RFC 3339, « .. » pour ouvert).",
                               style="form", explode=False),
        "filter": _parameter("filter", "query", {"type": "string"},
                             "Filtre CQL2 (texte ou JSON selon filter-lang).", style="form",
                             explode=False),
        "filter-lang": _parameter("filter-lang", "query",
                                  {"type": "string", "enum": ["cql2-text", "cql2-json"],
                                   "default": "cql2-text"},
                                  "Langage du filtre.", style="form", explode=False),
        "filter-crs": _parameter("filter-crs", "query", {"type": "string", "format": "uri",
                                                         "enum": list(crs_module.INPUT)},
                                 "Système de coordonnées des géométries du filtre.",
                                 style="form", explode=False),
        "offset": _parameter("offset", "query", {"type": "integer", "minimum": 0},
                             "Rang du premier objet de la page (liens next/prev).", style="form",
                             explode=False),
        "after": _parameter("after", "query", {"type": "integer"},
                            "Pagination par clé : les objets qui suivent cet objet dans l'ordre "
                            "de la page (liens next).", style="form", explode=False),
        "sortby": _parameter("sortby", "query", {"type": "array", "items": {
            "type": "string", "pattern": "^[+-]?[a-z_][a-z0-9_]*$"}},
            "Tri : propriétés de /sortables, « - » devant pour l'ordre décroissant.",
            style="form", explode=False),
    }
    ref = {name: {"$ref": f"#/components/parameters/{name}"} for name in parameters}
    body = {"required": True, "content": {"application/geo+json": {"schema": {"type": "object"}}}}
    tile_params = [ref["collectionId"],
                   _parameter("tileMatrixSetId", "path", {"type": "string",
                                                         "enum": list(TILE_MATRIX_SETS)},
                              "Jeu de matrices de tuiles.", required=True)]
    tile_item = tile_params + [
        _parameter(name, "path", {"type": "integer", "minimum": 0}, description, required=True)
        for name, description in (("tileMatrix", "Niveau (zoom)."), ("tileRow", "Ligne."),
                                  ("tileCol", "Colonne."))]
    json_ok = {"200": {"description": "JSON", "content": json_object}, "404": EXCEPTION}
    png = {"200": {"description": "Carte PNG (en-têtes Content-Crs et Content-Bbox)",
                   "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
           "400": EXCEPTION, "404": EXCEPTION, "406": EXCEPTION}
    map_params = [
        _parameter("crs", "query", {"type": "string", "enum": list(MAP_CRS),
                                    "default": MAP_CRS[0]},
                   "Système de coordonnées de la carte (Lambert-93 par défaut).", style="form",
                   explode=False),
        ref["bbox"], ref["bbox-crs"],
        _parameter("subset", "query", {"type": "array", "items": {"type": "string"}},
                   "Emprise par axe, nommés comme le système de subset-crs : "
                   "Lat(47.3:47.34),Lon(-2.45:-2.4) ; E(…),N(…) en projection ; * = l'emprise "
                   "des collections. Exclut bbox et center.", style="form", explode=False),
        _parameter("subset-crs", "query", {"type": "string", "default": crs_module.CRS84},
                   "Système de coordonnées de subset (CRS84 par défaut).", style="form",
                   explode=False),
        _parameter("center", "query", {"type": "array", "minItems": 2, "maxItems": 2,
                                       "items": {"type": "number"}},
                   "Centre de la carte dans l'ordre des axes de center-crs, avec "
                   "scale-denominator (sinon la résolution de toute l'emprise) et width/height.",
                   style="form", explode=False),
        _parameter("center-crs", "query", {"type": "string", "default": crs_module.CRS84},
                   "Système de coordonnées de center (CRS84 par défaut).", style="form",
                   explode=False),
        ref["datetime"],
        _parameter("width", "query", {"type": "integer", "minimum": 1, "maximum": max_size},
                   "Largeur en pixels.", style="form", explode=False),
        _parameter("height", "query", {"type": "integer", "minimum": 1, "maximum": max_size},
                   "Hauteur en pixels.", style="form", explode=False),
        _parameter("scale-denominator", "query", {"type": "number", "exclusiveMinimum": 0},
                   "Dénominateur d'échelle (pixels de 0,28 mm).", style="form", explode=False),
        _parameter("transparent", "query", {"type": "boolean", "default": True},
                   "Fond transparent.", style="form", explode=False),
        _parameter("bgcolor", "query", {"type": "string", "default": "0xFFFFFF"},
                   "Couleur du fond (0xRRGGBB ou nom W3C) quand transparent=false.",
                   style="form", explode=False),
        _parameter("f", "query", {"type": "string", "enum": ["png"]}, "Format de la carte.",
                   style="form", explode=False),
    ]
    maps_paths = {
        "/map": {"get": {
            "summary": "Carte de plusieurs collections", "operationId": "getDatasetMap",
            "parameters": map_params + [_parameter(
                "collections", "query", {"type": "array", "items": {
                    "type": "string", "enum": list(collection_ids)}},
                "Collections dessinées (la première en dessous) ; toutes par défaut.",
                style="form", explode=False)],
            "responses": png}},
        "/collections/{collectionId}/map": {"get": {
            "summary": "Carte de la collection (style par défaut)",
            "operationId": "getCollectionMap",
            "parameters": [ref["collectionId"]] + map_params, "responses": png}},
        "/collections/{collectionId}/styles/{styleId}/map": {"get": {
            "summary": "Carte de la collection dans un style nommé",
            "operationId": "getCollectionStyledMap",
            "parameters": [ref["collectionId"], _parameter(
                "styleId", "path", {"type": "string"}, "Nom du style.", required=True)]
            + map_params, "responses": png}},
    }
    tiles_paths = {
        "/tileMatrixSets": {"get": {"summary": "Jeux de matrices de tuiles",
                                    "operationId": "getTileMatrixSetsList",
                                    "responses": json_ok}},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": {
            "summary": "Un jeu de matrices de tuiles", "operationId": "getTileMatrixSet",
            "parameters": [tile_params[1]], "responses": json_ok}},
        "/collections/{collectionId}/tiles": {"get": {
            "summary": "Jeux de tuiles vectorielles de la collection",
            "operationId": "getCollectionVectorTilesetsList", "parameters": [ref["collectionId"]],
            "responses": json_ok}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": {"get": {
            "summary": "Un jeu de tuiles", "operationId": "getCollectionVectorTileSet",
            "parameters": tile_params, "responses": json_ok}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": {
            "get": {"summary": "Une tuile vectorielle (MVT)",
                    "operationId": "getCollectionVectorTile", "parameters": tile_item,
                    "responses": {"200": {"description": "Tuile",
                                          "content": {"application/vnd.mapbox-vector-tile": {
                                              "schema": {"type": "string",
                                                         "format": "binary"}}}},
                                  "204": {"description": "Tuile vide"},
                                  "400": EXCEPTION, "404": EXCEPTION}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "C@p Géo — OGC API – Features, Tiles, Maps", "version": "1.0.0",
                 "description": "Couches de la plateforme selon les droits du demandeur. "
                                "Classes de conformité : " + ", ".join(CONFORMANCE),
                 "license": {"name": "AGPL-3.0-or-later"}},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"summary": "Page d'accueil", "operationId": "getLandingPage",
                          "parameters": [ref["f"]],
                          "responses": {"200": {"description": "Page d'accueil",
                                                "content": {**json_object, **html}},
                                        "400": EXCEPTION}}},
            "/conformance": {"get": {"summary": "Classes de conformité",
                                     "operationId": "getConformanceDeclaration",
                                     "parameters": [ref["f"]],
                                     "responses": {"200": {"description": "Conformité",
                                                           "content": {**json_object, **html}},
                                                   "400": EXCEPTION}}},
            "/api": {"get": {"summary": "Cette définition", "operationId": "getApiDefinition",
                             "parameters": [ref["f"]],
                             "responses": {"200": {"description": "OpenAPI 3.0"}}}},
            "/collections": {"get": {"summary": "Collections", "operationId": "getCollections",
                                     "parameters": [ref["f"]],
                                     "responses": {"200": {"description": "Collections",
                                                           "content": {**json_object, **html}},
                                                   "400": EXCEPTION}}},
            "/collections/{collectionId}": {"get": {
                "summary": "Une collection", "operationId": "describeCollection",
                "parameters": [ref["collectionId"], ref["f"]],
                "responses": {"200": {"description": "Collection",
                                      "content": {**json_object, **html}},
                              "404": EXCEPTION}}},
            "/collections/{collectionId}/queryables": {"get": {
                "summary": "Propriétés interrogeables", "operationId": "getQueryables",
                "parameters": [ref["collectionId"], ref["f"]],
                "responses": {"200": {"description": "Schéma JSON",
                                      "content": {"application/schema+json":
                                                  {"schema": {"type": "object"}}}},
                              "404": EXCEPTION}}},
            "/collections/{collectionId}/sortables": {"get": {
                "summary": "Propriétés triables (sortby)", "operationId": "getSortables",
                "parameters": [ref["collectionId"]],
                "responses": {"200": {"description": "Schéma JSON",
                                      "content": {"application/schema+json":
                                                  {"schema": {"type": "object"}}}},
                              "404": EXCEPTION}}},
            "/collections/{collectionId}/items": {
                "get": {"summary": "Objets de la collection", "operationId": "getFeatures",
                        "parameters": [ref[name] for name in (
                            "collectionId", "f", "limit", "bbox", "bbox-crs", "crs", "datetime",
                            "filter", "filter-lang", "filter-crs", "offset", "after",
                            "sortby")],
                        "responses": {"200": {"description": "FeatureCollection GeoJSON",
                                              "content": {**geojson, **html}},
                                      "400": EXCEPTION, "404": EXCEPTION}},
                "post": {"summary": "Ajouter un objet (droit de modification)",
                         "operationId": "createFeature", "parameters": [ref["collectionId"]],
                         "requestBody": body,
                         "responses": {"201": {"description": "Créé (en-tête Location)"},
                                       "400": EXCEPTION, "403": EXCEPTION, "404": EXCEPTION}},
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {"summary": "Un objet", "operationId": "getFeature",
                        "parameters": [ref["collectionId"], ref["featureId"], ref["f"],
                                       ref["crs"]],
                        "responses": {"200": {"description": "Feature GeoJSON (en-tête ETag)",
                                              "content": {**geojson, **html}},
                                      "404": EXCEPTION}},
                "put": {"summary": "Remplacer un objet (If-Match : son ETag)",
                        "operationId": "replaceFeature",
                        "parameters": [ref["collectionId"], ref["featureId"]],
                        "requestBody": body,
                        "responses": {"204": {"description": "Remplacé"}, "400": EXCEPTION,
                                      "403": EXCEPTION, "404": EXCEPTION, "412": EXCEPTION}},
                "patch": {"summary": "Modifier des propriétés (If-Match : son ETag)",
                          "operationId": "updateFeature",
                          "parameters": [ref["collectionId"], ref["featureId"]],
                          "requestBody": body,
                          "responses": {"204": {"description": "Modifié"}, "400": EXCEPTION,
                                        "403": EXCEPTION, "404": EXCEPTION, "412": EXCEPTION}},
                "delete": {"summary": "Supprimer un objet (If-Match : son ETag)",
                           "operationId": "deleteFeature",
                           "parameters": [ref["collectionId"], ref["featureId"]],
                           "responses": {"204": {"description": "Supprimé"}, "403": EXCEPTION,
                                         "404": EXCEPTION, "412": EXCEPTION}},
            },
            **tiles_paths,
            **maps_paths,
        },
        "components": {
            "parameters": parameters,
            "responses": {"Exception": {
                "description": "Exception OGC API",
                "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code"],
                    "properties": {"code": {"type": "string"},
                                   "description": {"type": "string"}}}}}}},
        },
    }
