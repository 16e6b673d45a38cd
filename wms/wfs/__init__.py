"""WFS 2.0 (and WFS-T). handle(request, params) answers one KVP or XML request."""
from django.http import HttpResponse


def handle(request, params):
    return HttpResponse("WFS: en cours de construction", status=501, content_type="text/plain")
