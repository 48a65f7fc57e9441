"""A hand-made year of department figures for the growth planner's tests (SPEC §16)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from core.dates import ONE_DAY, add_months, month_start
from kpi.models import Goal, KpiSnapshot, Scope


def department_year(director, *, referrals: int = 20) -> None:
    """The 12 complete months before this one: 1,000 clients at every start and end; churn 1.5 %
    controllable and 0.5 % natural; ``referrals`` referral clients a month (20: 2 per 100), 5
    active sales and 5 inbound; 6 closed cases won back and 4 declined each month (60 %); MRR
    9,000,000 ₽ (9,000 ₽ a client). The month before them and this month (in progress) have wild
    figures that must not count. The goal: 4,000 clients by the end of month 37 (counting from
    the last complete month as 0)."""
    this_month = month_start(timezone.localdate())
    now = timezone.now()
    for offset in range(1, 13):
        KpiSnapshot.objects.create(
            month=add_months(this_month, -offset),
            scope=Scope.DEPARTMENT,
            scope_id=0,
            base_start=1000,
            base_end=1000,
            new_referral=referrals,
            new_active_sales=5,
            new_inbound=5,
            churn_rate=0.02,
            churn_rate_controllable=0.015,
            cases_returned=6,
            cases_declined=4,
            mrr_end=Decimal("9000000"),
            computed_at=now,
        )
    for month in (add_months(this_month, -13), this_month):
        KpiSnapshot.objects.create(
            month=month,
            scope=Scope.DEPARTMENT,
            scope_id=0,
            base_start=10,
            base_end=5000,
            new_referral=900,
            churn_rate=0.5,
            churn_rate_controllable=0.4,
            computed_at=now,
        )
    Goal.objects.create(
        start_on=add_months(this_month, -11),
        start_clients=1000,
        target_on=add_months(this_month, 37) - ONE_DAY,
        target_clients=4000,
        created_by=director,
    )
