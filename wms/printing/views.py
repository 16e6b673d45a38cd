"""POST /carte/impression/: the JSON print request answered with a PDF or a PNG.

Bad requests answer 400 {"error": "<French message>"}; an unknown layer and a layer the user may
not view answer the same message (its existence does not leak).

CSRF (accounts.csrf, checked by DesktopAuthMiddleware before this view runs): a request
signed in by its session cookie (the viewer) must carry the CSRF token; anonymous requests and
desktop credentials (Basic, personal token: sent per request, not by the browser on its own) have
no ambient authority to abuse, so scripts may print with curl.
"""
import logging

from django.http import HttpResponse, JsonResponse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from maps.compose import FAILED_HEADER
from maps.errors import PrintError
from maps.printing import compose
from maps.printing.render import resolve

from .params import parse_body

logger = logging.getLogger(__name__)
CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png"}


def error(message, status=400):
    return JsonResponse({"error": str(message)}, status=status)


@csrf_exempt  # for desktop credentials only: sessions are checked (accounts.csrf)
@never_cache
def print_map(request):
    if request.method != "POST":
        response = error(_("Envoyez la demande d'impression en POST (JSON)."), status=405)
        response["Allow"] = "POST"
        return response
    try:
        print_request = parse_body(request.body)
        printed = resolve(request.user, print_request.layers)
        document, failed = (compose.pdf if print_request.format == "pdf" else compose.png)(
            print_request, printed)
    except PrintError as refusal:
        return error(refusal)
    except (RuntimeError, OSError):
        # Mapnik or the database failed while drawing: the user gets a clean message.
        logger.exception("Map print failed")
        return error(_("L'impression a échoué ; réessayez plus tard ou prévenez l'administrateur "
                       "SIG."), status=503)
    name = slugify(print_request.title)[:60] or "carte"
    response = HttpResponse(document, content_type=CONTENT_TYPES[print_request.format])
    response["Content-Disposition"] = f'attachment; filename="{name}.{print_request.format}"'
    if failed:
        # Like GetMap: a remote layer that did not answer is left out and named.
        response[FAILED_HEADER] = ", ".join(failed)
    # Drawn for this user's rows: never in a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
