"""Sync API (/api/sync/): see docs/sync-protocol.md.

Identifiers in paths are taken as strings and checked by the views, and any other path answers
the protocol's JSON 404 (api.not_found), never Django's HTML page.
"""
from django.urls import path, re_path

from . import api

app_name = "fieldsync_api"
urlpatterns = [
    path("devices/", api.DeviceView.as_view(), name="devices"),
    path("package/", api.PackageView.as_view(), name="package"),
    path("changes/", api.ChangesView.as_view(), name="changes"),
    path("push/", api.PushView.as_view(), name="push"),
    path("push/<uuid:batch_id>/", api.BatchStateView.as_view(), name="push-state"),
    path("photos/<str:sha256>/", api.PhotoView.as_view(), name="photo"),
    path("photos/<str:sha256>/content/", api.PhotoContentView.as_view(), name="photo-content"),
    path("controls/<str:uuid>/photos/", api.ControlPhotosView.as_view(), name="control-photos"),
    path("controls/<str:uuid>/decision/", api.DecisionView.as_view(), name="decision"),
    path("installations/", api.InstallationListView.as_view(), name="installations"),
    path("campaigns/", api.CampaignView.as_view(), name="campaigns"),
    path("assignments/", api.AssignView.as_view(), name="assign"),
    path("conflicts/", api.ConflictListView.as_view(), name="conflicts"),
    path("conflicts/<str:change_id>/resolution/", api.ConflictResolutionView.as_view(),
         name="conflict-resolution"),
    re_path(r"^(?P<path>.*)$", api.not_found, name="not-found"),
]
