"""Catalogue pages (/catalogue/)."""
from django.urls import path

from . import views_catalogue as views

app_name = "catalogue"
urlpatterns = [
    path("", views.catalogue, name="list"),
    path("<slug:name>/", views.layer_detail, name="detail"),
    path("<slug:name>/vignette.png", views.layer_thumbnail, name="thumbnail"),
]
