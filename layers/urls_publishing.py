"""Staff publishing pages (/catalogue/publier/…)."""
from django.urls import path

from . import views_publishing as views

app_name = "publishing"
urlpatterns = [
    path("", views.publish, name="publish"),
    path("imports/<int:job_id>/", views.job_detail, name="job"),
    path("imports/<int:job_id>.json", views.job_status, name="job_status"),
    path("couches/<str:name>/historique/", views.history, name="history"),
    path("publications/<int:publication_id>/restaurer/", views.restore, name="restore"),
]
