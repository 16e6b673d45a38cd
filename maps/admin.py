"""The catalogue's administration, with the map engine's parts: draw thumbnails again (layers),
the map of the rows a user gets (« Ce que voit un utilisateur »)."""
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from layers.admin import AccessRuleAdmin as CatalogueAccessRuleAdmin
from layers.admin import LayerAdmin as CatalogueLayerAdmin
from layers.models import AccessRule, Layer

from .errors import MapError

admin.site.unregister(Layer)
admin.site.unregister(AccessRule)


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


@admin.register(AccessRule)
class AccessRuleAdmin(CatalogueAccessRuleAdmin):
    effective_map_url = "layers_accessrule_effective_map"

    def get_urls(self):
        return [path("ce-que-voit/<slug:name>/carte.png",
                     self.admin_site.admin_view(self.effective_map),
                     name="layers_accessrule_effective_map"), *super().get_urls()]

    def effective_map(self, request, name):
        """The PNG of the rows the chosen user gets on the layer: his ServedLayer (the access
        policy's feature source and the style as he sees it), drawn by the map engine."""
        from layers.access_log import record_read

        from . import catalogue
        from .renderer import drawn_attributes
        from .thumbnails import rights_map_png  # Mapnik loads with the first drawing

        target, _query, error = self.effective_target(request)
        if target is None:
            raise Http404(error or _("Choisissez un utilisateur."))
        try:
            served = catalogue.resolve(target, [name], [""])[0]
        except MapError:
            raise Http404(_("Il ne voit pas cette couche.")) from None
        if not served.layer.is_vector:
            raise Http404(_("Pas de carte pour une couche distante."))
        png = rights_map_png(served)
        source = served.grant
        personal = set(drawn_attributes(source, served.resolved_style())) & \
            set(source.personal_columns or ())
        if personal:  # the administrator saw the owners' classes: his read
            record_read(request.user, served.layer.name, sorted(personal))
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response
