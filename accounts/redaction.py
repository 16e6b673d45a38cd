"""Credentials never reach a log line.

A personal token may come in the URL (``?token=cg_…``), a password in a form or a JSON body,
Basic or Bearer credentials and API keys in headers; request lines, referers, headers and
messages are logged by gunicorn (access and error logs) and by Django (``django.request``,
``django.server``, ours). :func:`redact` masks them in any text:

- URL, form and JSON parameters named token, access_token, refresh_token, password, passwd,
  api_key/apikey/api-key, secret (``token=***``, ``"password": "***"``);
- ``Authorization`` / ``Proxy-Authorization`` values and ``X-Api-Key`` / ``Cookie`` headers,
  whatever their spelling (``HTTP_AUTHORIZATION``, ``{authorization}i``…), and any
  ``Basic …`` / ``Bearer …`` credentials;
- any personal token of the platform (``cg_`` followed by its random part), wherever it is.

:class:`RedactCredentials` is the logging filter of settings.LOGGING's handlers;
accounts.gunicorn_logger applies the same to gunicorn's logs.
"""
import logging
import re

MASK = "***"
_NAMES = r"(?:access[_-]?token|refresh[_-]?token|token|password|passwd|api[_-]?key|secret)"
# name=value in a query string, a form body or a log line (not csrfmiddlewaretoken, csrf_token).
_PARAMETER = re.compile(rf"(?<![\w-])({_NAMES})(=|%3D)([^&\s\"'<>;,]*)", re.I)
# "name": "value" in JSON or a Python repr.
_QUOTED = re.compile(rf"""(["']{_NAMES}["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""", re.I)
# Header names as sent, in WSGI environ, in gunicorn's atoms, followed by ": " or "': '".
_HEADER = re.compile(
    r"((?:HTTP_)?(?:PROXY[_-])?AUTHORIZATION|(?:HTTP_)?X[_-]API[_-]KEY|(?:HTTP_)?COOKIE)"
    r"""(\}i)?(["']?\s*[:=]\s*["']?)([^"'\r\n]*)""", re.I)
_SCHEME = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}", re.I)
_PLATFORM_TOKEN = re.compile(r"\bcg_[A-Za-z0-9_-]{8,}")


def redact(text):
    if not text:
        return text
    text = _PLATFORM_TOKEN.sub("cg_" + MASK, text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{m.group(3)}{MASK}", text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    return _PARAMETER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


class RedactCredentials(logging.Filter):
    """Rewrites each record's message (and its formatted traceback) with the credentials
    masked; never drops a record."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
