from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "get_full_name", "role", "commune", "is_active", "is_staff"]
    list_filter = ["role", "commune", "is_active", "is_staff"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("Rattachement"), {"fields": ("role", "commune")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        (_("Rattachement"), {"fields": ("role", "commune")}),
    )
