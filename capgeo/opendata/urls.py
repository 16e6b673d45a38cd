"""The open-data portal (/donnees/)."""
from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("", views.portal, name="list"),
    path("catalogue.json", views.dcat_catalogue, name="dcat"),
    path("<slug:name>/", views.dataset, name="detail"),
]
