"""Admin of the clients app. Workflow fields (status, current manager, contract dates and fees,
assignment history) are read-only here: they change only through the services, which keep the
assignment history, the lost-case rules and the audit reason consistent."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clients.models import (
    Client,
    ClientAssignment,
    ClientRequest,
    Contact,
    Contract,
    Interaction,
    Referral,
    Task,
)
from core.admin_mixins import NoDeleteMixin, ReadOnlyMixin


class ContactInline(NoDeleteMixin, admin.TabularInline):
    model = Contact
    extra = 0
    can_delete = False
    fields = ("name", "position", "phone", "email", "is_decision_maker")


class ContractInline(ReadOnlyMixin, admin.TabularInline):
    model = Contract
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("number", "kind", "starts_on", "ends_on", "monthly_fee", "termination_reason")
    readonly_fields = fields


class AssignmentInline(ReadOnlyMixin, admin.TabularInline):
    model = ClientAssignment
    fk_name = "client"
    extra = 0
    can_delete = False
    fields = ("manager", "starts_on", "ends_on", "reason", "created_by")
    readonly_fields = fields


@admin.register(Client)
class ClientAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = (
        "name",
        "inn",
        "kind",
        "city",
        "status",
        "manager",
        "acquisition_channel",
        "created_at",
    )
    list_filter = ("status", "kind", "acquisition_channel", "region", "manager")
    list_select_related = ("manager",)
    search_fields = ("name", "inn", "city")
    raw_id_fields = ("parent", "referred_by")
    readonly_fields = ("status", "manager", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = (ContactInline, ContractInline, AssignmentInline)
    fieldsets = (
        (None, {"fields": ("name", "inn", "kpp", "kind", "region", "city")}),
        (None, {"fields": ("acquisition_channel", "referred_by", "parent")}),
        (None, {"fields": ("status", "manager", "created_at", "updated_at")}),
    )

    def has_add_permission(self, request) -> bool:
        # A client is created by client_create, which also opens its first assignment.
        return False


@admin.register(Contract)
class ContractAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = (
        "number",
        "client",
        "kind",
        "starts_on",
        "ends_on",
        "monthly_fee",
        "termination_reason",
    )
    list_filter = ("kind", "termination_reason", "starts_on")
    list_select_related = ("client",)
    search_fields = ("number", "client__name", "client__inn")
    raw_id_fields = ("client",)
    readonly_fields = (
        "client",
        "kind",
        "starts_on",
        "ends_on",
        "monthly_fee",
        "termination_reason",
        "created_at",
    )
    date_hierarchy = "starts_on"

    def has_add_permission(self, request) -> bool:
        # Contracts are opened, re-priced and terminated by the retention services only.
        return False


@admin.register(ClientAssignment)
class ClientAssignmentAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = ("client", "manager", "starts_on", "ends_on", "reason", "created_by")
    list_filter = ("reason", "manager")
    list_select_related = ("client", "manager", "created_by")
    search_fields = ("client__name", "client__inn", "manager__full_name")
    raw_id_fields = ("client", "manager", "created_by")


@admin.register(Interaction)
class InteractionAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "client", "staff", "kind", "outcome", "duration_min")
    list_filter = ("kind", "outcome", "staff")
    list_select_related = ("client", "staff")
    search_fields = ("client__name", "client__inn", "summary")
    raw_id_fields = ("client", "staff")
    date_hierarchy = "occurred_at"


@admin.register(ClientRequest)
class ClientRequestAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("topic", "client", "urgency", "status", "opened_at", "due_at", "logged_by")
    list_filter = ("status", "urgency")
    list_select_related = ("client", "logged_by")
    search_fields = ("topic", "client__name", "client__inn")
    raw_id_fields = ("client", "logged_by", "refusal_requested_by", "refusal_approved_by")
    readonly_fields = (
        "status",
        "due_at",
        "resolved_at",
        "refusal_requested_by",
        "refusal_approved_by",
    )
    date_hierarchy = "opened_at"

    def has_add_permission(self, request) -> bool:
        # The due time comes from the SLA, set by the request service.
        return False


@admin.register(Referral)
class ReferralAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("organisation", "inn", "referrer", "status", "recorded_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("referrer", "recorded_by")
    search_fields = ("organisation", "inn", "referrer__name", "referrer__inn")
    raw_id_fields = ("referrer", "recorded_by", "client")


@admin.register(Task)
class TaskAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("__str__", "kind", "assignee", "client", "due_on", "done_at", "created_by")
    list_filter = ("kind", ("done_at", admin.EmptyFieldListFilter), "assignee")
    list_select_related = ("assignee", "client", "created_by")
    search_fields = ("title", "client__name", "client__inn", "assignee__full_name")
    raw_id_fields = ("assignee", "client", "created_by")
    date_hierarchy = "due_on"
