"""The CSW catalogue and the ISO 19139 record of each layer."""
from django.urls import path

from . import csw, views

app_name = "metadata"
urlpatterns = [
    path("csw", csw.csw, name="csw"),
    path("metadonnees/<uuid:uuid>", views.iso_record, name="record"),
    path("metadonnees/<uuid:uuid>.xml", views.iso_record, name="record-xml"),
]
