"""Administration of the reports (in French): report types with their fields, services, routing
rules, e-mail texts and Open311 applications. Reports themselves are processed in the service
pages (/signalements/traitement/); the admin shows them read-only with their audit trail."""
import secrets

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import (
    Category, CategoryField, MessageTemplate, Open311Client, Report, ReportEvent, ReportScope,
    RoutingRule, Service,
)


class CategoryFieldInline(admin.TabularInline):
    model = CategoryField
    extra = 0
    fields = ["order", "code", "label", "datatype", "required", "choices", "help_text"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "code", "scope", "default_service", "anonymous_allowed",
                    "duplicate_radius_m", "active"]
    list_filter = ["active", "scope", "parent"]
    search_fields = ["name", "code"]
    filter_horizontal = ["communes", "related"]
    inlines = [CategoryFieldInline]
    fieldsets = [
        (None, {"fields": ["name", "code", "parent", "description", "order", "active"]}),
        (_("Où le signaler"), {"fields": ["scope", "communes", "zone_layer"]}),
        (_("Traitement"), {"fields": ["default_service", "resolution_days", "anonymous_allowed",
                                      "duplicate_radius_m", "related"]}),
    ]

    def save_model(self, request, obj, form, change):
        if obj.scope == ReportScope.ZONE and not obj.zone_layer_id:
            raise ValidationError(_("Choisissez la couche de zones."))
        super().save_model(request, obj, form, change)
        if obj.zone_layer_id and not obj.zone_layer.access_rules.filter(
                audience="public").exists():
            messages.warning(request, _("La couche de zones n'est pas publique : le public ne "
                                        "pourra pas y signaler."))


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "commune", "email", "daily_digest", "active"]
    list_filter = ["active", "commune"]
    search_fields = ["name", "code", "email"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "category", "commune", "zone_layer", "service"]
    list_editable = ["service"]
    list_display_links = ["priority"]
    list_filter = ["service", "commune"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject"]


class EventInline(admin.TabularInline):
    model = ReportEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "kind", "public", "before", "after", "text"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["reference", "category", "commune", "service", "status", "created_at"]
    list_filter = ["status", "service", "category", "source"]
    date_hierarchy = "created_at"
    inlines = [EventInline]
    exclude = ["location"]
    readonly_fields = [f.name for f in Report._meta.fields if f.name != "location"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "active", "created_at"]
    readonly_fields = ["prefix", "created_at"]
    fields = ["name", "active", "prefix", "created_at"]

    def save_model(self, request, obj, form, change):
        if not obj.key_hash:
            key = "o311_" + secrets.token_urlsafe(24)
            obj.key_hash = Open311Client.hash(key)
            obj.prefix = key[:10]
            messages.success(request, _("Clé api_key à transmettre (affichée une seule fois) : "
                                        "%(key)s") % {"key": key})
        super().save_model(request, obj, form, change)
