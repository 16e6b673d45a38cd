"""Administration of the SPANC vocabularies (editable data), periods, zone layers and devices.

Sync records (batches, changes, audit) are read-only here: they are evidence, not data to edit.
"""
from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from . import history, models, publication, zones
from .records import installation as installation_type


class VocabularyAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "order", "active"]
    list_editable = ["order", "active"]
    search_fields = ["label", "code"]


@admin.register(models.ControlKind)
class ControlKindAdmin(VocabularyAdmin):
    list_display = VocabularyAdmin.list_display + ["periodic", "is_sale"]


@admin.register(models.ComponentType)
class ComponentTypeAdmin(VocabularyAdmin):
    list_display = VocabularyAdmin.list_display + ["stage", "approved_device"]
    list_filter = ["stage"]


@admin.register(models.ChecklistItem)
class ChecklistItemAdmin(VocabularyAdmin):
    list_display = VocabularyAdmin.list_display + ["category"]
    list_filter = ["category", "control_kinds"]
    filter_horizontal = ["control_kinds"]


@admin.register(models.WorksDeadline)
class WorksDeadlineAdmin(VocabularyAdmin):
    list_display = VocabularyAdmin.list_display + ["years", "years_after_sale",
                                                   "as_soon_as_possible"]


@admin.register(models.Conclusion)
class ConclusionAdmin(VocabularyAdmin):
    list_display = VocabularyAdmin.list_display + ["compliant", "works_deadline", "color"]


@admin.register(models.GridRule)
class GridRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "zone", "conclusion"]
    list_editable = ["conclusion"]
    list_filter = ["zone"]


@admin.register(models.CommunePeriod)
class CommunePeriodAdmin(admin.ModelAdmin):
    list_display = ["commune", "years", "years_non_compliant"]


@admin.register(models.ZoneLayer)
class ZoneLayerAdmin(admin.ModelAdmin):
    list_display = ["layer", "kind"]


class ComponentInline(admin.TabularInline):
    model = models.Component
    extra = 0


@admin.register(models.Installation)
class InstallationAdmin(GISModelAdmin):
    list_display = ["address", "commune", "capacity_eh", "sanitary_zone", "environmental_zone",
                    "version"]
    list_filter = ["commune", "sanitary_zone", "environmental_zone"]
    search_fields = ["address", "owner_name", "parcels"]
    readonly_fields = ["uuid", "version", "sanitary_zone", "environmental_zone",
                       "zones_computed_at"]
    inlines = [ComponentInline]

    def save_model(self, request, obj, form, change):
        zones.compute_zones(obj)
        if change:
            obj.version += 1  # devices holding the former version must see a conflict
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        publication.publish({installation_type.LAYER.name: [form.instance.pk]})
        publication.refresh_metadata()
        # Devices learn of the edit at their next pull, and the audit trail names its author.
        history.record(request.user, "installation.admin_edit", "installation",
                       form.instance.uuid, form.instance.version)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Control)
class ControlAdmin(ReadOnlyAdmin):
    list_display = ["installation", "kind", "status", "inspector", "visit_date", "conclusion",
                    "version"]
    list_filter = ["status", "kind", "conclusion"]


@admin.register(models.Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "active", "registered_at", "last_seen_at"]
    list_filter = ["active"]
    readonly_fields = ["id", "user", "registered_at", "last_seen_at"]


@admin.register(models.SyncBatch)
class SyncBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "device", "received_at", "processed_at"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "device", "action", "entity", "entity_uuid", "version"]
    list_filter = ["action", "entity"]
