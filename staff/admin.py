from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import NoDeleteMixin, ReadOnlyMixin
from staff.models import RecoveryCode, Role, SecurityEvent, SecurityEventKind, User
from staff.security_events import security_event_on_commit

# Changes to these fields change what a person may do (RELIABILITY R26).
PRIVILEGE_FIELDS = ("role", "is_staff", "is_superuser", "is_active")


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = {
            field: [form.initial.get(field) if change else None, getattr(obj, field)]
            for field in PRIVILEGE_FIELDS
            if field in form.changed_data or (not change and field == "role")
        }
        if changed:
            security_event_on_commit(
                SecurityEventKind.ROLE_CHANGED,
                request=request,
                user=request.user,
                employee=obj.pk,
                changes=changed,
            )


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Read-only, for the director only: the rows are written by the application, never by hand."""

    list_display = ("created_at", "kind", "username", "actor", "ip_address", "method", "path")
    list_filter = ("kind",)
    search_fields = ("username", "ip_address", "path")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    readonly_fields = (
        "created_at",
        "kind",
        "actor",
        "username",
        "ip_address",
        "method",
        "path",
        "details",
    )

    def _is_director(self, request) -> bool:
        return request.user.is_active and request.user.role == Role.DIRECTOR

    def has_module_permission(self, request) -> bool:
        return self._is_director(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_director(request)


@admin.register(RecoveryCode)
class RecoveryCodeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Read-only, for the director only: which codes were issued and used, never their hashes.
    Codes are issued by their owner on the recovery codes page."""

    list_display = ("user", "created_at", "used_at", "revoked_at")
    list_filter = (
        ("used_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("user__username", "user__full_name")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    fields = ("user", "created_at", "used_at", "revoked_at")
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.role == Role.DIRECTOR

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)
