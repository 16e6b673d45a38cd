from django.urls import path

from .ows import ows

app_name = "ows"
urlpatterns = [path("ows", ows, name="ows")]
