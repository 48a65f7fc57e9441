"""The director's dashboard (SPEC §4, §6), assembled from stored snapshots and the goal.

Every read comes from ``kpi.selectors``: snapshot rows, the current goal, the people of the
tables and one grouped count of terminated contracts for the reasons table. A page therefore costs
the same handful of queries however long the history is and however many people the department
has; the figures themselves were computed by the nightly job or the director's recompute. Rates
over a period come from ``kpi.metrics``, targets and their colours from ``kpi.targets``, and the
paged people tables from ``core.paging``.

Rates are fractions (0.05 is 5 %), ``None`` where the denominator is zero; rows are plain dicts so
the template and the CSV/XLSX exports read the same values.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.models import ReferralStatus, TerminationReason
from core.dates import add_months, month_start, months_between
from core.paging import TEXT, SortColumn, TablePage, table_page
from core.ratios import ratio
from kpi.metrics import book_growth, churn_rate, goal_monthly_growth, goal_plan_line, return_rate
from kpi.models import Goal, KpiSnapshot, ReferralSnapshot, Scope
from kpi.selectors import (
    churn_reasons,
    dashboard_people,
    goal_current,
    kpi_latest_base,
    kpi_latest_month,
    kpi_period_totals,
    kpi_series,
)
from kpi.targets import (
    AMBER_BAND,
    TARGET_ANNUAL_CHURN,
    TARGET_REFERRALS_MONTH,
    TARGET_RETURN_RATE,
    book_growth_target,
    growth_status,
    rag_status,
    trend,
)
from referrals.selectors import top_referrers
from staff.access import group_member_ids
from staff.models import BOOK_ROLES, Role, User

# The period selector: months up to the latest computed one (None: all history).
PERIOD_MONTHS: dict[str, int | None] = {"6": 6, "12": 12, "24": 24, "36": 36, "all": None}
DEFAULT_PERIOD = "12"

# Snapshots older than this are flagged: the nightly recompute has not run.
STALE_AFTER = datetime.timedelta(hours=26)


@dataclass
class Dashboard:
    group: User | None
    period: str
    month: datetime.date | None = None
    month_from: datetime.date | None = None
    computed_at: datetime.datetime | None = None
    stale: bool = False
    goal: Goal | None = None
    goal_monthly_growth: float | None = None
    tiles: dict[str, dict] = field(default_factory=dict)
    chart: dict[str, Any] = field(default_factory=dict)
    months: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    managers: list[dict] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    referral_funnel: dict[str, Any] = field(default_factory=dict)
    top_referrers: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.months

    def table(self, name: str) -> list[dict]:
        return getattr(self, name)


def dashboard_build(*, group: User | None, period: str, now: datetime.datetime) -> Dashboard:
    """The dashboard of the department (``group`` None) or of one mentor's group, over ``period``
    (a key of ``PERIOD_MONTHS``)."""
    board = Dashboard(group=group, period=period)
    latest = kpi_latest_month()
    board.goal = goal_current()
    if latest is None:
        return board
    months = PERIOD_MONTHS[period]
    month_from = add_months(latest, -(months - 1)) if months else None
    scope, scope_id = (Scope.DEPARTMENT, 0) if group is None else (Scope.GROUP, group.pk)
    series = list(
        kpi_series(scope=scope, scope_id=scope_id, month_from=month_from, month_to=latest)
    )
    if not series:
        return board
    board.month, board.month_from = series[-1].month, month_from or series[0].month
    board.computed_at = series[-1].computed_at
    month_now = month_start(now.date())
    board.stale = now - board.computed_at > STALE_AFTER or board.month < month_now
    goal = board.goal if group is None else None
    board.months = month_rows(series, goal)
    board.chart = chart_data(board.months, department=group is None)
    if goal is not None:
        board.chart["ahead"] = plan_ahead(goal, latest=board.month, shown=len(board.months))
    board.tiles = tiles(board.months, department=group is None)
    if board.goal is not None:
        board.goal_monthly_growth = goal_monthly_growth(board.goal)
    members = group_member_ids(group) if group is not None else None
    board.groups, board.managers = people_rows(
        month_from=board.month_from, month_to=board.month, members=members, group=group
    )
    board.reasons = reason_rows(
        churn_reasons(month_from=board.month_from, month_to=board.month, manager_ids=members)
    )
    board.referral_funnel = referral_funnel(
        scope=scope, scope_id=scope_id, month_from=board.month_from, month_to=board.month
    )
    board.top_referrers = top_referrers(today=timezone.localdate(now), members=members)
    return board


FUNNEL_STEPS = (
    ("leads", gettext_lazy("Leads")),
    ("funnel_contacted", ReferralStatus.CONTACTED.label),
    ("funnel_meeting", ReferralStatus.MEETING.label),
    ("funnel_won", ReferralStatus.WON.label),
)


def referral_funnel(
    *, scope: str, scope_id: int, month_from: datetime.date, month_to: datetime.date
) -> dict[str, Any]:
    """SPEC §14 on the dashboard: the leads recorded in the period and how far they have got
    (leads → contacted → meeting → won), each step with its share of the leads, and the period's
    leads won and lost, conversion and ask rate, summed from the stored referral snapshots."""
    totals = ReferralSnapshot.objects.filter(
        scope=scope, scope_id=scope_id, month__gte=month_from, month__lte=month_to
    ).aggregate(
        **{name: Sum(name) for name, _label in FUNNEL_STEPS},
        won=Sum("leads_won"),
        lost=Sum("leads_lost"),
        eligible=Sum("calls_eligible"),
        asked=Sum("calls_asked"),
    )
    totals = {name: value or 0 for name, value in totals.items()}
    leads = totals["leads"]
    return {
        "steps": [
            {
                "key": name,
                "label": label,
                "count": totals[name],
                "share": ratio(totals[name], leads),
            }
            for name, label in FUNNEL_STEPS
        ],
        "won": totals["won"],
        "lost": totals["lost"],
        "conversion": ratio(totals["won"], totals["won"] + totals["lost"]),
        "ask_rate": ratio(totals["asked"], totals["eligible"]),
    }


# --- month by month ---------------------------------------------------------------------------


def month_rows(series: list[KpiSnapshot], goal: Goal | None) -> list[dict]:
    """One row per month, oldest first; ``plan`` is the goal's plan line at the month's end (None
    without a goal or before it starts)."""
    months = [row.month for row in series]
    plan = goal_plan_line(goal, months) if goal is not None else [None] * len(months)
    start_month = month_start(goal.start_on) if goal is not None else None
    rows = []
    for snapshot, month, planned in zip(series, months, plan, strict=True):
        closed = snapshot.cases_returned + snapshot.cases_declined
        rows.append(
            {
                "month": month,
                "label": date_format(month, "M Y"),
                "base_start": snapshot.base_start,
                "new_clients": snapshot.new_clients,
                "new_referral": snapshot.new_referral,
                "new_active_sales": snapshot.new_active_sales,
                "new_inbound": snapshot.new_inbound,
                "returned": snapshot.returned,
                "churned": snapshot.churned,
                "churned_natural": snapshot.churned_natural,
                "churned_controllable": snapshot.churned - snapshot.churned_natural,
                "base_end": snapshot.base_end,
                "plan": planned if start_month is not None and month >= start_month else None,
                "churn_rate": snapshot.churn_rate if snapshot.base_start else None,
                "annual_churn_rate": snapshot.annual_churn_rate,
                "annual_churn_rate_controllable": snapshot.annual_churn_rate_controllable,
                "cases_returned": snapshot.cases_returned,
                "cases_declined": snapshot.cases_declined,
                "return_rate": snapshot.return_rate if closed else None,
                "return_rate_12m": snapshot.return_rate_12m,
                "mrr_end": snapshot.mrr_end,
            }
        )
    return rows


def chart_data(months: list[dict], *, department: bool) -> dict[str, Any]:
    """What static/js/dashboard.js draws, embedded in the page with ``json_script``. The referral
    target line is the department's, so a group's chart goes without it."""

    def column(name: str) -> list:
        return [row[name] for row in months]

    def percent(name: str) -> list:
        return [None if row[name] is None else round(100 * row[name], 1) for row in months]

    return {
        "labels": column("label"),
        "base": column("base_end"),
        "plan": column("plan"),
        "churn_natural": column("churned_natural"),
        "churn_controllable": column("churned_controllable"),
        "referrals": column("new_referral"),
        "return_rate": percent("return_rate"),
        "return_rate_12m": percent("return_rate_12m"),
        "mrr": [float(row["mrr_end"]) for row in months],
        "show_targets": department,
        "targets": {
            "referrals": TARGET_REFERRALS_MONTH,
            "return_rate": round(100 * TARGET_RETURN_RATE, 1),
        },
        "text": {
            "base": _("Paying clients"),
            "plan": _("Goal plan"),
            "churn_natural": _("Natural losses"),
            "churn_controllable": _("Controllable losses"),
            "referrals": _("Referral clients"),
            "referrals_target": _("Target"),
            "return_rate": _("Return rate in the month, %"),
            "return_rate_12m": _("Return rate, 12 months, %"),
            "return_target": _("Target, %"),
            "mrr": _("Monthly revenue, ₽"),
        },
    }


def plan_ahead(goal: Goal, *, latest: datetime.date, shown: int) -> dict[str, list]:
    """The plan line a few months past the latest one (a quarter of the months shown, at least
    three, never past the target month), so the chart shows where the base should go next."""
    last = month_start(goal.target_on)
    months = [add_months(latest, i) for i in range(1, max(3, shown // 4) + 1)]
    months = [month for month in months if month <= last]
    start = month_start(goal.start_on)
    plan = goal_plan_line(goal, months)
    return {
        "labels": [date_format(month, "M Y") for month in months],
        "plan": [
            value if month >= start else None for month, value in zip(months, plan, strict=True)
        ],
    }


def tiles(months: list[dict], *, department: bool) -> dict[str, dict]:
    """The four headline tiles of the latest month, each against its target and last month.
    Without a plan for the month (no goal, or a mentor's group: the goal is the department's)
    the base tile has no target; nor have a group's referrals (100 a month is the department's).
    """
    now = months[-1]
    before = months[-2] if len(months) > 1 else None

    def previous(name: str):
        return before[name] if before is not None else None

    churn = now["annual_churn_rate"]
    referrals = now["new_referral"]
    returns = now["return_rate_12m"]
    base, plan = now["base_end"], now["plan"]
    return {
        "annual_churn": {
            "value": churn,
            "target": TARGET_ANNUAL_CHURN,
            "status": rag_status(
                churn, TARGET_ANNUAL_CHURN, lower_is_better=True, band=AMBER_BAND["annual_churn"]
            ),
            "trend": trend(churn, previous("annual_churn_rate"), lower_is_better=True),
            "controllable": now["annual_churn_rate_controllable"],
        },
        "referrals": {
            "value": referrals,
            "target": TARGET_REFERRALS_MONTH,
            "status": rag_status(
                referrals,
                TARGET_REFERRALS_MONTH,
                lower_is_better=False,
                band=AMBER_BAND["referrals"],
            )
            if department
            else "neutral",
            "trend": trend(referrals, previous("new_referral"), lower_is_better=False),
        },
        "return_rate": {
            "value": returns,
            "target": TARGET_RETURN_RATE,
            "status": rag_status(
                returns, TARGET_RETURN_RATE, lower_is_better=False, band=AMBER_BAND["return_rate"]
            ),
            "trend": trend(returns, previous("return_rate_12m"), lower_is_better=False),
        },
        "base": {
            "value": base,
            "target": plan,
            "gap": base - plan if plan is not None else None,
            "status": rag_status(base, plan, lower_is_better=False, band=AMBER_BAND["base"])
            if plan
            else "neutral",
            "trend": trend(base, previous("base_end"), lower_is_better=False),
        },
    }


# --- people -----------------------------------------------------------------------------------


def _figures(totals: dict[str, Any]) -> dict[str, Any]:
    """The period figures of one scope id, with the rates the tables show."""
    get = totals.get
    start, end = get("base_start", 0), get("base_end", 0)
    moved_in, moved_out = get("transferred_in", 0), get("transferred_out", 0)
    churned, natural = get("churned", 0), get("churned_natural", 0)
    cases_returned, cases_declined = get("cases_returned", 0), get("cases_declined", 0)
    return {
        "book_start": start,
        "book": end,
        "growth": book_growth(start, end, transferred_in=moved_in, transferred_out=moved_out),
        "new_clients": get("new_clients", 0),
        "new_referral": get("new_referral", 0),
        "returned": get("returned", 0),
        "churned": churned,
        "churned_natural": natural,
        "churned_controllable": churned - natural,
        "churn_rate": churn_rate(churned, start),
        "transferred_in": moved_in,
        "transferred_out": moved_out,
        "cases_returned": cases_returned,
        "cases_declined": cases_declined,
        "return_rate": return_rate(cases_returned, cases_declined),
        "mrr": get("mrr_end", 0),
    }


def people_rows(
    *,
    month_from: datetime.date,
    month_to: datetime.date,
    members: list[int] | None,
    group: User | None,
) -> tuple[list[dict], list[dict]]:
    """Rows of the mentor-group table and of the manager table over the months (three queries).

    The director sees every group and every person who kept a book in the period or keeps one
    now (client managers and mentors); a mentor sees their own group and its members."""
    by_manager = kpi_period_totals(
        scope=Scope.MANAGER, month_from=month_from, month_to=month_to, scope_ids=members
    )
    by_group = kpi_period_totals(
        scope=Scope.GROUP,
        month_from=month_from,
        month_to=month_to,
        scope_ids=None if group is None else [group.pk],
    )
    people = dashboard_people(members=members, with_rows=[*by_manager, *by_group])
    growth_target = book_growth_target(months_between(month_from, month_to))
    clients_url = reverse("clients:list")
    # Labels once, not ``get_role_display`` per person (it costs as much as the query at scale).
    role_labels = {value: str(label) for value, label in Role.choices}
    book_roles = set(BOOK_ROLES)
    short_names: dict[str, str] = {}  # 600 people share 120 mentors' names

    managers = []
    for person in people:
        pk, active = person["pk"], person["is_active"]
        if pk not in by_manager and not (active and person["role"] in book_roles):
            continue
        row = _figures(by_manager.get(pk, {}))
        row.update(
            id=pk,
            name=person["full_name"] or person["username"],
            role=role_labels.get(person["role"], person["role"]),
            group=_group_of(person, short_names),
            is_active=active,
            capacity=person["capacity"],
            load=ratio(row["book"], person["capacity"]),
            growth_status=growth_status(row["growth"], growth_target),
            clients_url=f"{clients_url}?manager={pk}",
        )
        managers.append(row)

    groups = []
    if group is not None:
        mentors = [{"pk": group.pk, "full_name": group.full_name, "username": group.username}]
    else:
        mentors = [
            p
            for p in people
            if p["pk"] in by_group or (p["role"] == Role.MENTOR and p["is_active"])
        ]
    # One pass over the people, not one per mentor (600 people and 120 mentors at scale L).
    mentees: dict[int, list[dict]] = {}
    for person in people:
        if person["mentor_id"] is not None:
            mentees.setdefault(person["mentor_id"], []).append(person)
    by_pk = {person["pk"]: person for person in people}
    for mentor in mentors:
        pk = mentor["pk"]
        own = [by_pk[pk]] if pk in by_pk else []
        team = own + [p for p in mentees.get(pk, []) if p["pk"] != pk]
        capacity = sum(p["capacity"] for p in team if p["is_active"])
        row = _figures(by_group.get(pk, {}))
        row.update(
            id=pk,
            name=mentor["full_name"] or mentor["username"],
            members=sum(1 for p in team if p["is_active"]),
            capacity=capacity,
            load=ratio(row["book"], capacity),
            growth_status=growth_status(row["growth"], growth_target),
        )
        groups.append(row)
    return groups, managers


def _group_of(person: dict, known: dict[str, str]) -> str:
    """The short name of the person's mentor group (a mentor leads their own); ``known`` keeps
    the names already shortened."""
    if person["role"] == Role.MENTOR:
        name = person["full_name"]
    elif person["mentor_id"] is not None and person["mentor__full_name"] is not None:
        name = person["mentor__full_name"]
    else:
        return ""
    if name not in known:
        known[name] = short_name(name)
    return known[name]


def short_name(full_name: str) -> str:
    """A surname with initials: Александров Вадим Валерьевич → Александров В. В. (staff names are
    kept surname first)."""
    surname, *given = full_name.split() or [""]
    return " ".join([surname, *(f"{name[0]}." for name in given)]) if given else full_name


# --- reasons ----------------------------------------------------------------------------------


def reason_rows(counted: list[dict]) -> list[dict]:
    """The churn reasons with their labels and shares of all terminations in the period."""
    labels = dict(TerminationReason.choices)
    total = sum(row["count"] for row in counted)
    return [
        {
            **row,
            "label": str(labels.get(row["reason"], row["reason"])),
            "kind": _("natural") if row["natural"] else _("controllable"),
            "share": ratio(row["count"], total),
        }
        for row in counted
    ]


# --- goal -------------------------------------------------------------------------------------


def goal_initial(*, today: datetime.date) -> dict[str, Any]:
    """What the goal editor starts from: the current goal, or else SPEC §1's ×4 in 3 years from
    today's base (the latest department snapshot)."""
    goal = goal_current()
    if goal is not None:
        return {
            "start_on": goal.start_on,
            "start_clients": goal.start_clients,
            "target_on": goal.target_on,
            "target_clients": goal.target_clients,
        }
    base = kpi_latest_base() or 0
    try:
        target_on = today.replace(year=today.year + 3)
    except ValueError:  # 29 February
        target_on = today.replace(year=today.year + 3, day=28)
    return {
        "start_on": today,
        "start_clients": base or None,
        "target_on": target_on,
        "target_clients": 4 * base or None,
    }


# --- the people tables, one page at a time ----------------------------------------------------

_FIGURE_COLUMNS = (
    SortColumn("load", gettext_lazy("Book / capacity")),
    SortColumn("book", gettext_lazy("Book: start → now")),
    SortColumn("growth", gettext_lazy("Own growth")),
    SortColumn("new_clients", gettext_lazy("New clients")),
    SortColumn("new_referral", gettext_lazy("By referral")),
    SortColumn("returned", gettext_lazy("Came back")),
    SortColumn("churned", gettext_lazy("Lost (natural)")),
    SortColumn("churn_rate", gettext_lazy("Churn")),
    SortColumn("return_rate", gettext_lazy("Cases won back")),
)

# The columns of each paged table, in order; their keys are the allowed sort keys.
SORT_COLUMNS: dict[str, tuple[SortColumn, ...]] = {
    "groups": (
        SortColumn("name", gettext_lazy("Mentor"), TEXT),
        SortColumn("members", gettext_lazy("People")),
        *_FIGURE_COLUMNS,
        SortColumn("mrr", gettext_lazy("Revenue")),
    ),
    "managers": (
        SortColumn("name", gettext_lazy("Manager"), TEXT),
        SortColumn("group", gettext_lazy("Group"), TEXT),
        *_FIGURE_COLUMNS,
        SortColumn("transferred_in", gettext_lazy("Handed in / out")),
    ),
}
# The query parameters of the paged tables: each table's links keep the other's.
TABLE_PARAMS = frozenset(f"{name}_{part}" for name in SORT_COLUMNS for part in ("sort", "page"))


def dashboard_table(board: Dashboard, name: str, params: dict[str, str]) -> TablePage:
    """The page of ``board``'s ``name`` table (``groups`` or ``managers``) that the query
    ``params`` ask for (``<name>_sort``, ``<name>_page``): 25 rows of the chosen order (600
    managers at scale L), the whole table being in the CSV/XLSX exports. Links carry the board's
    period and keep the other table's order and page."""
    return table_page(
        board.table(name),
        name=name,
        columns=SORT_COLUMNS[name],
        params=params,
        fixed={"period": board.period},
        kept=TABLE_PARAMS,
    )
