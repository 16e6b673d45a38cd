"""The open-data portal (/donnees/)."""
from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("", views.portal, name="list"),
    path("catalogue.json", views.dcat_catalogue, name="dcat"),
    path("catalogue.rdf", views.dcat_rdf, name="dcat-rdf"),
    path("catalogue.ttl", views.dcat_turtle, name="dcat-ttl"),
    path("<slug:name>/", views.dataset, name="detail"),
]
