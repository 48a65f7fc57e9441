from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from crm.admin_mixins import NoDeleteMixin
from staff.models import User


@admin.register(User)
class UserAdmin(NoDeleteMixin, SimpleHistoryAdmin, DjangoUserAdmin):
    list_display = (
        "username",
        "full_name",
        "role",
        "mentor",
        "capacity",
        "ramp_until",
        "is_active",
        "dismissed_on",
    )
    list_filter = ("role", "is_active", "mentor", "is_staff")
    list_select_related = ("mentor",)
    search_fields = ("username", "full_name", "email", "phone")
    ordering = ("full_name",)
    autocomplete_fields = ("mentor",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "email", "phone")}),
        (
            _("Work"),
            {"fields": ("role", "mentor", "capacity", "hired_on", "ramp_until", "dismissed_on")},
        ),
        (
            _("Access"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "classes": ("collapse",),
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "full_name",
                    "email",
                    "role",
                    "mentor",
                    "capacity",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    # Dismissal goes through staff_dismiss, which hands every client over first (SPEC §3.6).
    readonly_fields = ("last_login", "date_joined", "dismissed_on")
