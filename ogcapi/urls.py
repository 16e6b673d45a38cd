"""OGC API – Features, Tiles and Maps (/ogc/)."""
from django.urls import path

from . import views

app_name = "ogcapi"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("conformance", views.conformance, name="conformance"),
    path("api", views.api_definition, name="api"),
    path("collections", views.collections, name="collections"),
    path("collections/<slug:name>", views.collection, name="collection"),
    path("collections/<slug:name>/queryables", views.queryables, name="queryables"),
    path("collections/<slug:name>/sortables", views.sortables, name="sortables"),
    path("collections/<slug:name>/items", views.items, name="items"),
    path("collections/<slug:name>/items/<str:fid>", views.item, name="item"),
    path("map", views.dataset_map, name="map"),
    path("collections/<slug:name>/map", views.collection_map, name="collection-map"),
    path("collections/<slug:name>/styles/<str:style>/map", views.collection_map,
         name="styled-map"),
    path("tileMatrixSets", views.tile_matrix_sets, name="tile-matrix-sets"),
    path("tileMatrixSets/<str:tms>", views.tile_matrix_set, name="tile-matrix-set"),
    path("collections/<slug:name>/tiles", views.collection_tilesets, name="tilesets"),
    path("collections/<slug:name>/tiles/<str:tms>", views.collection_tileset, name="tileset"),
    path("collections/<slug:name>/tiles/<str:tms>/<str:matrix>/<str:row>/<str:col>",
         views.collection_tile, name="tile"),
]
