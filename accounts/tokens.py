"""Personal access tokens: created and revoked by their owner (page /compte/), accepted by the
desktop authentication (accounts.authentication) in a header or a URL parameter.

A token is ``cg_`` followed by 43 URL-safe random characters (256 bits). Only its SHA-256 is
stored: a database leak gives no usable token, and the token is shown once, at creation.
"""
import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import PersonalAccessToken

TOKEN_PREFIX = "cg_"
# last_used_at is written at most this often per token (not one write per tile or WFS page).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create_token(user, name):
    """(PersonalAccessToken, the token text): the text is never stored nor shown again."""
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken.objects.create(
        user=user, name=name.strip()[:100], prefix=text[:10], token_hash=hash_token(text))
    return token, text


def revoke_token(token):
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def user_for_token(text):
    """The active user owning this valid, unrevoked token, or None; records the use."""
    if not text or len(text) > 200:
        return None
    token = (PersonalAccessToken.objects.select_related("user")
             .filter(token_hash=hash_token(text.strip()), revoked_at=None).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
