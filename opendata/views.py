"""The open-data portal: the public datasets (datasets.public_datasets), their sheets with
downloads and service addresses, and a DCAT-AP feed for harvesters (data.gouv.fr)."""
from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from layers.models import Theme
from layers.search import search_layers

from . import dcat
from .datasets import public_attributes, downloads, public_datasets, service_urls

PAGE_SIZE = 24


class PortalFilterForm(forms.Form):
    q = forms.CharField(label=_("Rechercher"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _(
                            "titre, mot-clé, thème…")}))
    theme = forms.ChoiceField(label=_("Thème"), required=False)

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [("", _("Tous les thèmes"))] + [
            (theme.slug, f"{theme.name} ({theme.dataset_count})") for theme in themes]
        self.fields["theme"].error_messages["invalid_choice"] = _(
            "Thème inconnu : « %(value)s ».")

    def clean_q(self):
        return self.cleaned_data["q"].replace("\x00", "").strip()


def _public(response, request=None):
    """The data are the same for everyone (anonymous rights only): shared caches may keep them
    briefly. A page shown to a signed-in user also carries their name and CSRF token (header,
    forms): private then."""
    if request is not None and request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=0)
    else:
        patch_cache_control(response, public=True, max_age=300)
    return response


@require_GET
def portal(request):
    datasets = public_datasets()
    themes = (Theme.objects.annotate(dataset_count=Count("layers", filter=Q(layers__in=datasets)))
              .filter(dataset_count__gt=0))
    form = PortalFilterForm(request.GET or None, themes=themes)
    filters = {}
    if form.is_bound:
        form.is_valid()  # invalid fields are reported and ignored; the valid ones apply
        filters = {name: value for name, value in getattr(form, "cleaned_data", {}).items()
                   if value and name not in form.errors}
    selected = datasets
    if filters.get("theme"):
        selected = selected.filter(theme__slug=filters["theme"])
    if filters.get("q"):
        selected = search_layers(selected, filters["q"][:200])
    else:
        selected = selected.order_by("theme__order", "title", "name")
    page = Paginator(selected, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    response = render(request, "opendata/list.html", {
        "form": form, "page": page, "filtered": bool(filters), "query_string": query.urlencode(),
        "total": datasets.count(),
    })
    return _public(response, request)


@require_GET
def dataset(request, name):
    layer = public_datasets().filter(name=name).first()
    if layer is None:
        # Unknown, or not published as open data: the same answer.
        raise Http404(_("Jeu de données introuvable."))
    extent = layer.extent_wgs84.extent if layer.extent_wgs84 else None  # layers.extents
    response = render(request, "opendata/detail.html", {
        "layer": layer, "downloads": downloads(request, layer),
        "attributes": public_attributes(layer),
        "services": service_urls(request, layer), "extent_wgs84": extent,
    })
    return _public(response, request)


def _feed(request, url_name):
    """The feed's page asked (?page=), or Http404 for a page it does not have."""
    layers = public_datasets().order_by("name")
    page = dcat.page_number(request, layers.count())
    if page is None:
        raise Http404(_("Page inconnue du catalogue."))
    return dcat.catalogue(request, layers, url_name, page)


@require_GET
def dcat_catalogue(request):
    response = JsonResponse(_feed(request, "opendata:dcat"),
                            json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Type"] = "application/ld+json; charset=utf-8"
    return _public(response)


@require_GET
def dcat_rdf(request):
    response = HttpResponse(dcat.rdf_xml(_feed(request, "opendata:dcat-rdf")),
                            content_type="application/rdf+xml; charset=utf-8")
    return _public(response)


@require_GET
def dcat_turtle(request):
    response = HttpResponse(dcat.turtle(_feed(request, "opendata:dcat-ttl")),
                            content_type="text/turtle; charset=utf-8")
    return _public(response)
