"""The director's dashboard /dashboard/ (SPEC §4, §6): who gets in, the tiles against their targets,
the tables per group and manager, the churn reasons, the period selector, a constant number of
queries, and the recompute button with Redis up, down, or absent (embedded mode)."""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError

from clients.models import TerminationReason
from core.dates import add_months
from kpi.dashboard_selectors import short_name
from kpi.metrics import goal_monthly_growth, goal_plan
from kpi.models import Goal, KpiSnapshot, Scope
from kpi.tasks import kpi_recompute_task
from staff.models import Role
from tests.factories import ClientFactory, ContractFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
THIS = timezone.localdate().replace(day=1)
PREV = add_months(THIS, -1)
YEAR_AGO = add_months(THIS, -11)  # the first month of the default 12-month period


def month_end(month: datetime.date) -> datetime.date:
    return add_months(month, 1) - datetime.timedelta(days=1)


def snap(month, scope=Scope.DEPARTMENT, scope_id=0, computed_at=None, **figures) -> KpiSnapshot:
    return KpiSnapshot.objects.create(
        month=month,
        scope=scope,
        scope_id=scope_id,
        computed_at=computed_at or timezone.now(),
        **figures,
    )


@pytest.fixture
def department(db):
    """Last month and this month of the department; a goal whose plan is 1,000 at this month's end."""
    snap(
        PREV,
        base_end=990,
        new_referral=90,
        annual_churn_rate=0.07,
        annual_churn_rate_controllable=0.05,
        return_rate_12m=0.55,
        mrr_end=Decimal("4950000"),
    )
    snap(
        THIS,
        base_start=990,
        base_end=980,
        new_clients=130,
        new_referral=120,
        returned=4,
        churned=144,
        churned_natural=20,
        annual_churn_rate=0.058,
        annual_churn_rate_controllable=0.045,
        cases_returned=3,
        cases_declined=2,
        return_rate=0.6,
        return_rate_12m=0.5,
        mrr_end=Decimal("4900000"),
    )
    start = month_end(THIS)
    return Goal.objects.create(
        start_on=start,
        start_clients=1000,
        target_on=start.replace(year=start.year + 3),
        target_clients=4000,
    )


@pytest.fixture
def books(department, director, mentor, manager, colleague, outsider, other_mentor):
    """Snapshots of the two mentor groups and their people over the last 12 months (and one
    older month that the default period must leave out)."""
    snap(add_months(THIS, -12), Scope.MANAGER, manager.pk, churned=50, base_end=100)
    snap(
        YEAR_AGO,
        Scope.MANAGER,
        manager.pk,
        base_start=100,
        churned=4,
        churned_natural=2,
        new_clients=20,
        new_referral=20,
        transferred_in=3,
    )
    snap(
        THIS,
        Scope.MANAGER,
        manager.pk,
        base_end=130,
        churned=6,
        new_clients=18,
        new_referral=15,
        returned=5,
        transferred_out=1,
        cases_returned=3,
        cases_declined=1,
        mrr_end=Decimal("650000"),
    )
    snap(THIS, Scope.MANAGER, colleague.pk, base_start=10, base_end=10)
    snap(THIS, Scope.MANAGER, outsider.pk, base_start=40, base_end=44, new_referral=4)
    snap(YEAR_AGO, Scope.GROUP, mentor.pk, base_start=110, churned=4, churned_natural=2)
    snap(
        THIS,
        Scope.GROUP,
        mentor.pk,
        base_start=135,
        base_end=140,
        churned=6,
        new_referral=15,
        cases_returned=3,
        cases_declined=1,
        return_rate_12m=0.75,
        annual_churn_rate=10 / 110,
    )
    snap(PREV, Scope.GROUP, mentor.pk, base_end=135, return_rate_12m=0.7, new_referral=10)
    snap(THIS, Scope.GROUP, other_mentor.pk, base_start=40, base_end=44, new_referral=4)


def login(client, user):
    client.force_login(user)
    return client


# --- who gets in ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["manager", "outsider", "return_manager", "sales_manager"])
def test_client_return_and_sales_managers_get_403(client, role, request):
    user = request.getfixturevalue(role)
    assert login(client, user).get("/dashboard/").status_code == 403
    assert client.post("/dashboard/recompute/").status_code == 403
    assert client.get("/dashboard/export/managers.csv").status_code == 403


def test_director_sees_every_hook(client, books, director):
    response = login(client, director).get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    for hook in (
        "kpi-annual-churn",
        "kpi-referrals-month",
        "kpi-return-rate",
        "kpi-base",
        "chart-base-vs-goal",
        "chart-churn",
        "chart-referrals",
        "chart-return-rate",
        "chart-mrr",
        "table-managers",
        "table-groups",
        "table-reasons",
        "table-months",
        "computed-at",
        "recompute-button",
        'id="dashboard-data"',
    ):
        assert hook in html, hook
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "stale-warning" not in html


# --- tiles ------------------------------------------------------------------------------------


def test_tiles_compare_each_kpi_with_its_target_and_last_month(client, department, director):
    board = login(client, director).get("/dashboard/").context["board"]
    tiles = board.tiles
    assert tiles["annual_churn"]["value"] == 0.058
    assert tiles["annual_churn"]["status"] == "warn"  # 5.8 % is within 20 % of the 5 % target
    assert tiles["annual_churn"]["trend"]["verdict"] == "better"
    assert tiles["annual_churn"]["trend"]["delta"] == pytest.approx(-0.012)
    assert tiles["referrals"]["value"] == 120
    assert tiles["referrals"]["status"] == "ok"
    assert tiles["referrals"]["trend"] == {"delta": 30, "verdict": "better", "direction": "up"}
    assert tiles["return_rate"]["value"] == 0.5
    assert tiles["return_rate"]["status"] == "danger"  # 50 % is far from 70 %
    assert tiles["return_rate"]["trend"]["verdict"] == "worse"
    assert tiles["base"]["value"] == 980
    assert tiles["base"]["target"] == 1000  # the plan line at this month's end
    assert tiles["base"]["gap"] == -20
    assert tiles["base"]["status"] == "warn"  # 2 % behind the plan
    assert tiles["base"]["trend"] == {"delta": -10, "verdict": "worse", "direction": "down"}


def test_tile_statuses_are_in_the_page(client, department, director):
    html = login(client, director).get("/dashboard/").content.decode()
    assert 'data-testid="kpi-annual-churn" data-status="warn"' in html
    assert 'data-testid="kpi-referrals-month" data-status="ok"' in html
    assert 'data-testid="kpi-return-rate" data-status="danger"' in html
    assert 'data-testid="kpi-base" data-status="warn"' in html


def test_base_on_plan_is_green_and_far_behind_is_red(client, department, director):
    KpiSnapshot.objects.filter(month=THIS, scope=Scope.DEPARTMENT).update(base_end=1000)
    assert login(client, director).get("/dashboard/").context["board"].tiles["base"]["status"] == (
        "ok"
    )
    KpiSnapshot.objects.filter(month=THIS, scope=Scope.DEPARTMENT).update(base_end=960)
    assert client.get("/dashboard/").context["board"].tiles["base"]["status"] == "danger"


def test_without_a_goal_the_base_has_no_target(client, department, director):
    Goal.objects.all().delete()
    board = login(client, director).get("/dashboard/").context["board"]
    assert board.tiles["base"]["target"] is None
    assert board.tiles["base"]["status"] == "neutral"
    assert board.chart["plan"] == [None, None]
    assert "ahead" not in board.chart


def test_chart_data_is_embedded_for_the_chart_library(client, department, director):
    board = login(client, director).get("/dashboard/").context["board"]
    chart = board.chart
    assert chart["base"] == [990, 980]
    assert chart["plan"] == [None, 1000]  # the goal starts this month
    assert chart["churn_natural"] == [0, 20]
    assert chart["churn_controllable"] == [0, 124]
    assert chart["referrals"] == [90, 120]
    assert chart["return_rate"] == [None, 60.0]  # no case closed last month: no rate
    assert chart["return_rate_12m"] == [55.0, 50.0]
    assert chart["mrr"] == [4950000.0, 4900000.0]
    assert chart["targets"] == {"referrals": 100, "return_rate": 70.0}
    goal = Goal.objects.get()
    ahead = [add_months(THIS, i) for i in (1, 2, 3)]
    assert chart["ahead"]["plan"] == [goal_plan(goal, month_end(m)) for m in ahead]
    assert round(goal_monthly_growth(goal), 4) == 0.0393  # ×4 in 36 months


def test_computed_at_and_a_stale_warning(client, department, director):
    computed = timezone.now() - datetime.timedelta(days=3)
    KpiSnapshot.objects.update(computed_at=computed)
    response = login(client, director).get("/dashboard/")
    board = response.context["board"]
    assert board.computed_at == computed
    assert board.stale is True
    html = response.content.decode()
    assert 'data-testid="stale-warning"' in html
    assert f'data-computed-at="{timezone.localtime(computed).isoformat()}"' in html


def test_a_dashboard_without_snapshots_says_so(client, director):
    response = login(client, director).get("/dashboard/")
    assert response.status_code == 200
    assert response.context["board"].empty
    html = response.content.decode()
    assert 'data-testid="dashboard-empty"' in html
    assert 'data-testid="recompute-button"' in html


# --- tables -----------------------------------------------------------------------------------


def manager_row(board, user) -> dict:
    return next(row for row in board.managers if row["id"] == user.pk)


def test_manager_rows_sum_the_period_and_link_to_the_book(client, books, director, manager):
    board = login(client, director).get("/dashboard/").context["board"]
    row = manager_row(board, manager)
    assert {key: row[key] for key in row if key not in ("role", "group")} == {
        "id": manager.pk,
        "name": "Клиент-менеджер Анна",
        "is_active": True,
        "capacity": 150,
        "book_start": 100,
        "book": 130,
        "load": 130 / 150,
        "growth": 0.28,  # (130 − 100 − 3 handed in + 1 handed out) / 100
        "growth_status": "warn",  # below the 30 % a year of a good manager, above zero
        "new_clients": 38,
        "new_referral": 35,
        "returned": 5,
        "churned": 10,  # the month before the period is left out
        "churned_natural": 2,
        "churned_controllable": 8,
        "churn_rate": 0.1,
        "transferred_in": 3,
        "transferred_out": 1,
        "cases_returned": 3,
        "cases_declined": 1,
        "return_rate": 0.75,
        "mrr": Decimal("650000.00"),
        "clients_url": f"/clients/?manager={manager.pk}",
    }
    assert row["group"] == "Наставник О."
    html = client.get("/dashboard/").content.decode()
    assert f'href="/clients/?manager={manager.pk}"' in html


def test_people_without_rows_show_zeros_and_dismissed_people_stay_with_their_figures(
    client, books, director, mentor, colleague
):
    idle = UserFactory(role=Role.CLIENT_MANAGER, mentor=mentor, full_name="Новичок Пётр")
    colleague.is_active = False
    colleague.dismissed_on = THIS
    colleague.save(update_fields=["is_active", "dismissed_on"])
    board = login(client, director).get("/dashboard/").context["board"]
    fresh = manager_row(board, idle)
    assert (fresh["book"], fresh["churned"], fresh["growth"], fresh["churn_rate"]) == (
        0,
        0,
        None,
        None,
    )
    gone = manager_row(board, colleague)
    assert (gone["is_active"], gone["book"]) == (False, 10)
    assert [row["id"] for row in board.managers if row["id"] == director.pk] == []


def test_group_rows_for_the_director(client, books, director, mentor, other_mentor):
    board = login(client, director).get("/dashboard/").context["board"]
    # By the mentor's name: Наставник Вера, Наставник Олег.
    assert [row["id"] for row in board.groups] == [other_mentor.pk, mentor.pk]
    group = board.groups[1]
    assert (group["members"], group["capacity"], group["book_start"], group["book"]) == (
        3,
        450,
        110,
        140,
    )
    assert group["churn_rate"] == 10 / 110
    assert group["return_rate"] == 0.75


def test_a_mentor_sees_their_own_group_only(
    client, books, mentor, manager, colleague, outsider, other_mentor
):
    response = login(client, mentor).get("/dashboard/")
    assert response.status_code == 200
    board = response.context["board"]
    assert board.group == mentor
    assert sorted(row["id"] for row in board.managers) == sorted(
        [mentor.pk, manager.pk, colleague.pk]
    )
    assert [row["id"] for row in board.groups] == [mentor.pk]
    assert board.tiles["base"]["value"] == 140  # the group's base, not the department's
    assert board.tiles["base"]["target"] is None  # the goal is the department's
    assert board.tiles["referrals"]["status"] == "neutral"
    assert board.tiles["return_rate"]["value"] == 0.75
    html = response.content.decode()
    assert outsider.full_name not in html
    assert other_mentor.full_name not in html
    assert 'data-testid="recompute-button"' not in html
    assert 'data-testid="goal-edit"' not in html


def test_churn_reasons_count_terminations_in_the_period(client, department, director, manager):
    def terminated(owner, ends_on, reason):
        ContractFactory(
            client=ClientFactory(manager=owner),
            starts_on=datetime.date(2020, 1, 1),
            ends_on=ends_on,
            termination_reason=reason,
        )

    first_loss_day = YEAR_AGO
    terminated(manager, first_loss_day - datetime.timedelta(days=1), TerminationReason.PRICE)
    terminated(manager, THIS, TerminationReason.COMPETITOR)
    terminated(manager, THIS, TerminationReason.COMPETITOR)
    terminated(manager, THIS, TerminationReason.MERGER)
    # Lost before the period, lost after it (the day after the month's last day), no reason (a
    # fee change ends a contract without a loss).
    terminated(manager, first_loss_day - datetime.timedelta(days=2), TerminationReason.PRICE)
    terminated(manager, month_end(THIS), TerminationReason.PRICE)
    terminated(manager, THIS, "")

    board = login(client, director).get("/dashboard/").context["board"]
    assert [(r["reason"], r["natural"], r["count"], r["share"]) for r in board.reasons] == [
        ("competitor", False, 2, 0.5),
        ("merger", True, 1, 0.25),
        ("price", False, 1, 0.25),
    ]


def test_a_mentor_sees_only_the_reasons_of_their_group(client, department, mentor, outsider):
    ContractFactory(
        client=ClientFactory(manager=outsider),
        starts_on=datetime.date(2020, 1, 1),
        ends_on=THIS,
        termination_reason=TerminationReason.PRICE,
    )
    ContractFactory(
        client=ClientFactory(manager=mentor),
        starts_on=datetime.date(2020, 1, 1),
        ends_on=THIS,
        termination_reason=TerminationReason.BUDGET,
    )
    snap(THIS, Scope.GROUP, mentor.pk, base_end=5)
    board = login(client, mentor).get("/dashboard/").context["board"]
    assert [row["reason"] for row in board.reasons] == ["budget"]


# --- period -----------------------------------------------------------------------------------


def test_the_period_selector_picks_the_months(client, director):
    for back in range(30):
        snap(add_months(THIS, -back), base_end=100 + back)
    login(client, director)
    assert len(client.get("/dashboard/").context["board"].months) == 12
    board = client.get("/dashboard/?period=24").context["board"]
    assert len(board.months) == 24
    assert board.month_from == add_months(THIS, -23)
    assert len(client.get("/dashboard/?period=all").context["board"].months) == 30
    assert len(client.get("/dashboard/?period=6").context["board"].months) == 6
    # A stale or tampered link opens the default period instead of failing.
    response = client.get("/dashboard/?period=1000")
    assert response.status_code == 200
    assert len(response.context["board"].months) == 12
    html = client.get("/dashboard/?period=24").content.decode()
    assert 'href="?period=24" data-testid="period-24" aria-current="true"' in html
    assert "/dashboard/export/managers.csv?period=24" in html


# --- queries ----------------------------------------------------------------------------------


def build_department(*, groups: int, per_group: int, months: int, lead=None) -> None:
    """Snapshots of ``groups`` mentor groups (``lead``'s the first one when given) over
    ``months`` months, and a few terminated contracts."""
    mentors = [lead] if lead is not None else []
    mentors += [UserFactory(role=Role.MENTOR) for _ in range(groups - len(mentors))]
    people = [
        UserFactory(role=Role.CLIENT_MANAGER, mentor=mentor)
        for mentor in mentors
        for _ in range(per_group)
    ]
    now = timezone.now()
    rows = []
    for back in range(months):
        month = add_months(THIS, -back)
        rows.append(KpiSnapshot(month=month, scope=Scope.DEPARTMENT, computed_at=now, base_end=500))
        rows += [
            KpiSnapshot(month=month, scope=Scope.GROUP, scope_id=m.pk, computed_at=now)
            for m in mentors
        ]
        rows += [
            KpiSnapshot(month=month, scope=Scope.MANAGER, scope_id=p.pk, computed_at=now)
            for p in [*mentors, *people]
        ]
    KpiSnapshot.objects.bulk_create(rows)
    for person in people[:: max(1, len(people) // 5)]:
        ContractFactory(
            client=ClientFactory(manager=person),
            starts_on=datetime.date(2020, 1, 1),
            ends_on=THIS,
            termination_reason=TerminationReason.PRICE,
        )


def queries_for(client, url: str) -> int:
    # A first request stamps a fresh session's start (crm.middleware), a write the page itself
    # does not cost: measure the second one.
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["director", "mentor"])
def test_the_dashboard_costs_the_same_queries_at_any_size(client, db, director, who, request):
    user = request.getfixturevalue(who)
    Goal.objects.create(
        start_on=THIS, start_clients=100, target_on=add_months(THIS, 36), target_clients=400
    )
    login(client, user)
    lead = user if who == "mentor" else None
    build_department(groups=1, per_group=2, months=3, lead=lead)
    small = queries_for(client, "/dashboard/?period=all")
    KpiSnapshot.objects.all().delete()
    build_department(groups=6, per_group=8, months=40, lead=lead)
    large = queries_for(client, "/dashboard/?period=all")
    assert small == large
    # Twelve for the KPIs and the hiring warning, two for the referral funnel and top referrers.
    assert large <= 14


# --- recompute --------------------------------------------------------------------------------


def test_recompute_in_embedded_mode_finishes_at_once(client, transactional_db, director, manager):
    ContractFactory(client=ClientFactory(manager=manager), starts_on=add_months(THIS, -2))
    login(client, director)
    response = client.post("/dashboard/recompute/", {"period": "24"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?period=24"
    assert KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT).count() == 3
    page = client.get(response["Location"])
    assert len(list(page.context["messages"])) == 1
    assert page.context["board"].tiles["base"]["value"] == 1


def test_recompute_with_htmx_redirects_the_page_when_done(client, transactional_db, director):
    login(client, director)
    response = client.post("/dashboard/recompute/", {"period": "6"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/dashboard/?period=6"


@pytest.fixture
def worker_mode(monkeypatch):
    """As in production with a worker: tasks are queued, not run in the request."""
    monkeypatch.setattr(kpi_recompute_task.app.conf, "task_always_eager", False)


@pytest.fixture
def redis_down(monkeypatch, worker_mode):
    """Redis refuses connections: sending a task fails as kombu reports it, reading a task's
    state fails as the redis client reports it."""

    def refuse(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def unreadable(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(kpi_recompute_task, "apply_async", refuse)
    monkeypatch.setattr(kpi_recompute_task, "AsyncResult", unreadable)


def test_with_redis_down_the_dashboard_renders_and_says_recompute_is_unavailable(
    client, transactional_db, department, director, redis_down
):
    login(client, director)
    assert client.get("/dashboard/").status_code == 200

    response = client.post("/dashboard/recompute/", {"period": "12"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="unavailable"' in html
    assert 'role="alert"' in html
    assert KpiSnapshot.objects.count() == 2  # the stored figures stay

    response = client.post("/dashboard/recompute/", {"period": "12"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert len(list(page.context["messages"])) == 1
    assert page.context["board"].tiles["base"]["value"] == 980


def test_a_queued_recompute_shows_progress_until_it_is_done(
    client, department, director, worker_mode
):
    task_id = str(uuid.uuid4())
    backend = kpi_recompute_task.backend
    backend.store_result(task_id, {"stage": "computing"}, "PROGRESS")
    login(client, director)

    page = client.get(f"/dashboard/?period=24&task={task_id}")
    html = page.content.decode()
    assert 'data-state="running"' in html
    poll = re.search(r'hx-get="(/dashboard/recompute/[^"]+)"', html).group(1)
    assert poll == f"/dashboard/recompute/{task_id}/?period=24&amp;polls=0"

    fragment = client.get(f"/dashboard/recompute/{task_id}/?period=24&polls=0", **HTMX)
    assert 'data-state="running"' in fragment.content.decode()
    assert "polls=1" in fragment.content.decode()

    backend.store_result(task_id, {"rows": 10}, "SUCCESS")
    done = client.get(f"/dashboard/recompute/{task_id}/?period=24&polls=1", **HTMX)
    assert done["HX-Redirect"] == "/dashboard/?period=24"

    broken = str(uuid.uuid4())
    backend.store_result(broken, RuntimeError("boom"), "FAILURE")
    failed = client.get(f"/dashboard/recompute/{broken}/?period=24", **HTMX)
    assert 'data-state="failed"' in failed.content.decode()


def test_progress_stops_polling_after_too_long(client, department, director, worker_mode):
    task_id = str(uuid.uuid4())
    login(client, director)
    fragment = client.get(f"/dashboard/recompute/{task_id}/?polls=299", **HTMX)
    html = fragment.content.decode()
    assert 'data-state="lost"' in html
    assert "hx-get" not in html


def test_progress_with_redis_down_says_so(client, department, director, redis_down):
    login(client, director)
    fragment = client.get(f"/dashboard/recompute/{uuid.uuid4()}/", **HTMX)
    assert fragment.status_code == 200
    assert 'data-state="unavailable"' in fragment.content.decode()


def test_only_the_director_recomputes(client, mentor):
    login(client, mentor)
    assert client.post("/dashboard/recompute/").status_code == 403
    assert client.get(f"/dashboard/recompute/{uuid.uuid4()}/").status_code == 403


def test_short_names():
    assert short_name("Александров Вадим Валерьевич") == "Александров В. В."
    assert short_name("Наставник Олег") == "Наставник О."
    assert short_name("Иванов") == "Иванов"
    assert short_name("") == ""


# --- the people tables, page by page ------------------------------------------------------------


@pytest.fixture
def thirty_managers(db):
    """30 client managers, "Менеджер 00" … "Менеджер 29"; manager i had 100 clients a year ago
    and lost i of them this month, except the last one, who has no figures at all (no churn
    rate)."""
    snap(THIS, base_end=500)
    people = [
        UserFactory(role=Role.CLIENT_MANAGER, full_name=f"Менеджер {i:02d}") for i in range(30)
    ]
    for i, person in enumerate(people[:-1]):
        snap(YEAR_AGO, Scope.MANAGER, person.pk, base_start=100, base_end=100)
        snap(THIS, Scope.MANAGER, person.pk, base_start=100, base_end=100 - i, churned=i)
    return people


def test_the_manager_table_shows_the_first_25_rows_by_name(client, thirty_managers, director):
    response = login(client, director).get("/dashboard/")
    page = response.context["tables"]["managers"]
    assert [row["id"] for row in page.rows] == [p.pk for p in thirty_managers[:25]]
    assert (page.total, page.number, page.pages, page.start, page.end) == (30, 1, 2, 1, 25)
    assert (page.previous_url, page.next_url) == (None, "?period=12&managers_page=2")
    assert len(response.context["board"].managers) == 30  # the exports' rows
    html = response.content.decode()
    assert html.count('data-testid="manager-row"') == 25
    assert 'data-testid="table-managers" data-total="30" data-page="1"' in html
    pager = re.search(r'data-testid="pager-managers">\s*<span class="muted">([^<]*)</span>', html)
    assert re.fullmatch(r"\D*1–25\D+30", pager.group(1))  # "Rows 1–25 of 30", translated
    assert "Менеджер 24" in html
    assert "Менеджер 25" not in html
    assert "aria-sort" not in html  # the table's own order: by name


def test_the_manager_table_sorts_by_an_allowed_column_on_the_server(
    client, thirty_managers, director
):
    login(client, director)
    response = client.get("/dashboard/?period=12&managers_sort=-churn_rate")
    page = response.context["tables"]["managers"]
    churn = [person.pk for person in reversed(thirty_managers[:-1])]
    assert [row["id"] for row in page.rows] == churn[:25]
    assert [row["churn_rate"] for row in page.rows[:3]] == [0.28, 0.27, 0.26]
    header = {column["key"]: column for column in page.headers}
    assert header["churn_rate"]["state"] == "descending"
    # A second click turns the order round; another column starts from its highest figure.
    assert header["churn_rate"]["url"] == "?period=12&managers_sort=churn_rate"
    assert header["book"]["url"] == "?period=12&managers_sort=-book"
    assert header["name"]["url"] == "?period=12&managers_sort=name"
    assert page.next_url == "?period=12&managers_sort=-churn_rate&managers_page=2"
    html = response.content.decode()
    assert 'data-sort-key="churn_rate" aria-sort="descending"' in html

    # The second page: the rest, the manager without figures last.
    response = client.get("/dashboard/?managers_sort=-churn_rate&managers_page=2")
    page = response.context["tables"]["managers"]
    assert [row["id"] for row in page.rows] == [*churn[25:], thirty_managers[-1].pk]
    assert (page.start, page.end, page.next_url) == (26, 30, None)
    assert page.previous_url == "?period=12&managers_sort=-churn_rate"

    # Ascending: the manager without figures is still last.
    page = client.get("/dashboard/?managers_sort=churn_rate&managers_page=2").context["tables"]
    assert page["managers"].rows[-1]["id"] == thirty_managers[-1].pk
    assert page["managers"].rows[0]["churn_rate"] == 0.25


@pytest.mark.parametrize(
    ("query", "number"),
    [
        ("managers_sort=password&managers_page=2", 2),
        ("managers_sort=-__class__", 1),
        ("managers_page=x", 1),
        ("managers_page=-3", 1),
        ("managers_page=99", 2),
    ],
)
def test_unknown_sort_keys_and_pages_fall_back(client, thirty_managers, director, query, number):
    response = login(client, director).get(f"/dashboard/?{query}")
    assert response.status_code == 200
    page = response.context["tables"]["managers"]
    assert (page.sort, page.number) == ("", number)
    names = [row["name"] for row in page.rows]
    assert names == sorted(names)


def test_links_keep_the_period_and_the_other_tables_order(client, thirty_managers, director):
    login(client, director)
    url = "/dashboard/?period=24&groups_sort=-mrr&managers_sort=group&managers_page=2&task=x"
    tables = client.get(url).context["tables"]
    assert tables["managers"].previous_url == "?period=24&groups_sort=-mrr&managers_sort=group"
    header = {column["key"]: column["url"] for column in tables["groups"].headers}
    # Sorting the groups again starts them from their first page and keeps the managers' page.
    assert header["mrr"] == ("?period=24&managers_sort=group&managers_page=2&groups_sort=mrr")


def test_a_header_link_with_htmx_swaps_only_its_table(client, thirty_managers, director):
    login(client, director)
    response = client.get(
        "/dashboard/?managers_sort=-churn_rate&managers_page=2",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="managers-card",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card table-card" id="managers-card">')
    assert html.count('data-testid="manager-row"') == 5
    assert 'hx-target="#managers-card"' in html
    for absent in ("table-groups", "kpi-base", "dashboard-data", "<html"):
        assert absent not in html


def test_the_export_holds_every_row_whatever_the_page(client, thirty_managers, director):
    login(client, director)
    body = client.get("/dashboard/export/managers.csv?managers_sort=-churn_rate&managers_page=2")
    rows = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert len(rows) == 31
    assert [row[0] for row in rows[1:4]] == ["Менеджер 00", "Менеджер 01", "Менеджер 02"]
