"""Reads for the growth planner and the capacity forecast (SPEC §16): the department's last
complete months, today's team and the support load, each in one query. ``kpi.planning`` does the
arithmetic; ``kpi.planner`` puts the two together for the page, the API and the warnings."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from clients.models import ClientRequest
from core.dates import add_months, month_start
from kpi.models import KpiSnapshot, PlannerScenario, Scope
from kpi.planning import HORIZON_DEFAULT
from staff.models import Role, User

HISTORY_MONTHS = 12
_HISTORY_FIELDS = (
    "month",
    "base_start",
    "base_end",
    "new_referral",
    "new_active_sales",
    "new_inbound",
    "churn_rate",
    "churn_rate_controllable",
    "cases_returned",
    "cases_declined",
    "mrr_end",
)


def planner_history(today: datetime.date) -> list[dict[str, Any]]:
    """The department's snapshots of the last 12 complete months before ``today``'s month,
    oldest first (fewer while the history is shorter)."""
    this_month = month_start(today)
    rows = (
        KpiSnapshot.objects.filter(
            scope=Scope.DEPARTMENT,
            scope_id=0,
            month__lt=this_month,
            month__gte=add_months(this_month, -HISTORY_MONTHS),
        )
        .order_by("month")
        .values(*_HISTORY_FIELDS)
    )
    return list(rows)


def planner_team() -> list[User]:
    """Today's book keepers, whose capacity the forecast counts: active client managers and
    mentors (a mentor's own book counts at the mentor's capacity)."""
    return list(
        User.objects.book_keepers()
        .only("pk", "role", "capacity", "hired_on", "ramp_until")
        .order_by("pk")
    )


def team_counts(team: list[User]) -> tuple[int, int]:
    """(client managers, mentors) of ``planner_team``."""
    managers = sum(1 for person in team if person.role == Role.CLIENT_MANAGER)
    return managers, sum(1 for person in team if person.role == Role.MENTOR)


def requests_per_client(history: list[dict[str, Any]]) -> float | None:
    """Support requests per client per month over ``history``'s months: the requests opened in
    them over the sum of their month-start bases. None without a base to divide by."""
    if not history:
        return None
    clients_months = sum(month["base_start"] for month in history)
    if not clients_months:
        return None
    first = history[0]["month"]
    after_last = add_months(history[-1]["month"], 1)
    # Bounds as moments, not ``__date`` lookups, so the count walks the opened_at index.
    opened = ClientRequest.objects.filter(
        opened_at__gte=_midnight(first), opened_at__lt=_midnight(after_last)
    ).count()
    return opened / clients_months


def scenarios_saved() -> list[PlannerScenario]:
    return list(PlannerScenario.objects.select_related("created_by").order_by("name", "pk"))


def months_to(day: datetime.date | None, today: datetime.date) -> int:
    """Months from the last complete month before ``today`` to ``day``'s month (the goal date);
    the default horizon without a day."""
    if day is None:
        return HORIZON_DEFAULT
    last_complete = add_months(month_start(today), -1)
    return (day.year - last_complete.year) * 12 + day.month - last_complete.month


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
