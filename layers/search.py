"""Full-text search of the catalogue (title, keywords, theme, abstract, technical name).

Layer.search_vector is maintained by a database trigger (migration 0003) with the
``capgeo_french`` configuration: French stemming over unaccented words, so « reseau », « Réseau »
and « réseaux » find the same layers. Each word typed also matches as a prefix (« fib » finds
« fibre »), and all the words must match.
"""
import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q

SEARCH_CONFIG = "capgeo_french"
MAX_TERMS = 12
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def search_query(text):
    """A SearchQuery for the words of a user's text, or None when it holds no word."""
    words = [word for word in _WORD_RE.findall(text or "") if word.strip("_")][:MAX_TERMS]
    if not words:
        return None
    # Words are reduced to \w characters, so the raw tsquery syntax cannot be injected.
    raw = " & ".join(f"{word.strip('_')}:*" for word in words)
    return SearchQuery(raw, search_type="raw", config=SEARCH_CONFIG)


def search_layers(queryset, text):
    """The layers of the queryset matching the text, best first (unchanged if no word)."""
    query = search_query(text)
    if query is None:
        return queryset
    return (
        queryset.filter(Q(search_vector=query) | Q(name__icontains=text.strip()))
        .annotate(search_rank=SearchRank(F("search_vector"), query))
        .order_by("-search_rank", "title")
    )
