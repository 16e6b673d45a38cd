"""SPANC manager screens (/spanc/)."""
from django.urls import path

from . import dashboard, planning, views
from .report import views as report_views

app_name = "spanc"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("campagnes/nouvelle/", views.campaign_new, name="campaign-new"),
    path("campagnes/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campagnes/installations.geojson", planning.installations_geojson,
         name="planning-installations"),
    path("campagnes/selection/", planning.selection, name="planning-selection"),
    path("controles/<uuid:uuid>/", views.control_detail, name="control"),
    path("controles/<uuid:uuid>/rapport.pdf", report_views.control_report, name="control-report"),
    path("tableau-de-bord/", dashboard.dashboard, name="statistics"),
    path("conflits/", views.conflicts, name="conflicts"),
    path("conflits/<uuid:change_id>/", views.conflict_detail, name="conflict"),
]
