"""Catalogue pages (/catalogue/; a layer's thumbnail, drawn by the map engine, is maps.urls)."""
from django.urls import path

from . import views_catalogue as views

app_name = "catalogue"
urlpatterns = [
    path("", views.catalogue, name="list"),
    path("<slug:name>/", views.layer_detail, name="detail"),
]
