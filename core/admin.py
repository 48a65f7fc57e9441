"""Admin of the field history (RELIABILITY R24, R25): read-only, and only for the director."""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ReadOnlyMixin
from core.models import FieldChange, JobRun


@cache
def _models_by_table() -> dict:
    return {model._meta.db_table: model for model in apps.get_models()}


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "changed_at",
        "record",
        "row_id",
        "field_label",
        "old_value",
        "new_value",
        "actor",
        "source",
    )
    list_filter = ("source", "table_name", "field")
    list_select_related = ("actor",)
    date_hierarchy = "changed_at"
    fields = (
        "changed_at",
        "table_name",
        "row_id",
        "field",
        "old_value",
        "new_value",
        "actor",
        "source",
    )
    readonly_fields = fields

    # Who changed what is the director's to read (EspoCRM "Audit Permission"), whatever model
    # permissions a staff account was given.
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and getattr(request.user, "is_director", False)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.display(description=_("record"), ordering="table_name")
    def record(self, change: FieldChange) -> str:
        model = _models_by_table().get(change.table_name)
        return str(model._meta.verbose_name) if model else change.table_name

    @admin.display(description=_("field"), ordering="field")
    def field_label(self, change: FieldChange) -> str:
        model = _models_by_table().get(change.table_name)
        try:
            field = model._meta.get_field(change.field.removesuffix("_id"))
        except (AttributeError, FieldDoesNotExist):
            return change.field
        return str(field.verbose_name)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Which periodic jobs ran for which period, and how they ended: written by the jobs only."""

    list_display = ("job", "period", "outcome", "started_at", "finished_at")
    list_filter = ("job", "outcome")
    search_fields = ("period", "task_id")
