"""Admin of lost-client cases: read-only, because every step of the return workflow (claim, free
month, return, decline) is a service with its own rules (SPEC §3.3)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import ReadOnlyMixin
from retention.models import LostCase


@admin.register(LostCase)
class LostCaseAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = (
        "client",
        "lost_on",
        "lost_by",
        "reason",
        "lost_fee",
        "status",
        "return_manager",
        "new_manager",
        "closed_on",
    )
    list_filter = ("status", "reason", "return_manager")
    list_select_related = ("client", "lost_by", "return_manager", "new_manager")
    search_fields = ("client__name", "client__inn")
    raw_id_fields = ("client", "lost_by", "return_manager", "new_manager", "free_month_contract")
    date_hierarchy = "lost_on"
