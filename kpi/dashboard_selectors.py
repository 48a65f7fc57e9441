"""The director's dashboard (SPEC §4, §6), assembled from stored snapshots and the goal.

Everything comes from ``kpi.selectors``: snapshot rows, the current goal and one grouped count of
terminated contracts for the reasons table. A page therefore costs the same handful of queries
however long the history is and however many people the department has; the figures themselves
were computed by the nightly job or the director's recompute.

Rates are fractions (0.05 is 5 %), ``None`` where the denominator is zero; rows are plain dicts so
the template and the CSV/XLSX exports read the same values.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.models import TerminationReason
from core.dates import months_between
from kpi.metrics import goal_plan_line, month_first_day, month_number
from kpi.models import Goal, KpiSnapshot, Scope
from kpi.selectors import (
    churn_reasons,
    goal_current,
    kpi_latest_month,
    kpi_period_totals,
    kpi_series,
)
from staff.access import group_member_ids
from staff.models import BOOK_ROLES, Role, User

# The period selector: months up to the latest computed one (None: all history).
PERIOD_MONTHS: dict[str, int | None] = {"6": 6, "12": 12, "24": 24, "36": 36, "all": None}
DEFAULT_PERIOD = "12"

# The director's targets (SPEC §1).
TARGET_ANNUAL_CHURN = 0.05
TARGET_REFERRALS_MONTH = 100
TARGET_RETURN_RATE = 0.70
# A good client manager turns 100 clients into 130 in a year (customer brief).
TARGET_BOOK_GROWTH_YEAR = 0.30

# Red/amber/green: green when the target is met; amber while the distance to the target is at most
# this share of the target; red beyond. The base must follow the plan closely, so its band is narrow.
AMBER_BAND = {"annual_churn": 0.2, "referrals": 0.2, "return_rate": 0.1, "base": 0.03}

# Snapshots older than this are flagged: the nightly recompute has not run.
STALE_AFTER = datetime.timedelta(hours=26)


def add_months(month: datetime.date, count: int) -> datetime.date:
    return month_first_day(month_number(month) + count)


def rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def rag_status(value: float | None, target: float, *, lower_is_better: bool, band: float) -> str:
    """``ok``, ``warn`` or ``danger`` by the distance from ``value`` to ``target`` (relative to the
    target); ``neutral`` without a value."""
    if value is None:
        return "neutral"
    gap = (value - target) if lower_is_better else (target - value)
    if gap <= 1e-9:  # met; the tolerance absorbs float noise (1.3 ** 1 - 1 vs 0.3)
        return "ok"
    return "warn" if gap <= band * target else "danger"


def trend(value: float | None, previous: float | None, *, lower_is_better: bool) -> dict | None:
    """The change against last month and whether it is good news."""
    if value is None or previous is None:
        return None
    delta = value - previous
    if abs(delta) < 1e-9:
        verdict = "same"
    elif (delta < 0) == lower_is_better:
        verdict = "better"
    else:
        verdict = "worse"
    return {"delta": delta, "verdict": verdict, "direction": "up" if delta > 0 else "down"}


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
    month_now = now.date().replace(day=1)
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
    return board


def goal_monthly_growth(goal: Goal) -> float:
    """The plan line's growth per month (×4 over 36 months ≈ 3.9 %)."""
    months = (goal.target_on - goal.start_on).days / (365.25 / 12)
    return (goal.target_clients / goal.start_clients) ** (1 / months) - 1


# --- month by month ---------------------------------------------------------------------------


def month_rows(series: list[KpiSnapshot], goal: Goal | None) -> list[dict]:
    """One row per month, oldest first; ``plan`` is the goal's plan line at the month's end (None
    without a goal or before it starts)."""
    months = [row.month for row in series]
    plan = goal_plan_line(goal, months) if goal is not None else [None] * len(months)
    start_month = goal.start_on.replace(day=1) if goal is not None else None
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
    last = goal.target_on.replace(day=1)
    months = [add_months(latest, i) for i in range(1, max(3, shown // 4) + 1)]
    months = [month for month in months if month <= last]
    start = goal.start_on.replace(day=1)
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
        # Own growth: the book's change without the clients handed in or out.
        "growth": rate(end - start - moved_in + moved_out, start),
        "new_clients": get("new_clients", 0),
        "new_referral": get("new_referral", 0),
        "returned": get("returned", 0),
        "churned": churned,
        "churned_natural": natural,
        "churned_controllable": churned - natural,
        "churn_rate": rate(churned, start),
        "transferred_in": moved_in,
        "transferred_out": moved_out,
        "cases_returned": cases_returned,
        "cases_declined": cases_declined,
        "return_rate": rate(cases_returned, cases_returned + cases_declined),
        "mrr": get("mrr_end", 0),
    }


# What the people tables read of a person: plain values, not 700 user objects at scale L.
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
    if members is None:
        people = User.objects.filter(
            Q(pk__in=[*by_manager, *by_group]) | Q(is_active=True, role__in=BOOK_ROLES)
        )
    else:
        people = User.objects.filter(pk__in=members)
    people = list(people.order_by("full_name", "pk").values(*PEOPLE_FIELDS))
    growth_target = (1 + TARGET_BOOK_GROWTH_YEAR) ** (months_between(month_from, month_to) / 12) - 1
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
            load=rate(row["book"], person["capacity"]),
            growth_status=_growth_status(row["growth"], growth_target),
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
            load=rate(row["book"], capacity),
            growth_status=_growth_status(row["growth"], growth_target),
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


def _growth_status(growth: float | None, target: float) -> str:
    return rag_status(growth, target, lower_is_better=False, band=1.0)


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
            "share": rate(row["count"], total),
        }
        for row in counted
    ]


# --- goal -------------------------------------------------------------------------------------


def goals_recent(limit: int = 10) -> list[Goal]:
    """The latest goals, current first (the editor shows what was set before)."""
    return list(Goal.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


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
    latest = (
        KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT, scope_id=0)
        .order_by("-month")
        .values_list("base_end", flat=True)
        .first()
    )
    base = latest or 0
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

# Rows of the group and manager tables on one page of the dashboard. The whole table is in the
# CSV/XLSX exports; the page shows 25 rows of the chosen order (600 managers at scale L).
TABLE_PAGE_SIZE = 25
TEXT, NUM = "text", "num"


@dataclass(frozen=True)
class SortColumn:
    key: str
    label: Any
    kind: str = NUM


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


@dataclass
class TablePage:
    """One page of a people table: its rows in the chosen order, the header links that sort it
    and the links to the neighbouring pages (``None`` at either end)."""

    name: str
    rows: list[dict]
    total: int
    number: int
    pages: int
    sort: str
    descending: bool
    headers: list[dict]
    first_url: str | None
    previous_url: str | None
    next_url: str | None
    last_url: str | None

    @property
    def start(self) -> int:
        return (self.number - 1) * TABLE_PAGE_SIZE + 1 if self.total else 0

    @property
    def end(self) -> int:
        return min(self.number * TABLE_PAGE_SIZE, self.total)


def _sort_choice(name: str, value: str | None) -> tuple[str, bool]:
    """The allowed sort key and direction of ``?<name>_sort=[-]key``; ("", False) keeps the
    table's own order (groups and people by name)."""
    value = (value or "").strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in {column.key for column in SORT_COLUMNS[name]}:
        return "", False
    return key, descending


def _page_number(value: str | None, pages: int) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), pages)


def rows_sorted(rows: list[dict], key: str, *, descending: bool, kind: str) -> list[dict]:
    """``rows`` ordered by ``key``; rows without a value come last in either direction, ties keep
    the table's own order."""
    present = [row for row in rows if row[key] is not None]
    missing = [row for row in rows if row[key] is None]
    if kind == TEXT:
        present.sort(key=lambda row: str(row[key]).casefold(), reverse=descending)
    else:
        present.sort(key=lambda row: row[key], reverse=descending)
    return present + missing


def table_page(board: Dashboard, name: str, params: dict[str, str]) -> TablePage:
    """The page of ``board``'s ``name`` table (``groups`` or ``managers``) that the query
    ``params`` ask for: ``<name>_sort`` (an allowed column key, ``-`` first for descending) and
    ``<name>_page``. Links keep every other parameter (the period, the other table's order)."""
    sort_param, page_param = f"{name}_sort", f"{name}_page"
    columns = SORT_COLUMNS[name]
    sort, descending = _sort_choice(name, params.get(sort_param))
    rows = board.table(name)
    if sort:
        kind = next(column.kind for column in columns if column.key == sort)
        rows = rows_sorted(rows, sort, descending=descending, kind=kind)
    pages = max(1, -(-len(rows) // TABLE_PAGE_SIZE))
    number = _page_number(params.get(page_param), pages)
    kept = {f"{table}_{part}" for table in SORT_COLUMNS for part in ("sort", "page")}
    base = {key: value for key, value in params.items() if key in kept - {sort_param, page_param}}
    base = {"period": board.period, **base}
    if sort:
        base[sort_param] = f"-{sort}" if descending else sort

    def url(**changes: Any) -> str:
        return "?" + urlencode({**base, **changes})

    def page_url(target: int) -> str | None:
        if target == number or not 1 <= target <= pages:
            return None
        return url(**{page_param: target}) if target > 1 else url()

    headers = []
    for column in columns:
        if column.key == sort:
            # A second click turns the order round.
            flip = not descending
            state = "descending" if descending else "ascending"
        else:
            # Figures start from the highest, names from A.
            flip, state = column.kind == NUM, ""
        headers.append(
            {
                "key": column.key,
                "label": column.label,
                "num": column.kind == NUM,
                "state": state,
                "url": url(**{sort_param: f"-{column.key}" if flip else column.key}),
            }
        )
    return TablePage(
        name=name,
        rows=rows[(number - 1) * TABLE_PAGE_SIZE : number * TABLE_PAGE_SIZE],
        total=len(rows),
        number=number,
        pages=pages,
        sort=sort,
        descending=descending,
        headers=headers,
        first_url=page_url(1) if number > 2 else None,
        previous_url=page_url(number - 1),
        next_url=page_url(number + 1),
        last_url=page_url(pages) if number < pages - 1 else None,
    )
