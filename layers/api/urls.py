"""REST API of the catalogue (/api/): layers, their features and exports, access rules, the
OpenAPI schema."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import remote, rules, views

app_name = "api"

router = SimpleRouter()
router.register("layers", views.LayerViewSet, basename="layer")
router.register("rules", rules.AccessRuleViewSet, basename="rule")

urlpatterns = [
    path("layers/<str:name>/features", views.FeaturesView.as_view(), name="layer-features"),
    path("remote-services/", remote.RemoteServicesView.as_view(), name="remote-services"),
    path("remote-services/<int:pk>/publish", remote.RemoteServicePublishView.as_view(),
         name="remote-service-publish"),
    path("", include(router.urls)),
    # Swagger UI only: drf-spectacular's Redoc page loads Google Fonts, and nothing may come from
    # a CDN.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
