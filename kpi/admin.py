from django.contrib import admin

from core.admin_mixins import NoDeleteMixin, ReadOnlyMixin
from kpi.models import Goal, KpiSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Snapshots are recomputed from history (SPEC §4); editing one by hand would be overwritten."""

    list_display = (
        "month",
        "scope",
        "scope_id",
        "base_start",
        "base_end",
        "new_clients",
        "new_referral",
        "returned",
        "churned",
        "annual_churn_rate",
        "return_rate_12m",
        "computed_at",
    )
    list_filter = ("scope", "month")
    date_hierarchy = "month"


@admin.register(Goal)
class GoalAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        "start_on",
        "start_clients",
        "target_on",
        "target_clients",
        "created_by",
        "created_at",
    )
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)
