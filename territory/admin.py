from django.contrib.gis import admin
from django.utils.translation import gettext_lazy as _

from .offline_map_widget import OfflineMapWidget

from .models import Commune, Intercommunality, TownHall


class OfflineMapAdmin(admin.GISModelAdmin):
    gis_widget = OfflineMapWidget


@admin.register(Intercommunality)
class IntercommunalityAdmin(admin.ModelAdmin):
    list_display = ["name", "siren", "attribution"]


@admin.register(Commune)
class CommuneAdmin(OfflineMapAdmin):
    list_display = ["name", "insee", "department", "population", "area_display"]
    list_filter = ["department"]
    search_fields = ["name", "insee"]
    ordering = ["name"]

    @admin.display(description=_("superficie (km²)"))
    def area_display(self, commune):
        return f"{commune.area_km2:.1f}" if commune.geom else "—"


@admin.register(TownHall)
class TownHallAdmin(OfflineMapAdmin):
    list_display = ["commune", "address", "phone"]
    search_fields = ["commune__name", "address"]
