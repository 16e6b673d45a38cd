"""Administration of saved maps, for GIS staff: title, audience, basemap, initial extent (drawn on
the offline map) and the layers, bottom to top, with their style, opacity and visibility."""
from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from territory.admin import OfflineMapAdmin
from layers.models import Audience

from .models import SavedMap, SavedMapLayer


class SavedMapForm(forms.ModelForm):
    # An ArrayField of choices would be a comma-separated text box: offer checkboxes instead.
    roles = forms.TypedMultipleChoiceField(
        label=_("Rôles"), choices=Role.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Pour « les utilisateurs ayant un rôle donné »."),
    )

    class Meta:
        model = SavedMap
        fields = ["title", "slug", "description", "audience", "communes", "roles", "basemap",
                  "extent"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("audience") == Audience.COMMUNES and not cleaned.get("communes"):
            self.add_error("communes", _("Choisissez au moins une commune."))
        return cleaned


class SavedMapLayerInline(admin.TabularInline):
    model = SavedMapLayer
    extra = 1
    fields = ["position", "layer", "layer_name", "style", "opacity", "visible"]
    readonly_fields = ["layer_name"]
    autocomplete_fields = ["layer"]
    ordering = ["position", "id"]


@admin.register(SavedMap)
class SavedMapAdmin(OfflineMapAdmin):
    form = SavedMapForm
    list_display = ["title", "slug", "audience", "layer_count", "updated_at", "open_link"]
    list_filter = ["audience"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["communes"]
    inlines = [SavedMapLayerInline]

    @admin.display(description=_("couches"))
    def layer_count(self, saved_map):
        return saved_map.map_layers.count()

    @admin.display(description=_("carte"))
    def open_link(self, saved_map):
        return format_html('<a href="{}">{}</a>', saved_map.get_absolute_url(), _("Ouvrir"))

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
