"""OGC API – Features (/ogc/)."""
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
    path("collections/<slug:name>/items", views.items, name="items"),
    path("collections/<slug:name>/items/<str:fid>", views.item, name="item"),
]
