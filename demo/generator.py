"""The demo company of SPEC §8 (``manage.py seed_demo``): a deterministic, realistic department.

``demo_company_seed`` simulates the company's history in memory (``demo.simulation``), writes it
with its day-to-day activity in one transaction (``demo.writer``), then lets the product's own
services do what they do with such rows: derive contact signals and client statuses, give
today's system tasks as the nightly job does, and set the growth goal. It returns the logins
(``demo.logins``) and headline figures (``demo.summary``) that seed_demo prints.

Everything random comes from one generator seeded with ``seed`` and consumed in a fixed order,
so the same seed and the same ``today`` give the same rows.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction

from clients.contact_signals import contact_signals_refresh
from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from demo.department import BASE_CLIENTS
from demo.logins import DemoLogin, staff_logins
from demo.planner import planner_scenarios_seed
from demo.simulation import Company
from demo.summary import DemoKpis, demo_kpis
from demo.tables import tables_analyze
from demo.writer import company_write
from kpi.planner_selectors import months_to
from kpi.services import goal_set
from retention.services import clients_refresh_statuses, tasks_create_free_month_ending
from staff.models import User

# SPEC §1: the director must reach 4 times today's clients in 3 years.
GOAL_MULTIPLIER = 4
GOAL_YEARS = 3


@dataclass
class DemoResult:
    logins: list[DemoLogin]
    counts: dict[str, int]
    kpis: DemoKpis
    status_fixes: int
    seconds: dict[str, float] = field(default_factory=dict)


def demo_company_seed(
    *,
    clients: int = BASE_CLIENTS,
    years: int = 3,
    seed: int = 42,
    today: datetime.date,
) -> DemoResult:
    """Build the demo company in one transaction. Expects a database without clients and without
    the demo usernames (the command checks both)."""
    if clients < 10:
        raise ValueError("clients must be at least 10")
    if not 1 <= years <= 10:
        raise ValueError("years must be between 1 and 10")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # A first run measures how far the analytic starting base misses today's target; the second
    # run, from a corrected start and the same seed, is the one written.
    probe = Company(clients=clients, years=years, seed=seed, today=today)
    probe.simulate()
    size = round(probe.initial_size * clients / max(1, probe.base_today()))
    company = Company(clients=clients, years=years, seed=seed, today=today)
    company.simulate(initial_size=size)
    timings["simulate"] = time.perf_counter() - started
    with transaction.atomic():
        counts = company_write(company, timings=timings)
        mark = time.perf_counter()
        tables_analyze(apps.get_models())
        timings["statistics"] = time.perf_counter() - mark
        mark = time.perf_counter()
        contact_signals_refresh()
        timings["contact signals"] = time.perf_counter() - mark
        mark = time.perf_counter()
        status_fixes = clients_refresh_statuses(today=today)
        timings["statuses"] = time.perf_counter() - mark
        mark = time.perf_counter()
        # Today's night as the nightly job (SPEC §5) runs it, at the start of today: the
        # simulated cases past their return window are already declined.
        tasks_create_follow_ups(today=today)
        tasks_create_overdue_requests(now=company.at(today, 0))
        tasks_create_free_month_ending(today=today)
        timings["system tasks"] = time.perf_counter() - mark
        director = User.objects.get(pk=company.director.id)
        goal = goal_set(
            actor=director,
            start_on=today,
            start_clients=max(1, company.base_today()),
            target_on=_years_later(today, GOAL_YEARS),
            target_clients=GOAL_MULTIPLIER * clients,
        )
        mark = time.perf_counter()
        kpis = demo_kpis(today=today)
        timings["summary"] = time.perf_counter() - mark
        planner_scenarios_seed(
            director,
            months=list(kpis.months),
            target=goal.target_clients,
            target_month=months_to(goal.target_on, today),
        )
    timings["total"] = time.perf_counter() - started
    return DemoResult(
        logins=staff_logins(company.people),
        counts=counts,
        kpis=kpis,
        status_fixes=status_fixes,
        seconds=timings,
    )


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
