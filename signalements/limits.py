"""Spam and abuse limits of the reports, shared by the web page and Open311.

- rate limits per address and per account (django-ratelimit, counted in PostgreSQL:
  signalements/ratecache.py) — CAPGEO_REPORT_RATE_IP, CAPGEO_REPORT_RATE_USER;
- a honeypot field that people never see nor fill;
- a cap on the size of a whole request (photos included), checked before the body is read.
"""
from django.conf import settings
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from .photos import MAX_PHOTOS, MAX_UPLOAD_BYTES

HONEYPOT = "site_web"
MAX_REQUEST_BYTES = MAX_PHOTOS * MAX_UPLOAD_BYTES + 1024 * 1024


class LimitExceeded(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def check_size(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_REQUEST_BYTES:
        raise LimitExceeded(413, _("Envoi trop volumineux : %(photos)d photos de %(size)d Mo au "
                                   "plus.") % {"photos": MAX_PHOTOS,
                                               "size": MAX_UPLOAD_BYTES // (1024 * 1024)})


def check_rate(request, group="signalements:create"):
    """Counts this request; LimitExceeded (429) past the limit of its account (signed in) or of
    its address (anonymous)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Agents share their town hall's address: accounts are counted on their own.
        limited = is_ratelimited(request, group=group + ":user", key="user",
                                 rate=settings.CAPGEO_REPORT_RATE_USER, increment=True)
    else:
        limited = is_ratelimited(request, group=group, key="ip",
                                 rate=settings.CAPGEO_REPORT_RATE_IP, increment=True)
    if limited:
        raise LimitExceeded(429, _("Trop de signalements envoyés depuis cette connexion en peu "
                                   "de temps. Réessayez dans une heure, ou appelez votre "
                                   "mairie en cas d'urgence."))


def check_honeypot(data):
    if (data.get(HONEYPOT) or "").strip():
        raise LimitExceeded(400, _("Envoi refusé : un champ qui doit rester vide a été rempli."))


def check_nul(data):
    """A NUL character in any field (multipart bodies included, which the platform's input
    guard does not parse): PostgreSQL refuses it in text."""
    for values in data.lists():
        if any("\x00" in value for value in values[1]) or "\x00" in values[0]:
            raise LimitExceeded(400, _("Valeur invalide : caractère nul (U+0000) refusé."))
