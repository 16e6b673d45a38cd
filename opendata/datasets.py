"""What the open-data portal publishes: the layers the anonymous public may download.

The portal is the same for everyone, signed in or not: it asks the access policy for an
anonymous visitor, never for the requesting user, so a layer shared with agents only never
appears there (agents find it in the catalogue). A public download rule without row restriction
gives the anonymous public every row, so the counts and downloads are those of the whole layer.
Layers under the "restricted" licence are not open data even if a rule publishes them, and remote
layers belong to their own publishers: neither is listed.
"""
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from layers.access import AccessPolicy
from layers.models import Layer, Licence, Permission

EXPORTS = [
    # (f, label, media type, DCAT format label)
    ("geojson", "GeoJSON", "application/geo+json", "GeoJSON"),
    ("gpkg", "GeoPackage", "application/geopackage+sqlite3", "GPKG"),
    ("csv", "CSV", "text/csv", "CSV"),
    ("shp", "Shapefile (zip)", "application/zip", "SHP"),
]
LICENCE_URLS = {
    Licence.ETALAB_2: "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    Licence.ODBL: "https://opendatacommons.org/licenses/odbl/1-0/",
    Licence.CC_BY_4: "https://creativecommons.org/licenses/by/4.0/",
}


def public_datasets():
    """The published layers, as a queryset (theme and owner loaded)."""
    return (AccessPolicy.for_user(AnonymousUser()).layers(Permission.DOWNLOAD)
            .filter(kind=Layer.Kind.VECTOR, extent__isnull=False)
            .exclude(licence=Licence.RESTRICTED)
            .select_related("theme", "owner_commune"))


def public_attributes(layer):
    """The columns the anonymous public may read (a column hidden by the rules is not named)."""
    readable = AccessPolicy.for_user(AnonymousUser()).readable_columns(layer)
    return [a for a in (layer.attributes or []) if a["name"] in readable]


def downloads(request, layer):
    """[(label, absolute URL, media type, format)] of the layer's API exports."""
    url = request.build_absolute_uri(reverse("api:layer-features", args=[layer.name]))
    return [(label, f"{url}?f={code}", media_type, dcat_format)
            for code, label, media_type, dcat_format in EXPORTS]


def service_urls(request, layer):
    """The WMS/WFS addresses a desktop GIS needs (QGIS: « Nouvelle connexion »)."""
    ows = request.build_absolute_uri(reverse("ows:ows"))
    return {
        "ows": ows,
        "wms_capabilities": f"{ows}?SERVICE=WMS&REQUEST=GetCapabilities",
        "wfs_capabilities": f"{ows}?SERVICE=WFS&REQUEST=GetCapabilities",
        "wms_layer": layer.name,
        "wfs_type": f"capgeo:{layer.name}",
    }
