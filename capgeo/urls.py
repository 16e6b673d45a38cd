from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from capgeo import health, home
from wms.printing.views import print_map

# Errors in the format of each URL space: OGC reports on /ows and /mapproxy/, JSON under /api/.
handler400 = "platform_web.error_responses.bad_request"
handler403 = "platform_web.error_responses.permission_denied"
handler404 = "platform_web.error_responses.page_not_found"
handler500 = "platform_web.error_responses.server_error"

admin.site.site_header = "C@p Géo — administration"
admin.site.site_title = "C@p Géo"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("territoire/", include("territory.urls")),
    path("api/sync/", include("fieldsync.api_urls")),
    path("api/", include("layers.api.urls")),
    path("", include("wms.urls")),
    path("", include("wms.tiles_urls")),
    path("spanc/", include("fieldsync.urls")),
    path("terrain/", include("fieldsync.terrain.urls")),
    path("catalogue/publier/", include("layers.urls_publishing")),
    path("", include("maps.urls")),  # a catalogue layer's thumbnail, drawn by the map engine
    path("catalogue/", include("layers.urls_catalogue")),
    # Before the viewer's carte/ include: the print endpoint is the WMS renderer's.
    path("carte/impression/", print_map, name="print-map"),
    path("carte/", include("webmap.urls")),
    path("donnees/", include("opendata.urls")),
    path("signalements/", include("signalements.urls")),
    path("open311/v2/", include("signalements.urls_open311")),
    path("", include("metadata.urls")),  # /csw and /metadonnees/<uuid>
    path("ogc/", include("ogcapi.urls")),  # OGC API – Features
    path("", home.home, name="home"),
    path("connexion/", auth_views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("compte/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # MEDIA_ROOT (received imports, restricted data) is never served as such: thumbnails, exports
    # and photos go through views that ask the access policy.
]
