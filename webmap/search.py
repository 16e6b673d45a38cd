"""The viewer's search box: communes of the territory, then values of the searchable layers.

Layer rows are read only through the visitor's FeatureSource (its rows and readable columns; the
source builds the parameterised SQL); column names come from the catalogue (Layer.search_fields,
among the columns the visitor may read). Matching ignores case and accents (unaccent + ILIKE).
Each result has a label and an extent in EPSG:3857 for the map to zoom to.
"""
from django.db import connection
from django.utils.translation import gettext as _

from layers.access import AccessPolicy, LayerNotFound
from layers.models import Layer, Permission

MIN_LENGTH = 2
MAX_LENGTH = 100
PER_GROUP = 8
MAX_LAYERS = 20
MAX_WORDS = 6


def like_pattern(text):
    """%text% with LIKE's wildcards escaped (backslash is PostgreSQL's default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def all_words(expression, patterns):
    """SQL (and parameters) true when every word's pattern is found in the text expression."""
    sql = " AND ".join(f"unaccent({expression}) ILIKE unaccent(%s)" for _ in patterns)
    return sql, list(patterns)


def search_communes(patterns, limit=PER_GROUP):
    match, params = all_words("c.name || ' ' || c.insee", patterns)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.name, c.insee, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
            " SELECT name, insee, ST_Envelope(ST_Transform(geom, 3857)) b"
            f" FROM territory_commune) c WHERE {match}"
            " ORDER BY unaccent(c.name) ILIKE unaccent(%s) DESC, c.name LIMIT %s",
            [*params, patterns[0][1:], limit],
        )
        rows = cursor.fetchall()
    return [{"label": f"{name} ({insee})", "extent": [round(v, 2) for v in box]}
            for name, insee, *box in rows]


def search_fields(source):
    known = set(source.readable_names())
    return [name for name in source.layer.search_fields if name in known]


def search_layer(source, patterns, limit=PER_GROUP):
    fields = search_fields(source)
    if not fields:
        return []
    return [{"label": label, "extent": [round(v, 2) for v in box]}
            for label, box in source.search(fields, patterns, limit)]


def search(user, text):
    """{"groups": [{"title", "layer", "results": [{"label", "extent"}]}]} or {"error": …}."""
    text = " ".join((text or "").split())
    if len(text) < MIN_LENGTH:
        return {"groups": [], "message": _("Saisissez au moins %(n)d caractères.") % {"n": MIN_LENGTH}}
    if len(text) > MAX_LENGTH:
        return {"error": _("Recherche trop longue (%(n)d caractères au plus).") % {"n": MAX_LENGTH}}
    # Every word must be found, in any order (« zone moulin » finds « Zone … du Moulin »).
    patterns = [like_pattern(word) for word in text.split()[:MAX_WORDS]]
    groups = []
    communes = search_communes(patterns)
    if communes:
        groups.append({"title": _("Communes"), "layer": None, "results": communes})
    seen = {tuple(r["extent"]) for r in communes}
    policy = AccessPolicy.for_user(user)
    layers = (policy.layers(Permission.VIEW)
              .filter(searchable=True, kind=Layer.Kind.VECTOR, extent__isnull=False)
              .order_by("theme__order", "title")[:MAX_LAYERS])
    for layer in layers:
        try:
            grant = policy.source(layer, Permission.VIEW)
        except LayerNotFound:
            continue
        # A commune already listed above is not listed again by the layer of communes.
        results = [r for r in search_layer(grant, patterns) if tuple(r["extent"]) not in seen]
        if results:
            groups.append({"title": layer.title, "layer": layer.name, "results": results})
    return {"groups": groups}
