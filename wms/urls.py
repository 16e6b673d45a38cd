from django.urls import path

from .ows_endpoint import ows

app_name = "ows"
urlpatterns = [path("ows", ows, name="ows")]
