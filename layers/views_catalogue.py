"""Catalogue pages: the list of the layers a visitor may view, a layer's sheet (its thumbnail is
drawn by the map engine: maps.views).

Everything starts from the access policy: the list is ``policy.layers(VIEW)``, a sheet needs
``policy.source(name, VIEW)``, and a layer the visitor may not view is a 404.
"""
from django import forms
from django.contrib.gis.geos import Polygon
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .access import AccessPolicy, LayerNotFound
from .models import Permission, Theme
from .search import search_layers

PAGE_SIZE = 12
# The REST exports (layers.api); the catalogue only links to them.
FEATURES_URL = "/api/layers/{name}/features"
EXPORT_FORMATS = [("geojson", "GeoJSON"), ("csv", "CSV"), ("gpkg", "GeoPackage"),
                  ("shp", "Shapefile (zip)")]


def parse_bbox(value):
    """'minx,miny,maxx,maxy' in WGS 84 degrees -> a tuple of floats, or ValidationError."""
    parts = [part.strip() for part in value.split(",")]
    try:
        if len(parts) != 4:
            raise ValueError
        minx, miny, maxx, maxy = (float(part) for part in parts)
    except ValueError:
        raise forms.ValidationError(
            _("L'emprise s'écrit « ouest,sud,est,nord » en degrés décimaux "
              "(par exemple -2.5,47.25,-2.3,47.4).")) from None
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise forms.ValidationError(
            _("Emprise invalide : l'ouest doit être inférieur à l'est et le sud au nord, "
              "en longitude (−180 à 180) et latitude (−90 à 90)."))
    return (minx, miny, maxx, maxy)


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label=_("Rechercher"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _(
                            "titre, mot-clé, thème…")}))
    theme = forms.ChoiceField(label=_("Thème"), required=False)
    bbox = forms.CharField(label=_("Emprise (ouest,sud,est,nord en degrés)"), required=False,
                           max_length=120)

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [("", _("Tous les thèmes"))] + [
            (theme.slug, f"{theme.name} ({theme.visible_count})") for theme in themes
        ]
        self.fields["theme"].error_messages["invalid_choice"] = _(
            "Thème inconnu : « %(value)s ».")

    def clean_bbox(self):
        value = self.cleaned_data["bbox"].strip()
        return parse_bbox(value) if value else None


def bbox_polygon(bbox):
    """The WGS 84 box as a polygon, to compare with the layers' WGS 84 extents (measured on their
    data in WGS 84, overseas rows included: layers.extents)."""
    polygon = Polygon.from_bbox(bbox)
    polygon.srid = 4326
    return polygon


@require_GET
def catalogue(request):
    policy = AccessPolicy.for_user(request.user)
    visible = policy.layers(Permission.VIEW)
    themes = (Theme.objects.annotate(visible_count=Count("layers", filter=Q(layers__in=visible)))
              .filter(visible_count__gt=0))
    form = CatalogueFilterForm(request.GET or None, themes=themes)
    layers = visible.select_related("theme", "owner_commune")
    filters = {}
    if form.is_bound:
        form.is_valid()  # invalid fields are reported and ignored; the valid ones still apply
        filters = {name: value for name, value in getattr(form, "cleaned_data", {}).items()
                   if value and name not in form.errors}
    if filters.get("theme"):
        layers = layers.filter(theme__slug=filters["theme"])
    if filters.get("bbox"):
        layers = layers.filter(extent_wgs84__intersects=bbox_polygon(filters["bbox"]))
    if filters.get("q"):
        layers = search_layers(layers, filters["q"])
    page = Paginator(layers, PAGE_SIZE).get_page(request.GET.get("page"))
    for layer in page:  # a user restricted to some rows sees their count, not the layer's
        layer.visible_count = policy.summary(layer).count
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "layers/catalogue/list.html", {
        "form": form,
        "page": page,
        "filtered": bool(filters),
        "query_string": query.urlencode(),
        "bbox": filters.get("bbox"),
    })


def _visible_layer(request, name):
    policy = AccessPolicy.for_user(request.user)
    try:
        grant = policy.source(name, Permission.VIEW)
    except LayerNotFound:
        raise Http404(_("Couche introuvable.")) from None
    return policy, grant


@require_GET
def layer_detail(request, name):
    policy, grant = _visible_layer(request, name)
    layer = grant.layer
    permissions = policy.permissions(layer)
    downloads = []
    if Permission.DOWNLOAD in permissions and layer.is_vector:
        url = FEATURES_URL.format(name=layer.name)
        downloads = [(label, f"{url}?f={code}") for code, label in EXPORT_FORMATS]
    summary = policy.summary(layer)  # the rows this user may view, not the whole layer's
    extent_wgs84 = summary.boxes.get(4326)
    admin_url = None
    if request.user.is_staff and request.user.has_perm("layers.change_layer"):
        admin_url = reverse("admin:layers_layer_change", args=[layer.pk])
    return render(request, "layers/catalogue/detail.html", {
        "layer": layer,
        "permissions": [p for p in Permission if p in permissions],
        "restricted": grant.restricted,
        "downloads": downloads,
        "publications": layer.publications.select_related("published_by")[:5],
        "extent_wgs84": extent_wgs84,
        "feature_count": summary.count,
        "admin_url": admin_url,
        # Only the columns this user may read (hidden columns are not even named).
        "attributes": [a for a in (layer.attributes or []) if a["name"] in grant.readable_names()],
    })
