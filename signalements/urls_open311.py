"""Open311 GeoReport v2 (/open311/v2/): every resource in JSON and XML."""
from django.urls import re_path

from . import open311

FMT = r"\.(?P<fmt>json|xml)$"
app_name = "open311"
urlpatterns = [
    re_path(r"^discovery" + FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + FMT, open311.services, name="services"),
    re_path(r"^services/(?P<code>[^/]{1,100})" + FMT, open311.service_definition,
            name="service"),
    re_path(r"^requests" + FMT, open311.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]{1,40})" + FMT, open311.request_detail,
            name="request"),
    re_path(r"^tokens/(?P<token_id>[^/]{1,40})" + FMT, open311.token, name="token"),
]
