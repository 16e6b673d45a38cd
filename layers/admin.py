"""Administration of the catalogue, for GIS staff: themes, layers and their access rules.

Layers are created by publishing data (their table comes with them), not here; deleting one drops
its tables (layers.signals). Computed metadata (geometry type, count, extent, attributes) is shown
read-only: it is refreshed from the data at each publication.
"""
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Role
from territory.admin import OfflineMapAdmin
from territory.offline_map_widget import OfflineMapWidget

from .models import (
    AccessRule, Audience, ImportJob, Layer, Publication, RemoteLayer, RemoteService,
    RowRestriction, Theme,
)
from .remote.capabilities import read_capabilities, sync_service
from .remote.fetch import RemoteError
from .remote.publish import publish, refresh_service
from .search import search_query
from .tables import refresh_layer_metadata

INSEE_RESTRICTION_NEEDS_FIELD = _("La restriction par code INSEE demande de renseigner le champ du "
                                  "code INSEE de la couche.")


class ReadOnlyOfflineMapWidget(OfflineMapWidget):
    """The offline map, without drawing tools: for computed geometries such as an extent."""
    template_name = "layers/catalogue/admin_extent_map.html"


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "inspire_theme", "layer_count"]
    list_editable = ["order"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(layer_count=Count("layers"))

    @admin.display(description=_("couches"), ordering="layer_count")
    def layer_count(self, theme):
        return theme.layer_count


class AccessRuleForm(forms.ModelForm):
    # An ArrayField of choices would be a comma-separated text box: offer checkboxes instead.
    roles = forms.TypedMultipleChoiceField(
        label=_("Rôles"), choices=Role.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Pour « les utilisateurs ayant un rôle donné »."),
    )

    class Meta:
        model = AccessRule
        fields = ["audience", "communes", "roles", "permission", "row_restriction"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("audience") == Audience.COMMUNES and not cleaned.get("communes"):
            self.add_error("communes", _("Choisissez au moins une commune."))
        return cleaned


class AccessRuleFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        # AccessRule.clean() only checks the INSEE field of a saved layer; check it here against
        # the layer as submitted, so a new field value (or a new layer) is taken into account.
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            if form.cleaned_data.get("row_restriction") == RowRestriction.COMMUNE_INSEE \
                    and not self.instance.insee_field \
                    and INSEE_RESTRICTION_NEEDS_FIELD not in form.non_field_errors():
                form.add_error("row_restriction", INSEE_RESTRICTION_NEEDS_FIELD)


class AccessRuleInline(admin.StackedInline):
    model = AccessRule
    form = AccessRuleForm
    formset = AccessRuleFormSet
    extra = 0
    filter_horizontal = ["communes"]
    fields = [("audience", "permission", "row_restriction"), "communes", "roles"]
    verbose_name = _("règle d'accès")
    verbose_name_plural = _("règles d'accès (qui peut consulter, télécharger, modifier)")


class PublicationInline(admin.TabularInline):
    model = Publication
    fk_name = "layer"
    fields = readonly_fields = ["version", "published_at", "mode", "published_by",
                                "feature_count", "source_name"]
    ordering = ["-version"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("publications (historique des versions)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Layer)
class LayerAdmin(OfflineMapAdmin):
    list_display = ["title", "name", "theme", "owner_display", "kind", "feature_count",
                    "geometry_type", "updated_at"]
    list_filter = ["theme", "kind", "geometry_type", "licence", "usage", "owner_commune"]
    search_fields = ["name", "title", "abstract"]
    list_select_related = ["theme", "owner_commune"]
    inlines = [AccessRuleInline, PublicationInline]
    actions = ["refresh_metadata"]  # and the map engine's "refresh_thumbnails" (maps.admin)
    readonly_fields = ["geometry_type", "feature_count", "attributes_table", "data_updated_at",
                       "thumbnail_preview", "created_at", "updated_at", "created_by", "uuid"]
    fieldsets = [
        (_("Description"), {"fields": [
            "name", "title", "abstract", "keywords", "theme", "owner_commune", "licence",
            "attribution", "update_frequency", "lineage",
        ]}),
        # ISO 19115 / INSPIRE discovery metadata: metadata.iso19139 writes them in the layer's
        # record (CSW /csw, GeoDCAT-AP); docs/metadonnees.md says what each portal reads.
        (_("Métadonnées pour les catalogues (ISO 19115, INSPIRE)"), {"fields": [
            "uuid", ("inspire_theme", "topic_category"), ("contact_organisation", "contact_email"),
            ("scale_denominator", "conformity"), ("temporal_start", "temporal_end"),
        ]}),
        (_("Usage"), {"fields": [
            "kind", "usage", "queryable", ("searchable", "search_fields"), "cacheable",
            "insee_field",
        ]}),
        (_("Calculé à partir des données (lecture seule)"), {"fields": [
            ("geometry_type", "feature_count", "data_updated_at"), "extent", "attributes_table",
            "thumbnail_preview", ("created_at", "created_by", "updated_at"),
        ]}),
    ]

    def has_add_permission(self, request):
        return False  # a layer comes with its table: it is created by publishing data

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["name", "kind"]  # the table, URLs and services are named after it
        return fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "extent":
            field = db_field.formfield(widget=ReadOnlyOfflineMapWidget(), required=False)
            field.disabled = True
            return field
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        query = search_query(search_term)
        if query is not None:  # also the unaccented full-text search of the catalogue page
            queryset |= self.model.objects.filter(search_vector=query)
        return queryset, may_have_duplicates

    @admin.display(description=_("propriétaire"), ordering="owner_commune__name")
    def owner_display(self, layer):
        return layer.owner_commune.name if layer.owner_commune else _("intercommunalité")

    @admin.display(description=_("attributs"))
    def attributes_table(self, layer):
        if not layer.attributes:
            return "—"
        rows = format_html_join(
            "", "<tr><td><code>{}</code></td><td>{}</td></tr>",
            ((attribute.get("name", ""), attribute.get("type", "")) for attribute in layer.attributes),
        )
        return format_html(
            '<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            _("nom"), _("type"), rows,
        )

    @admin.display(description=_("vignette"))
    def thumbnail_preview(self, layer):
        if not layer.pk or not layer.is_vector:
            return "—"
        return format_html('<img src="{}" width="128" height="128" alt="">',
                           reverse("maps:layer_thumbnail", args=[layer.name]))

    @admin.action(description=_("Recalculer les métadonnées depuis les données"))
    def refresh_metadata(self, request, queryset):
        done = 0
        for layer in queryset.filter(kind=Layer.Kind.VECTOR):
            refresh_layer_metadata(layer)
            done += 1
        self.message_user(request, ngettext("%(n)d couche recalculée.", "%(n)d couches recalculées.",
                                            done) % {"n": done}, messages.SUCCESS)



class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the platform itself: GIS staff read them, never change them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["layer", "version", "mode", "published_at", "published_by", "feature_count",
                    "source_name"]
    list_filter = ["mode", "layer__theme"]
    search_fields = ["layer__name", "layer__title", "source_name"]
    list_select_related = ["layer", "published_by"]
    date_hierarchy = "published_at"


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["layer_name", "status", "progress", "source_name", "created_by", "created_at",
                    "finished_at"]
    list_filter = ["status"]
    search_fields = ["layer_name", "source_name", "message"]
    list_select_related = ["created_by"]


class RemoteLayerInline(admin.TabularInline):
    model = RemoteLayer
    fields = readonly_fields = ["identifier", "title", "published_as"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # remote layers come from the capabilities

    @admin.display(description=_("dans le catalogue"))
    def published_as(self, remote_layer):
        layer = Layer.objects.filter(remote_layer=remote_layer).first()
        if layer is None:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:layers_layer_change", args=[layer.pk]), layer.name)


class RemoteServiceAddForm(forms.ModelForm):
    """URL + protocol; the capabilities are read when the form is validated, so an unreachable or
    invalid service is reported on the form and nothing is saved."""

    class Meta:
        model = RemoteService
        fields = ["url", "protocol", "title"]
        help_texts = {"title": _("Vide : le titre annoncé par le service.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["url"].help_text = _(
            "Adresse du service (WMS, WFS) ou de son document de capacités WMTS, par exemple "
            "https://data.geopf.fr/wms-r/wms. Les paramètres SERVICE, REQUEST et VERSION sont "
            "ajoutés automatiquement.")
        self.description = None

    def validate_unique(self):
        pass  # checked in clean() against the URL as it will be stored

    def clean(self):
        cleaned = super().clean()
        url, protocol = cleaned.get("url"), cleaned.get("protocol")
        if not url or not protocol:
            return cleaned
        try:
            self.description = read_capabilities(url, protocol)
        except RemoteError as error:
            raise forms.ValidationError(error.message) from None
        if RemoteService.objects.filter(url=self.description.url, protocol=protocol).exists():
            raise forms.ValidationError(_("Ce service est déjà enregistré : relisez ses capacités "
                                          "depuis la liste des services distants."))
        return cleaned


@admin.register(RemoteService)
class RemoteServiceAdmin(admin.ModelAdmin):
    list_display = ["title", "protocol", "url", "provider", "layer_count", "capabilities_checked_at"]
    list_filter = ["protocol"]
    search_fields = ["title", "url", "provider"]
    inlines = [RemoteLayerInline]
    actions = ["refresh_capabilities", "choose_layers"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["url", "protocol", "version", "provider", "capabilities_checked_at",
                       "publish_link"]
    fields = ["title", "url", "protocol", "version", "abstract", "provider",
              "capabilities_checked_at", "publish_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(remote_layer_count=Count("layers"))

    @admin.display(description=_("couches"), ordering="remote_layer_count")
    def layer_count(self, service):
        return service.remote_layer_count

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RemoteServiceAddForm
            kwargs["fields"] = ["url", "protocol", "title"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["url", "protocol", "title"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        description = form.description
        obj.url = description.url
        obj.title = obj.title or description.title
        obj.created_by = request.user
        sync_service(obj, description)

    def response_add(self, request, obj, post_url_continue=None):
        count = obj.layers.count()
        self.message_user(request, ngettext(
            "Capacités lues : %(n)d couche disponible. Choisissez celles à publier dans le "
            "catalogue.", "Capacités lues : %(n)d couches disponibles. Choisissez celles à publier "
            "dans le catalogue.", count) % {"n": count}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:layers_remoteservice_publish", args=[obj.pk]))

    @admin.display(description=_("catalogue"))
    def publish_link(self, service):
        if not service.pk:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:layers_remoteservice_publish", args=[service.pk]),
                           _("Publier des couches dans le catalogue"))

    def get_urls(self):
        return [path("<int:service_id>/publier/",
                     self.admin_site.admin_view(self.publish_view),
                     name="layers_remoteservice_publish"), *super().get_urls()]

    @admin.action(description=_("Relire les capacités (métadonnées mises à jour)"))
    def refresh_capabilities(self, request, queryset):
        for service in queryset:
            try:
                created, updated, absent = refresh_service(service)
            except RemoteError as error:
                self.message_user(request, _("%(service)s : %(error)s")
                                  % {"service": service.title, "error": error.message},
                                  messages.ERROR)
                continue
            message = _("%(service)s : %(updated)d couche(s) mise(s) à jour, %(created)d "
                        "nouvelle(s)") % {"service": service.title, "updated": len(updated),
                                          "created": len(created)}
            if absent:
                message += _(" ; plus annoncée(s) par le service : %(names)s") % {
                    "names": ", ".join(absent)}
            self.message_user(request, message + ".", messages.SUCCESS)

    @admin.action(description=_("Publier des couches dans le catalogue"))
    def choose_layers(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choisissez un seul service."), messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:layers_remoteservice_publish",
                                            args=[queryset.get().pk]))

    def publish_view(self, request, service_id):
        service = get_object_or_404(RemoteService, pk=service_id)
        if not self.has_change_permission(request, service) \
                or not request.user.has_perm("layers.change_layer"):
            raise PermissionDenied
        form = RemoteLayerPublishForm(service, request.POST or None)
        if request.method == "POST" and form.is_valid():
            published = [publish(remote_layer, usage=form.cleaned_data["usage"],
                                 theme=form.cleaned_data["theme"],
                                 audience=form.cleaned_data["audience"], user=request.user)
                         for remote_layer in form.cleaned_data["layers"]]
            self.message_user(request, ngettext(
                "%(n)d couche publiée dans le catalogue : %(names)s. Réglez ses droits d'accès "
                "dans sa fiche.", "%(n)d couches publiées dans le catalogue : %(names)s. Réglez "
                "leurs droits d'accès dans leur fiche.", len(published))
                % {"n": len(published), "names": ", ".join(layer.name for layer in published)},
                messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:layers_layer_changelist") + "?kind__exact=remote")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": _("Publier des couches de « %(service)s »") % {"service": service.title},
            "service": service, "form": form, "media": self.media + form.media,
            "published": Layer.objects.filter(remote_layer__service=service).order_by("name"),
        }
        return TemplateResponse(request, "admin/layers/remoteservice/publish.html", context)


class RemoteLayerChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, remote_layer):
        return f"{remote_layer.title} ({remote_layer.identifier})"


class RemoteLayerPublishForm(forms.Form):
    layers = RemoteLayerChoices(queryset=RemoteLayer.objects.none(),
                                widget=forms.CheckboxSelectMultiple, label=_("Couches à publier"))
    usage = forms.ChoiceField(label=_("Usage"), choices=Layer.Usage.choices,
                              initial=Layer.Usage.OVERLAY)
    theme = forms.ModelChoiceField(label=_("Thème"), queryset=Theme.objects.all(), required=False)
    audience = forms.ChoiceField(label=_("Consultation"), initial="admins", choices=[
        ("admins", _("administrateurs SIG seulement (règles à ajouter ensuite)")),
        ("authenticated", _("tout utilisateur connecté")),
        ("public", _("tout le monde, y compris le public anonyme")),
    ])

    def __init__(self, service, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layers"].queryset = service.layers.filter(
            catalogue_layer__isnull=True).order_by("title")


@admin.register(RemoteLayer)
class RemoteLayerAdmin(admin.ModelAdmin):
    list_display = ["title", "identifier", "service"]
    list_filter = ["service"]
    search_fields = ["title", "identifier", "service__title"]
    readonly_fields = ["service", "identifier", "crs", "formats", "styles", "wgs84_bbox",
                       "metadata"]

    def has_add_permission(self, request):
        return False  # read from the service's capabilities


# The style administration (French form, SLD import and export) lives in its own module; importing
# it here registers it when Django discovers the admin modules.
from . import admin_styles  # noqa: E402,F401
