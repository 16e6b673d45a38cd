"""Demo saved maps over the demo catalogue (layers.demo): one public, one for connected users.

Idempotent: an existing map (same slug) is left alone. A layer missing from the catalogue is
skipped, so the demo never fails on a partial catalogue.
"""
from django.db import transaction

from layers.models import Audience, Layer

from .models import LOCAL_BASEMAP, SavedMap, SavedMapLayer

DEMO_MAPS = [
    {
        "slug": "economie",
        "title": "Zones d'activité et mairies",
        "description": "Les zones d'activité économique de Cap Atlantique sur le plan des "
                       "communes, avec les mairies.",
        "audience": Audience.PUBLIC,
        "layers": [("zones_activite", 0.85), ("mairies", 1.0)],
    },
    {
        "slug": "reseaux",
        "title": "Réseau fibre de ma commune",
        "description": "Le réseau de fibre optique : chaque agent voit celui de sa commune, le "
                       "service SIG celui de tout le territoire.",
        "audience": Audience.AUTHENTICATED,
        "layers": [("reseau_fibre", 1.0), ("mairies", 1.0)],
    },
]


@transaction.atomic
def load_saved_maps_demo():
    """Create the demo maps that do not exist yet; returns their slugs."""
    created = []
    layers = {layer.name: layer for layer in Layer.objects.filter(
        name__in={name for spec in DEMO_MAPS for name, _ in spec["layers"]})}
    for spec in DEMO_MAPS:
        if SavedMap.objects.filter(slug=spec["slug"]).exists():
            continue
        saved_map = SavedMap.objects.create(
            slug=spec["slug"], title=spec["title"], description=spec["description"],
            audience=spec["audience"], basemap=LOCAL_BASEMAP)
        for position, (name, opacity) in enumerate(spec["layers"]):
            if name in layers:
                SavedMapLayer.objects.create(saved_map=saved_map, layer=layers[name],
                                             position=position, opacity=opacity)
        created.append(saved_map.slug)
    return created
