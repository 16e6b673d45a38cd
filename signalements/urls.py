from django.urls import path

from . import dashboard, views, views_personal_data, views_processing

app_name = "signalements"
urlpatterns = [
    path("", views.public_map, name="map"),
    path("nouveau/", views.new_report, name="new"),
    path("doublons.json", views.duplicates, name="duplicates"),
    path("<uuid:uuid>/soutenir/", views.support_report, name="support"),
    path("suivi/<str:token>/", views.track, name="track"),
    path("photo/<str:token>.jpg", views.photo, name="photo"),
    path("suivi/<str:token>/donnees/", views_personal_data.by_tracking, name="data-tracking"),
    path("confidentialite/", views.privacy, name="privacy"),
    path("mes-donnees/", views_personal_data.request_access, name="data-request"),
    path("mes-donnees/<str:signed>/", views_personal_data.by_email, name="data-email"),
    path("traitement/", views_processing.queue, name="queue"),
    path("tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    path("traitement/<int:pk>/", views_processing.process, name="process"),
    path("traitement/<int:pk>/action/", views_processing.act, name="act"),
]
