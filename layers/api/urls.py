"""REST API of the catalogue (/api/)."""
from django.urls import path

app_name = "api"
urlpatterns: list = []
