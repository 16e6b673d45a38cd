"""Administration of the catalogue, for GIS staff: themes, layers and their access rules.

Layers are created by publishing data (their table comes with them), not here; deleting one drops
its tables (layers.signals). Computed metadata (geometry type, count, extent, attributes) is shown
read-only: it is refreshed from the data at each publication.
"""
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from capgeo.accounts.models import Role
from capgeo.territory.admin import OfflineMapAdmin
from capgeo.widgets import OfflineMapWidget

from .models import (
    AccessRule, Audience, ImportJob, Layer, Publication, RemoteLayer, RemoteService,
    RowRestriction, Theme,
)
from .search import search_query
from .tables import refresh_layer_metadata

INSEE_RESTRICTION_NEEDS_FIELD = _("La restriction par code INSEE demande de renseigner le champ du "
                                  "code INSEE de la couche.")


class ReadOnlyOfflineMapWidget(OfflineMapWidget):
    """The offline map, without drawing tools: for computed geometries such as an extent."""
    template_name = "layers/catalogue/admin_extent_map.html"


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "layer_count"]
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
    actions = ["refresh_metadata", "refresh_thumbnails"]
    readonly_fields = ["geometry_type", "feature_count", "attributes_table", "data_updated_at",
                       "thumbnail_preview", "created_at", "updated_at", "created_by"]
    fieldsets = [
        (_("Description"), {"fields": [
            "name", "title", "abstract", "keywords", "theme", "owner_commune", "licence",
            "attribution", "update_frequency", "lineage",
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
                           reverse("catalogue:thumbnail", args=[layer.name]))

    @admin.action(description=_("Recalculer les métadonnées depuis les données"))
    def refresh_metadata(self, request, queryset):
        done = 0
        for layer in queryset.filter(kind=Layer.Kind.VECTOR):
            refresh_layer_metadata(layer)
            done += 1
        self.message_user(request, ngettext("%(n)d couche recalculée.", "%(n)d couches recalculées.",
                                            done) % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Regénérer les vignettes"))
    def refresh_thumbnails(self, request, queryset):
        from .thumbnails import render_thumbnail

        done = 0
        for layer in queryset.filter(kind=Layer.Kind.VECTOR):
            render_thumbnail(layer)
            done += 1
        self.message_user(request, ngettext("%(n)d vignette regénérée.", "%(n)d vignettes regénérées.",
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
    fields = ["identifier", "title"]
    extra = 0


@admin.register(RemoteService)
class RemoteServiceAdmin(admin.ModelAdmin):
    list_display = ["title", "protocol", "url", "provider", "capabilities_checked_at"]
    list_filter = ["protocol"]
    search_fields = ["title", "url", "provider"]
    inlines = [RemoteLayerInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(RemoteLayer)
class RemoteLayerAdmin(admin.ModelAdmin):
    list_display = ["title", "identifier", "service"]
    list_filter = ["service"]
    search_fields = ["title", "identifier", "service__title"]
