"""A short-lived cache of remote answers (per URL and parameters), to be gentle with remote
servers: a map, its tiles and its GetFeatureInfo often ask the same thing within a minute."""
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from layers.remote.capabilities import SAFE_PARSER
from layers.remote.fetch import RemoteError, fetch


class AnswerCache:
    def __init__(self, size=128):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            found = self.items.get(key)
            if found is None or found[0] < time.monotonic():
                self.items.pop(key, None)
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key, value, seconds):
        if seconds <= 0:
            return
        with self.lock:
            self.items[key] = (time.monotonic() + seconds, value)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self):
        with self.lock:
            self.items.clear()


answers = AnswerCache()


def clear_cache():
    answers.clear()


def cache_seconds():
    return float(getattr(settings, "CAPGEO_REMOTE_CACHE_SECONDS", 60))


def cached_fetch(url, params, depth):
    """(content_type, bytes) of a successful remote answer, cached; RemoteError otherwise."""
    key = (url, tuple(sorted(params.items())))
    found = answers.get(key)
    if found is not None:
        return found
    answer = fetch(url, params, depth=depth)
    if answer.status != 200:
        raise RemoteError(remote_failure(answer))
    found = (answer.content_type.split(";")[0].strip().lower(), answer.content)
    if found[0].startswith("image/") or "json" in found[0] or "xml" in found[0]:
        answers.put(key, found, cache_seconds())
    return found


def remote_failure(answer):
    try:
        root = etree.fromstring(answer.content, SAFE_PARSER)
        text = " ".join(" ".join(t.split()) for t in root.itertext() if t.strip())[:300]
    except etree.XMLSyntaxError:
        text = ""
    return _("réponse HTTP %(status)d %(text)s") % {"status": answer.status, "text": text}
