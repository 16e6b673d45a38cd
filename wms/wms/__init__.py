"""WMS 1.3.0 / 1.1.1 rendered with Mapnik. handle(request, params) answers one KVP request."""
from django.http import HttpResponse

REQUESTS = {"getcapabilities", "getmap", "getfeatureinfo", "getlegendgraphic"}


def handle(request, params):
    return HttpResponse("WMS: en cours de construction", status=501, content_type="text/plain")
