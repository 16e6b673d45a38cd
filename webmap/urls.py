"""/carte/: the viewer, its JSON endpoints and the saved maps (capgeo/urls.py mounts
/carte/impression/, the print service, before this include)."""
from django.urls import path

from . import views

app_name = "webmap"
urlpatterns = [
    path("", views.viewer, name="viewer"),
    path("config.json", views.config_json, name="config"),
    path("recherche/", views.search, name="search"),
    path("cartes/", views.gallery, name="gallery"),
    path("<slug:slug>/", views.saved, name="saved"),
    path("<slug:slug>/vignette.png", views.thumbnail, name="thumbnail"),
]
