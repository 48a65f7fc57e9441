"""API shapes of the KPI snapshots and the director's summary (SPEC §4, §7).

Rates are JSON numbers (fractions in [0, 1]); money is a decimal string; months are ``YYYY-MM``.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.bounds import business_date_check
from kpi.models import KpiSnapshot

# Years 1900–2199: enough for contract history, and never a year a date cannot hold.
MONTH_PATTERN = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$"
MONTH_SCHEMA = {"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"}


def _bounded(value, field: str, **kwargs):
    """SPEC §10's date range (core.bounds) as this serializer's field error."""
    try:
        return business_date_check(value, field=field, **kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict[field]) from None


@extend_schema_field(MONTH_SCHEMA)
class MonthField(serializers.Field):
    """A calendar month as ``YYYY-MM``; internally the month's first day."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM.")}

    def to_internal_value(self, data) -> datetime.date:
        if not isinstance(data, str) or not re.fullmatch(MONTH_PATTERN, data):
            self.fail("invalid")
        year, month = data.split("-")
        return datetime.date(int(year), int(month), 1)

    def to_representation(self, value: datetime.date) -> str:
        return value.strftime("%Y-%m")


class KpiSnapshotSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)

    class Meta:
        model = KpiSnapshot
        fields = [
            "month",
            "scope",
            "scope_id",
            "base_start",
            "base_end",
            "new_clients",
            "new_referral",
            "new_active_sales",
            "new_inbound",
            "returned",
            "churned",
            "churned_natural",
            "transferred_in",
            "transferred_out",
            "churn_rate",
            "churn_rate_controllable",
            "annual_churn_rate",
            "annual_churn_rate_controllable",
            "cases_returned",
            "cases_declined",
            "return_rate",
            "return_rate_12m",
            "mrr_start",
            "mrr_end",
            "computed_at",
        ]
        read_only_fields = fields


class KpiSummaryQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Defaults to today.")

    def validate_as_of(self, value):
        return _bounded(value, "as_of")


_RATE = {"min_value": 0.0, "max_value": 1.0}


class GoalProgressSerializer(serializers.Serializer):
    target = serializers.IntegerField()
    target_on = serializers.DateField()
    start_clients = serializers.IntegerField()
    start_on = serializers.DateField()
    plan = serializers.IntegerField(help_text="Clients the plan line expects at the month's end.")
    progress = serializers.FloatField(help_text="base / target; above 1 once the target is passed.")


class KpiSummarySerializer(serializers.Serializer):
    as_of = serializers.DateField()
    month = MonthField(allow_null=True, help_text="The snapshot month the rates come from.")
    computed_at = serializers.DateTimeField(allow_null=True)
    base = serializers.IntegerField()
    mrr = serializers.DecimalField(max_digits=14, decimal_places=2)
    annual_churn_rate = serializers.FloatField(**_RATE)
    annual_churn_rate_controllable = serializers.FloatField(**_RATE)
    referrals_month = serializers.IntegerField()
    return_rate_12m = serializers.FloatField(**_RATE)
    goal = GoalProgressSerializer(allow_null=True)


class KpiRecomputeSerializer(serializers.Serializer):
    month_from = MonthField(required=False, help_text="Default: the first month with contracts.")
    month_to = MonthField(required=False, help_text="Default: the current month.")

    # The recompute runs as a background job: its service checks again, but the caller hears here.
    def validate_month_from(self, value):
        return _bounded(value, "month_from", not_after_today=True)

    def validate_month_to(self, value):
        return _bounded(value, "month_to", not_after_today=True)


class KpiRecomputeQueuedSerializer(serializers.Serializer):
    task_id = serializers.CharField()
