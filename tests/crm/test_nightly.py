"""The nightly chain (SPEC §5): every step in order, idempotent, and never two runs at once."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from clients.models import ClientRequest, ClientStatus, ContractKind, RequestStatus, Task, TaskKind
from crm.nightly import (
    NIGHTLY_LOCK_KEY,
    SKIPPED,
    lock_acquire,
    lock_release,
    nightly_chain_task,
)
from kpi.models import KpiSnapshot, Scope
from retention.models import CaseStatus, LostCase
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, LostCaseFactory

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
TODAY = datetime.date(2026, 11, 20)
NIGHT = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=KRASNOYARSK)
RUN = {"today": TODAY.isoformat(), "now": NIGHT.isoformat()}


@pytest.fixture
def world(manager, colleague, return_manager):
    """Stored statuses are stale on purpose: the chain must refresh them before making tasks.

    - ``paying``: a paid contract since 2024, stored as prospect, never contacted, with a
      request overdue since yesterday;
    - ``expired``: lost on 1 August (111 days ago), case still open: past the 90-day window;
    - ``free_month``: lost on 16 October, claimed, free month 23 October – 22 November;
    - ``agreed``: lost on 1 October, free month 19 October – 18 November, return agreed to
      ``colleague`` from today (its free month has ended, so it is stored as lost); reached by
      the return manager on 10 November, so it needs no follow-up.
    """
    paying = ClientFactory(manager=manager, status=ClientStatus.PROSPECT)
    ContractFactory(client=paying, starts_on=datetime.date(2024, 1, 1))
    ClientRequest.objects.create(
        client=paying,
        logged_by=manager,
        topic="Не проходит отчёт в ФНС",
        opened_at=datetime.datetime(2026, 11, 17, 10, 0, tzinfo=KRASNOYARSK),
        due_at=datetime.datetime(2026, 11, 19, 10, 0, tzinfo=KRASNOYARSK),
        status=RequestStatus.IN_PROGRESS,
    )

    expired = ClientFactory(manager=colleague, status=ClientStatus.LOST)
    ContractFactory(
        client=expired,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2026, 7, 31),
        termination_reason="competitor",
    )
    expired_case = LostCaseFactory(client=expired, lost_on=datetime.date(2026, 8, 1))

    free = ClientFactory(manager=colleague, status=ClientStatus.LOST)
    ContractFactory(
        client=free,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2026, 10, 15),
        termination_reason="price",
    )
    free_contract = ContractFactory(
        client=free,
        kind=ContractKind.FREE_MONTH,
        monthly_fee=Decimal("0"),
        starts_on=datetime.date(2026, 10, 23),
        ends_on=datetime.date(2026, 11, 22),
    )
    LostCaseFactory(
        client=free,
        lost_on=datetime.date(2026, 10, 16),
        status=CaseStatus.FREE_MONTH,
        return_manager=return_manager,
        free_month_contract=free_contract,
    )
    agreed = ClientFactory(manager=manager, status=ClientStatus.LOST)
    ContractFactory(
        client=agreed,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=datetime.date(2026, 9, 30),
        termination_reason="price",
    )
    agreed_free = ContractFactory(
        client=agreed,
        kind=ContractKind.FREE_MONTH,
        monthly_fee=Decimal("0"),
        starts_on=datetime.date(2026, 10, 19),
        ends_on=datetime.date(2026, 11, 18),
    )
    agreed_case = LostCaseFactory(
        client=agreed,
        lost_on=datetime.date(2026, 10, 1),
        lost_by=manager,
        status=CaseStatus.FREE_MONTH,
        return_manager=return_manager,
        free_month_contract=agreed_free,
        agreed_on=datetime.date(2026, 11, 1),
        agreed_by=return_manager,
        agreed_starts_on=TODAY,
        agreed_fee=Decimal("5000"),
        agreed_manager=colleague,
    )
    InteractionFactory(
        client=agreed,
        staff=return_manager,
        occurred_at=datetime.datetime(2026, 11, 10, 11, 0, tzinfo=KRASNOYARSK),
    )
    return {
        "paying": paying,
        "expired": expired,
        "case": expired_case,
        "free": free,
        "agreed": agreed_case,
    }


def tasks_by_kind():
    return sorted(
        Task.objects.filter(created_by__isnull=True).values_list(
            "kind", "client__name", "assignee__username", "due_on"
        )
    )


def test_nightly_chain_runs_every_step_in_order(world, manager, colleague, return_manager):
    done = nightly_chain_task.delay(**RUN).get()

    # Statuses: paying prospect → active and lost → free month by the first refresh; the expired
    # case's client lost → closed once its case is declined.
    assert {key: value for key, value in done.items() if key != "kpi_snapshots"} == {
        "statuses": 2,
        "agreed_returns": 1,
        "expired_cases": 1,
        "follow_ups": 1,
        "overdue_requests": 1,
        "free_month_ending": 1,
    }
    for key in ("paying", "expired", "free"):
        world[key].refresh_from_db()
    assert world["paying"].status == ClientStatus.ACTIVE
    assert world["free"].status == ClientStatus.FREE_MONTH
    assert world["expired"].status == ClientStatus.CLOSED

    case = LostCase.objects.get(pk=world["case"].pk)
    assert case.status == CaseStatus.DECLINED
    assert case.closed_on == datetime.date(2026, 10, 30)  # lost_on + 90 days, not the run day

    # The agreed return was carried out with its own day, to the agreed manager.
    agreed = LostCase.objects.select_related("client").get(pk=world["agreed"].pk)
    assert (agreed.status, agreed.returned_on, agreed.new_manager) == (
        CaseStatus.RETURNED,
        TODAY,
        colleague,
    )
    assert (agreed.client.status, agreed.client.manager) == (ClientStatus.ACTIVE, colleague)

    # The follow-up exists only because the status refresh ran first (paying was a prospect).
    paying, free = world["paying"].name, world["free"].name
    # (What the returned client's new manager is given is the reassignment's business.)
    assert [task for task in tasks_by_kind() if task[1] != agreed.client.name] == sorted(
        [
            (TaskKind.FOLLOW_UP, paying, manager.username, TODAY),
            (TaskKind.REQUEST_OVERDUE, paying, manager.username, TODAY),
            (
                TaskKind.FREE_MONTH_ENDING,
                free,
                return_manager.username,
                datetime.date(2026, 11, 22),
            ),
        ]
    )

    # KPI snapshots come last, from the refreshed history.
    assert done["kpi_snapshots"] == KpiSnapshot.objects.count() > 0
    november = KpiSnapshot.objects.get(
        month=datetime.date(2026, 11, 1), scope=Scope.DEPARTMENT, scope_id=0
    )
    assert (november.base_start, november.base_end, november.returned) == (1, 2, 1)
    assert cache.get(NIGHTLY_LOCK_KEY) is None


def test_a_second_night_changes_nothing(world):
    nightly_chain_task.delay(**RUN).get()
    tasks = tasks_by_kind()
    snapshots = KpiSnapshot.objects.count()

    again = nightly_chain_task.delay(**RUN).get()

    assert {key: value for key, value in again.items() if key != "kpi_snapshots"} == {
        "statuses": 0,
        "agreed_returns": 0,
        "expired_cases": 0,
        "follow_ups": 0,
        "overdue_requests": 0,
        "free_month_ending": 0,
    }
    assert again["kpi_snapshots"] == snapshots == KpiSnapshot.objects.count()
    assert tasks_by_kind() == tasks
    assert LostCase.objects.get(pk=world["case"].pk).closed_on == datetime.date(2026, 10, 30)


def test_a_run_while_another_holds_the_lock_is_skipped(world):
    token = lock_acquire(NIGHTLY_LOCK_KEY, timeout=60)
    assert token is not None

    assert nightly_chain_task.delay(**RUN).get() == SKIPPED

    world["paying"].refresh_from_db()
    assert world["paying"].status == ClientStatus.PROSPECT
    assert Task.objects.count() == 0
    assert LostCase.objects.get(pk=world["case"].pk).status == CaseStatus.OPEN
    assert KpiSnapshot.objects.count() == 0
    # The skipped run left the holder's lock alone.
    assert cache.get(NIGHTLY_LOCK_KEY) == token

    assert lock_release(NIGHTLY_LOCK_KEY, token) is True
    assert nightly_chain_task.delay(**RUN).get()["expired_cases"] == 1


def test_a_run_releases_only_its_own_lock(db):
    mine = lock_acquire(NIGHTLY_LOCK_KEY, timeout=60)
    assert lock_acquire(NIGHTLY_LOCK_KEY, timeout=60) is None
    # The lock expired and another run took it: the late first run must not free it.
    cache.delete(NIGHTLY_LOCK_KEY)
    theirs = lock_acquire(NIGHTLY_LOCK_KEY, timeout=60)
    assert lock_release(NIGHTLY_LOCK_KEY, mine) is False
    assert cache.get(NIGHTLY_LOCK_KEY) == theirs
    assert lock_release(NIGHTLY_LOCK_KEY, theirs) is True
    assert cache.get(NIGHTLY_LOCK_KEY) is None


def test_the_beat_schedule_runs_the_chain_at_two_in_the_night():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-chain"]
    assert entry["task"] == nightly_chain_task.name == "crm.nightly.nightly_chain_task"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})


def test_the_chain_retries_only_transient_database_errors():
    assert nightly_chain_task.autoretry_for == (OperationalError, InterfaceError)
    assert nightly_chain_task.max_retries == 3
