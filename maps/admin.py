"""The catalogue's layer administration, with the map engine's action: draw thumbnails again."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from layers.admin import LayerAdmin as CatalogueLayerAdmin
from layers.models import Layer

admin.site.unregister(Layer)


@admin.register(Layer)
class LayerAdmin(CatalogueLayerAdmin):
    actions = [*CatalogueLayerAdmin.actions, "refresh_thumbnails"]

    @admin.action(description=_("Regénérer les vignettes"))
    def refresh_thumbnails(self, request, queryset):
        from .thumbnails import render_thumbnail  # Mapnik loads with the first drawing

        done = 0
        for layer in queryset.filter(kind=Layer.Kind.VECTOR):
            render_thumbnail(layer)
            done += 1
        self.message_user(request, ngettext("%(n)d vignette regénérée.", "%(n)d vignettes regénérées.",
                                            done) % {"n": done}, messages.SUCCESS)
