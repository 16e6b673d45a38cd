"""Images the map engine draws for the catalogue pages."""
from django.urls import path

from . import views

app_name = "maps"
urlpatterns = [
    path("catalogue/<slug:name>/vignette.png", views.layer_thumbnail, name="layer_thumbnail"),
]
