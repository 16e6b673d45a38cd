from django.urls import path

from . import views

app_name = "territory"
urlpatterns = [
    path("communes.geojson", views.communes_geojson, name="communes-geojson"),
]
