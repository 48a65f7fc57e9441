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
from kpi.models import KpiSnapshot, PlannerScenario
from kpi.planning import BOUNDS

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


# --- the growth planner (SPEC §16) ------------------------------------------------------------


def _planner_field(name: str):
    bound = BOUNDS[name]
    kind = serializers.IntegerField if bound.integer else serializers.FloatField
    bounds = (
        {"min_value": int(bound.minimum), "max_value": int(bound.maximum)}
        if bound.integer
        else {"min_value": float(bound.minimum), "max_value": float(bound.maximum)}
    )
    return kind(required=False, help_text=f"{bound.label}. {bound.help}".strip(), **bounds)


class PlannerInputsSerializer(serializers.Serializer):
    """The inputs of SPEC §16; each one left out takes today's default (the last 12 complete
    months of the department's figures and the current goal). Rates are monthly shares in [0, 1];
    ``referrals_per_100`` is referral clients per 100 clients in the base per month."""

    base = _planner_field("base")
    churn_controllable = _planner_field("churn_controllable")
    churn_natural = _planner_field("churn_natural")
    referrals_per_100 = _planner_field("referrals_per_100")
    active_sales = _planner_field("active_sales")
    inbound = _planner_field("inbound")
    return_rate = _planner_field("return_rate")
    fee = _planner_field("fee")
    horizon = _planner_field("horizon")
    target = _planner_field("target")
    target_month = _planner_field("target_month")


class PlannerInputsOutSerializer(serializers.Serializer):
    base = serializers.FloatField()
    churn_controllable = serializers.FloatField(**_RATE)
    churn_natural = serializers.FloatField(**_RATE)
    referrals_per_100 = serializers.FloatField()
    active_sales = serializers.FloatField()
    inbound = serializers.FloatField()
    return_rate = serializers.FloatField(**_RATE)
    fee = serializers.FloatField()
    horizon = serializers.IntegerField()
    target = serializers.IntegerField()
    target_month = serializers.IntegerField()


class PlannerMonthSerializer(serializers.Serializer):
    month = MonthField()
    m = serializers.IntegerField(help_text="Months after the last complete month.")
    base = serializers.FloatField(help_text="B(m), clients at the month's end (fractions kept).")
    mrr = serializers.FloatField()
    new = serializers.FloatField()
    returned = serializers.FloatField()
    lost_controllable = serializers.FloatField()
    lost_natural = serializers.FloatField()
    plan = serializers.IntegerField(allow_null=True, help_text="The goal's plan line.")


class HiringRowSerializer(serializers.Serializer):
    month = MonthField()
    m = serializers.IntegerField()
    base = serializers.FloatField()
    needed = serializers.IntegerField(help_text="ceil(B(m) / capacity) client managers.")
    capacity = serializers.FloatField(help_text="Today's team in client-manager equivalents.")
    shortfall = serializers.IntegerField()
    hires = serializers.IntegerField(help_text="Hires that must start this month.")
    mentors_needed = serializers.IntegerField()
    mentors_missing = serializers.IntegerField()
    requests = serializers.FloatField(allow_null=True, help_text="Projected support requests.")


class HiringPlanSerializer(serializers.Serializer):
    hires_due = serializers.IntegerField(help_text="Hires whose hire-by month is now or past.")
    hires_late = serializers.IntegerField()
    first_shortfall = serializers.IntegerField(allow_null=True)
    rows = HiringRowSerializer(many=True)


class PlannerResultSerializer(serializers.Serializer):
    inputs = PlannerInputsOutSerializer()
    defaults = PlannerInputsOutSerializer(help_text="Today's rates, the inputs' defaults.")
    reached_month = MonthField(allow_null=True, help_text="Null: not within the horizon.")
    reached_in = serializers.IntegerField(allow_null=True, help_text="Months to the target.")
    required_referrals_per_100 = serializers.FloatField(
        allow_null=True, help_text="r reaching the target by target_month; null: unreachable."
    )
    required_referrals_month = serializers.FloatField(allow_null=True)
    months = PlannerMonthSerializer(many=True)
    hiring = HiringPlanSerializer()


class PlannerScenarioSerializer(serializers.ModelSerializer):
    inputs = PlannerInputsOutSerializer(read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = PlannerScenario
        fields = ["id", "name", "inputs", "created_by", "created_at"]
        read_only_fields = fields


class PlannerScenarioInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="Saving under a used name replaces it.")
    inputs = PlannerInputsSerializer(required=False)
