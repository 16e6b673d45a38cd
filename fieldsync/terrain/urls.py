"""The field app (/terrain/): its page, service worker, web app manifest and session probe."""
from django.urls import path

from . import views

app_name = "terrain"
urlpatterns = [
    path("", views.app, name="app"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("session/", views.session, name="session"),
]
