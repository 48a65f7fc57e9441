"""A deliberately slow, obviously correct KPI calculator: SPEC §4 read literally, one day and one
client at a time. The engine in ``kpi.metrics`` must agree with it on random histories."""

from __future__ import annotations

import datetime
from collections import defaultdict

ONE_DAY = datetime.timedelta(days=1)
COUNTS = (
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
    "cases_returned",
    "cases_declined",
    "mrr_start",
    "mrr_end",
)


def _first_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _add_months(month: datetime.date, n: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def reference_table(
    *,
    contracts: list[tuple],
    clients: list[tuple],
    periods: list[tuple],
    cases: list[tuple],
    groups: list[tuple],
    month_from: datetime.date,
    month_to: datetime.date,
) -> dict[tuple, dict]:
    """``periods`` are full assignment rows ``(client, manager, starts_on | None, ends_on | None)``.

    Returns {(month, scope, scope_id): figures}, with manager and group rows that are all zeros
    left out, like the engine does. Money is in kopecks.
    """
    channel = {client: ch for client, ch, _manager in clients}
    by_client = defaultdict(list)
    for client, starts_on, ends_on, fee, natural in contracts:
        by_client[client].append((starts_on, ends_on, round(fee * 100), natural))
    periods_of = defaultdict(list)
    for client, manager, starts_on, ends_on in periods:
        periods_of[client].append((manager, starts_on, ends_on))
    everyone = set(channel) | set(by_client)

    def covering(client, day):
        return [c for c in by_client[client] if c[0] <= day and (c[1] is None or day <= c[1])]

    def manager_on(client, day):
        for manager, starts_on, ends_on in periods_of[client]:
            if (starts_on is None or starts_on <= day) and (ends_on is None or day <= ends_on):
                return manager
        return None

    window_start = _add_months(_first_of(month_from), -11)
    months = []
    month = window_start
    while month <= month_to:
        months.append(month)
        month = _add_months(month, 1)
    horizon = _add_months(months[-1], 1)  # the first day after the last month
    earliest = min([c[0] for cs in by_client.values() for c in cs], default=window_start)
    first_day = min(earliest, window_start) - 2 * ONE_DAY

    counts: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    month_ends = {m - ONE_DAY: m for m in months} | {horizon - ONE_DAY: None}

    def bump(month, figure, manager, n=1):
        counts[(month, "department", 0)][figure] += n
        if manager is not None:
            counts[(month, "manager", manager)][figure] += n

    def bump_manager(month, figure, manager, n=1):
        if manager is not None:
            counts[(month, "manager", manager)][figure] += n

    ever = set()
    day = first_day
    in_base_yesterday = {client: bool(covering(client, day)) for client in everyone}
    for client in everyone:
        if in_base_yesterday[client]:
            ever.add(client)
    while day < horizon - ONE_DAY:
        day += ONE_DAY
        month = _first_of(day)
        counted = month >= window_start
        for client in sorted(everyone):
            today = covering(client, day)
            in_base = bool(today)
            was = in_base_yesterday[client]
            if counted and was and not in_base:
                ended = [c for c in by_client[client] if c[1] == day - ONE_DAY]
                manager = manager_on(client, day - ONE_DAY)
                bump(month, "churned", manager)
                if any(c[3] for c in ended):
                    bump(month, "churned_natural", manager)
            if counted and in_base and not was:
                manager = manager_on(client, day)
                if client in ever:
                    bump(month, "returned", manager)
                else:
                    bump(month, "new_clients", manager)
                    bump(month, f"new_{channel[client]}", manager)
            if counted and was and in_base:
                before, now = manager_on(client, day - ONE_DAY), manager_on(client, day)
                if before != now:
                    bump_manager(month, "transferred_out", before)
                    bump_manager(month, "transferred_in", now)
            if in_base:
                ever.add(client)
            in_base_yesterday[client] = in_base
        if day in month_ends:
            # Base and MRR on the last day of a month: base_end of that month and base_start of
            # the next one.
            this_month, next_month = _first_of(day), month_ends[day]
            for client in everyone:
                today = covering(client, day)
                if not today:
                    continue
                manager = manager_on(client, day)
                fees = sum(c[2] for c in today)
                for target, base, mrr in (
                    (this_month, "base_end", "mrr_end"),
                    (next_month, "base_start", "mrr_start"),
                ):
                    if target is None or target < window_start:
                        continue
                    bump(target, base, manager)
                    bump(target, mrr, manager, fees)

    for lost_by, status, closed_on in cases:
        month = _first_of(closed_on)
        if month < window_start or month > months[-1]:
            continue
        figure = "cases_returned" if status == "returned" else "cases_declined"
        bump(month, figure, lost_by)

    # Groups: sums over the members.
    members = defaultdict(set)
    for mentor, member in groups:
        members[mentor].add(member)
    for mentor, people in members.items():
        for month in months:
            total = counts[(month, "group", mentor)]
            for person in people:
                key = (month, "manager", person)
                if key in counts:
                    for figure in COUNTS:
                        total[figure] += counts[key][figure]

    # Rates, month by month.
    def ratio(a, b):
        return a / b if b else 0.0

    table = {}
    scopes = {(scope, scope_id) for _m, scope, scope_id in counts} | {("department", 0)}
    for scope, scope_id in scopes:
        series = [counts.get((m, scope, scope_id), dict.fromkeys(COUNTS, 0)) for m in months]
        for i, month in enumerate(months):
            if month < _first_of(month_from):
                continue
            row = dict(series[i])
            last_year = series[max(0, i - 11) : i + 1]
            year_ago = series[i - 11]["base_start"] if i >= 11 else 0
            churned = sum(r["churned"] for r in last_year)
            natural = sum(r["churned_natural"] for r in last_year)
            returned = sum(r["cases_returned"] for r in last_year)
            closed = returned + sum(r["cases_declined"] for r in last_year)
            row["churn_rate"] = ratio(row["churned"], row["base_start"])
            row["churn_rate_controllable"] = ratio(
                row["churned"] - row["churned_natural"], row["base_start"]
            )
            row["annual_churn_rate"] = ratio(churned, year_ago)
            row["annual_churn_rate_controllable"] = ratio(churned - natural, year_ago)
            row["return_rate"] = ratio(
                row["cases_returned"], row["cases_returned"] + row["cases_declined"]
            )
            row["return_rate_12m"] = ratio(returned, closed)
            if scope != "department" and not any(row.values()):
                continue
            table[(month, scope, scope_id)] = row
    return table
