"""Reads for the KPI engine and the dashboards (SPEC §4, §6, §7).

``kpi_history_rows`` loads the plain rows ``kpi.metrics`` computes from: a handful of queries over
whole tables, never one per client. The other selectors read stored snapshots, so pages cost the
same few queries however large the history is. ``kpi.dashboard_selectors`` assembles the
director's dashboard from these reads; ``kpi.funnel`` reads the lost-client return funnel.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from clients.models import (
    NATURAL_REASONS,
    REFERRAL_ASKED,
    Client,
    ClientAssignment,
    Contract,
    ContractKind,
    Interaction,
    Referral,
    ReferralStageChange,
)
from core.dates import ONE_DAY, add_months, month_end, month_start
from kpi.metrics import HistoryRows, goal_plan, goal_progress
from kpi.models import Goal, KpiSnapshot, Scope
from kpi.referral_metrics import STAGE_RANK, CallRow, LeadRow
from retention.models import CLOSED_CASE_STATUSES, LostCase
from staff.models import BOOK_ROLES, Role, User


def kpi_history_rows() -> HistoryRows:
    """Everything the KPIs are computed from, as plain rows (five queries)."""
    natural = ExpressionWrapper(
        Q(termination_reason__in=list(NATURAL_REASONS)), output_field=BooleanField()
    )
    contracts = list(
        Contract.objects.filter(kind=ContractKind.PAID)
        .order_by()
        .annotate(natural=natural)
        .values_list("client_id", "starts_on", "ends_on", "monthly_fee", "natural")
    )
    clients = list(Client.objects.order_by().values_list("pk", "acquisition_channel", "manager_id"))
    assignments = list(
        ClientAssignment.objects.order_by().values_list("client_id", "manager_id", "starts_on")
    )
    cases = list(
        LostCase.objects.filter(status__in=CLOSED_CASE_STATUSES, closed_on__isnull=False)
        .order_by()
        .values_list("lost_by_id", "status", "closed_on")
    )
    return HistoryRows(
        contracts=contracts,
        clients=clients,
        assignments=assignments,
        cases=cases,
        groups=mentor_group_pairs(),
    )


def mentor_group_pairs() -> list[tuple[int, int]]:
    """(mentor id, member id) for every mentor group: the mentor and the users whose ``mentor``
    is that mentor (SPEC §2), current membership."""
    people = User.objects.filter(Q(role=Role.MENTOR) | Q(mentor__isnull=False)).values_list(
        "pk", "role", "mentor_id"
    )
    pairs: set[tuple[int, int]] = set()
    for pk, role, mentor_id in people:
        if role == Role.MENTOR:
            pairs.add((pk, pk))
        if mentor_id is not None:
            pairs.add((mentor_id, mentor_id))
            pairs.add((mentor_id, pk))
    return sorted(pairs)


# --- snapshots for pages and the API ----------------------------------------------------------


def kpi_latest_month() -> datetime.date | None:
    """The latest month with a department snapshot."""
    return (
        KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT, scope_id=0)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )


def kpi_series(
    *,
    scope: str = Scope.DEPARTMENT,
    scope_id: int = 0,
    month_from: datetime.date | None = None,
    month_to: datetime.date | None = None,
) -> QuerySet[KpiSnapshot]:
    """One scope's snapshots by month, oldest first (a chart's data)."""
    rows = KpiSnapshot.objects.filter(scope=scope, scope_id=scope_id)
    if month_from is not None:
        rows = rows.filter(month__gte=month_from.replace(day=1))
    if month_to is not None:
        rows = rows.filter(month__lte=month_to.replace(day=1))
    return rows.order_by("month")


def kpi_month_rows(*, month: datetime.date, scope: str) -> QuerySet[KpiSnapshot]:
    """Every manager's (or group's) snapshot of one month. A person without a row had nothing to
    show that month: read it as zeros."""
    return KpiSnapshot.objects.filter(scope=scope, month=month.replace(day=1)).order_by("scope_id")


def goal_current() -> Goal | None:
    return Goal.objects.order_by("-created_at", "-id").first()


def goals_recent(limit: int = 10) -> list[Goal]:
    """The latest goals, current first (the editor shows what was set before)."""
    return list(Goal.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


def kpi_latest_base() -> int | None:
    """``base_end`` of the latest department snapshot (None before the first computation)."""
    return (
        KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT, scope_id=0)
        .order_by("-month")
        .values_list("base_end", flat=True)
        .first()
    )


def base_on(day: datetime.date) -> tuple[int, Decimal]:
    """Base(d) and MRR(d) of SPEC §4, straight from the contracts (one query). A client's paid
    contracts never overlap (SPEC §2, a database constraint on PostgreSQL), so counting the
    covering contracts counts the clients, without the cost of a distinct count."""
    covering = Contract.objects.filter(kind=ContractKind.PAID, starts_on__lte=day).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day)
    )
    totals = covering.aggregate(base=Count("pk"), mrr=Sum("monthly_fee"))
    return totals["base"], (totals["mrr"] or Decimal("0")).quantize(Decimal("0.01"))


def kpi_summary(as_of: datetime.date) -> dict[str, Any]:
    """The director's headline figures on ``as_of`` (SPEC §7 ``kpi/summary``), in three queries.

    ``base`` and ``mrr`` are Base(as_of) and MRR(as_of), exact on that day. The rates and
    ``referrals_month`` come from the department snapshot of as_of's month, or of the latest
    earlier month when that one has not been computed yet (``month`` and ``computed_at`` say
    which). ``goal`` is None without a goal; its ``plan`` is the plan line at the end of as_of's
    month and ``progress`` is base / target (above 1 once the target is passed).
    """
    month = month_start(as_of)
    base, mrr = base_on(as_of)
    snapshot = (
        KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT, scope_id=0, month__lte=month)
        .order_by("-month")
        .first()
    )
    goal = goal_current()
    summary: dict[str, Any] = {
        "as_of": as_of,
        "month": snapshot.month if snapshot else None,
        "computed_at": snapshot.computed_at if snapshot else None,
        "base": base,
        "mrr": mrr,
        "annual_churn_rate": snapshot.annual_churn_rate if snapshot else 0.0,
        "annual_churn_rate_controllable": (
            snapshot.annual_churn_rate_controllable if snapshot else 0.0
        ),
        "referrals_month": snapshot.new_referral if snapshot else 0,
        "return_rate_12m": snapshot.return_rate_12m if snapshot else 0.0,
        "goal": None,
    }
    if goal is not None:
        summary["goal"] = {
            "target": goal.target_clients,
            "target_on": goal.target_on,
            "start_clients": goal.start_clients,
            "start_on": goal.start_on,
            "plan": goal_plan(goal, month_end(month)),
            "progress": goal_progress(base, goal),
        }
    return summary


# --- the director's dashboard (SPEC §6) -------------------------------------------------------

# Monthly counts that add up over a period.
PERIOD_SUMS = (
    "new_clients",
    "new_referral",
    "returned",
    "churned",
    "churned_natural",
    "transferred_in",
    "transferred_out",
    "cases_returned",
    "cases_declined",
)


def kpi_period_totals(
    *,
    scope: str,
    month_from: datetime.date,
    month_to: datetime.date,
    scope_ids: list[int] | None = None,
) -> dict[int, dict[str, Any]]:
    """Each scope id's figures over the months ``month_from``..``month_to``, in one query: the
    monthly counts summed, ``base_start`` of the first month, ``base_end`` and ``mrr_end`` of the
    last. A month without a row counts as zeros (see ``kpi_month_rows``); a scope id without any
    row in the range is left out."""
    first, last = month_from.replace(day=1), month_to.replace(day=1)
    rows = KpiSnapshot.objects.filter(scope=scope, month__gte=first, month__lte=last)
    if scope_ids is not None:
        rows = rows.filter(scope_id__in=scope_ids)
    # Aliased: an annotation may not reuse a model field's name.
    sums = {f"sum_{name}": Sum(name) for name in PERIOD_SUMS}
    totals = (
        rows.order_by()
        .values("scope_id")
        .annotate(
            **sums,
            sum_base_start=Sum("base_start", filter=Q(month=first)),
            sum_base_end=Sum("base_end", filter=Q(month=last)),
            sum_mrr_end=Sum("mrr_end", filter=Q(month=last)),
        )
    )
    names = [name.removeprefix("sum_") for name in (*sums, "base_start", "base_end", "mrr_end")]
    columns = [f"sum_{name}" for name in names]
    # Plain tuples: hundreds of managers a page at scale L.
    return {
        scope_id: dict(zip(names, [value or 0 for value in values], strict=True))
        for scope_id, *values in totals.values_list("scope_id", *columns)
    }


def churn_reasons(
    *,
    month_from: datetime.date,
    month_to: datetime.date,
    manager_ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Terminated paid contracts whose loss day (the day after ``ends_on``, SPEC §4) falls in the
    months ``month_from``..``month_to``, counted by termination reason, most frequent first (one
    query). With ``manager_ids``, only clients assigned to one of them on the contract's last
    day (the loss's manager, SPEC §4 "per manager")."""
    contracts = Contract.objects.filter(
        kind=ContractKind.PAID,
        ends_on__gte=month_start(month_from) - ONE_DAY,
        ends_on__lte=month_end(month_to) - ONE_DAY,
    ).exclude(termination_reason="")
    if manager_ids is not None:
        owner = ClientAssignment.objects.filter(
            client=OuterRef("client_id"), manager_id__in=manager_ids
        ).filter(
            Q(starts_on__isnull=True) | Q(starts_on__lte=OuterRef("ends_on")),
            Q(ends_on__isnull=True) | Q(ends_on__gte=OuterRef("ends_on")),
        )
        contracts = contracts.filter(Exists(owner))
    counted = (
        contracts.order_by()
        .values("termination_reason")
        # COUNT(*): the partial index contract_loss_reason answers it without the table.
        .annotate(count=Count("*"))
        .order_by("-count", "termination_reason")
    )
    return [
        {
            "reason": row["termination_reason"],
            "natural": row["termination_reason"] in NATURAL_REASONS,
            "count": row["count"],
        }
        for row in counted
    ]


# What the dashboard's people tables read of a person: plain values, not 700 user objects at
# scale L.
PEOPLE_FIELDS = (
    "pk",
    "full_name",
    "username",
    "role",
    "is_active",
    "capacity",
    "mentor_id",
    "mentor__full_name",
)


def dashboard_people(*, members: list[int] | None, with_rows: list[int]) -> list[dict[str, Any]]:
    """The people of the dashboard's tables by name (one query): ``members`` when given (a
    mentor's group); otherwise everyone who keeps a book now (client managers and mentors) and
    everyone in ``with_rows`` (those with snapshot rows in the period, dismissed ones included)."""
    if members is None:
        people = User.objects.filter(Q(pk__in=with_rows) | Q(is_active=True, role__in=BOOK_ROLES))
    else:
        people = User.objects.filter(pk__in=members)
    return list(people.order_by("full_name", "pk").values(*PEOPLE_FIELDS))


# --- the referral pipeline's figures (SPEC §14) -----------------------------------------------


def referral_history_rows(
    *, month_from: datetime.date, month_to: datetime.date
) -> tuple[list[LeadRow], list[CallRow]]:
    """What ``kpi.referral_metrics`` counts for the months from ``month_from`` to ``month_to``
    (first days): the leads recorded or closed in them, with the furthest stage each reached
    (three queries), and the referral-ask calls counted per person and month in the database."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.datetime.combine(month_from, datetime.time.min), tz)
    end = timezone.make_aware(
        datetime.datetime.combine(add_months(month_to, 1), datetime.time.min), tz
    )
    leads = Referral.objects.filter(
        Q(created_at__gte=start, created_at__lt=end)
        | Q(closed_on__gte=month_from, closed_on__lt=add_months(month_to, 1))
    ).order_by()
    furthest: dict[int, int] = {}
    stages = ReferralStageChange.objects.filter(referral__in=leads.values("pk")).order_by()
    for referral_id, to_status in stages.values_list("referral_id", "to_status"):
        furthest[referral_id] = max(furthest.get(referral_id, 0), STAGE_RANK[to_status])
    lead_rows = [
        LeadRow(
            owner_id=owner_id,
            recorded_on=timezone.localtime(created_at, tz).date(),
            status=status,
            closed_on=closed_on,
            furthest=max(furthest.get(pk, 0), STAGE_RANK[status]),
        )
        for pk, owner_id, created_at, status, closed_on in leads.values_list(
            "pk", "owner_id", "created_at", "status", "closed_on"
        )
    ]
    calls = (
        Interaction.objects.filter(
            referral_ask_eligible=True, occurred_at__gte=start, occurred_at__lt=end
        )
        .order_by()
        .annotate(month=TruncMonth("occurred_at", tzinfo=tz))
        .values("staff_id", "month")
        .annotate(
            eligible=Count("pk"), asked=Count("pk", filter=Q(referral_asked__in=REFERRAL_ASKED))
        )
        .values_list("staff_id", "month", "eligible", "asked")
    )
    call_rows = [
        CallRow(staff_id, _as_date(month), eligible, asked)
        for staff_id, month, eligible, asked in calls
    ]
    return lead_rows, call_rows


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
