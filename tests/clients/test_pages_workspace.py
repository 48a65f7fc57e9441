"""The manager's workspace /my/ (SPEC §6): who opens it, today's work, the own book with its
filters, the manager's KPIs, completing tasks, and a query count that does not grow with data."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import (
    ClientKind,
    ClientRequest,
    ClientStatus,
    InteractionOutcome,
    Referral,
    RequestStatus,
    Task,
    TaskKind,
)
from kpi.models import KpiSnapshot, Scope
from tests.factories import ClientFactory, ContractFactory, InteractionFactory

KRASNOYARSK = zoneinfo.ZoneInfo("Asia/Krasnoyarsk")
# Friday 20 November 2026, 12:00 in Krasnoyarsk.
NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=KRASNOYARSK)
TODAY = NOW.date()
HTMX = {"HTTP_HX_REQUEST": "true"}


pytestmark = [pytest.mark.frozen_clock(NOW), pytest.mark.usefixtures("english_pages")]


def days_ago(days: int) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def active_client(manager, **fields):
    client = ClientFactory(manager=manager, status=ClientStatus.ACTIVE, **fields)
    ContractFactory(client=client, starts_on=datetime.date(2024, 1, 1))
    return client


def open_request(client, *, topic="Не сходится отчёт", due=None, status=RequestStatus.OPEN):
    due = due or NOW + datetime.timedelta(days=2)
    return ClientRequest.objects.create(
        client=client,
        logged_by=client.manager,
        topic=topic,
        opened_at=min(due, NOW) - datetime.timedelta(days=1),
        due_at=due,
        status=status,
        refusal_approved_by=client.manager if status == RequestStatus.REFUSED else None,
    )


def task(assignee, client, *, kind=TaskKind.FOLLOW_UP, due_on=TODAY, done=False, by=None):
    return Task.objects.create(
        assignee=assignee,
        client=client,
        kind=kind,
        due_on=due_on,
        done_at=NOW if done else None,
        created_by=by,
    )


def row_ids(html: str, testid: str) -> list[int]:
    block = re.search(rf'data-testid="{testid}"(.*?)</table>', html, re.S).group(1)
    return [int(pk) for pk in re.findall(r'data-client-id="(\d+)"', block)]


def section(html: str, testid: str) -> str:
    """The part of the page from the element with ``testid`` to the next section heading."""
    start = html.index(f'data-testid="{testid}"')
    end = html.find('<div class="section-title">', start)
    return html[start : end if end != -1 else len(html)]


# --- who opens it ---------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/my/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/my/"


@pytest.mark.parametrize(
    ("role_fixture", "status"),
    [
        ("manager", 200),
        ("mentor", 200),
        ("sales_manager", 200),
        ("director", 403),
    ],
)
def test_roles_that_keep_a_book_open_the_workspace(client, request, role_fixture, status):
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.get("/my/")

    assert response.status_code == status


def test_page_carries_the_spec_hooks(client, manager):
    client.force_login(manager)

    html = client.get("/my/").content.decode()

    for hook in ("my-clients", "my-tasks", "my-kpis"):
        assert f'data-testid="{hook}"' in html


@pytest.mark.parametrize(
    ("role_fixture", "own"),
    [
        ("manager", ["anna"]),
        ("mentor", ["oleg"]),
        ("colleague", ["boris"]),
        ("sales_manager", ["zhanna"]),
    ],
)
def test_the_book_is_only_the_users_own_clients(
    client, request, manager, colleague, mentor, outsider, sales_manager, role_fixture, own
):
    clients = {
        "anna": ClientFactory(manager=manager),
        "boris": ClientFactory(manager=colleague),
        "oleg": ClientFactory(manager=mentor),
        "gleb": ClientFactory(manager=outsider),
        "zhanna": ClientFactory(manager=sales_manager),
    }
    client.force_login(request.getfixturevalue(role_fixture))

    html = client.get("/my/").content.decode()

    assert row_ids(html, "my-clients") == [clients[key].pk for key in own]


# --- today ----------------------------------------------------------------------------------


def test_today_lists_open_tasks_due_today_or_earlier_oldest_first(client, manager, colleague):
    mine = active_client(manager, name="Школа 1")
    overdue = task(manager, mine, due_on=TODAY - datetime.timedelta(days=3))
    due_today = task(manager, mine, kind=TaskKind.REQUEST_OVERDUE)
    task(manager, mine, kind=TaskKind.AT_RISK, due_on=TODAY + datetime.timedelta(days=1))
    task(manager, mine, kind=TaskKind.MANUAL, done=True, by=manager)
    task(colleague, active_client(colleague), kind=TaskKind.FOLLOW_UP)
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-tasks")

    assert re.findall(r'data-task-id="(\d+)"', html) == [str(overdue.pk), str(due_today.pk)]
    assert '<span class="count count-alert" data-testid="tasks-count">2</span>' in html
    assert "overdue since 17 November" in html


def test_tasks_about_clients_moved_to_someone_else_are_not_listed(client, manager, colleague):
    moved = active_client(colleague)
    task(manager, moved)
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-tasks")

    assert "data-task-id" not in html
    assert '<span class="count" data-testid="tasks-count">0</span>' in html


def test_calls_planned_for_today_or_earlier_and_not_made_since(client, manager):
    planned = active_client(manager, name="Запланирован")
    InteractionFactory(client=planned, occurred_at=days_ago(7), next_contact_on=TODAY)
    called_since = active_client(manager, name="Уже позвонили")
    InteractionFactory(client=called_since, occurred_at=days_ago(7), next_contact_on=TODAY)
    InteractionFactory(client=called_since, occurred_at=days_ago(1))
    later = active_client(manager, name="Позже")
    InteractionFactory(client=later, occurred_at=days_ago(1), next_contact_on=TODAY.replace(day=30))
    gone = ClientFactory(manager=manager, name="Ушедший клиент", status=ClientStatus.LOST)
    InteractionFactory(client=gone, occurred_at=days_ago(90), next_contact_on=TODAY.replace(day=1))
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-tasks")

    planned_rows = re.findall(r'data-testid="planned-row">.*?<a [^>]+>([^<]+)</a>', html, re.S)
    assert planned_rows == ["Запланирован"]


def test_overdue_requests_and_clients_at_risk_are_listed(client, manager):
    late = active_client(manager, name="С просроченной заявкой")
    InteractionFactory(client=late, occurred_at=days_ago(2))
    open_request(late, topic="Обновить ЗУП", due=NOW - datetime.timedelta(hours=5))
    forgotten = active_client(manager, name="Забытый клиент")
    InteractionFactory(client=forgotten, occurred_at=days_ago(70))
    fine = active_client(manager, name="Всё хорошо")
    InteractionFactory(client=fine, occurred_at=days_ago(3))
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-tasks")

    overdue = re.findall(r'data-testid="overdue-request-row">.*?<a [^>]+>([^<]+)</a>', html, re.S)
    at_risk = re.findall(r'data-testid="at-risk-row">.*?<a [^>]+>([^<]+)</a>', html, re.S)
    assert overdue == ["С просроченной заявкой"]
    assert at_risk == ["Забытый клиент", "С просроченной заявкой"]
    assert "Обновить ЗУП" in html


def test_completing_a_task_without_javascript_redirects_back(client, manager):
    todo = task(manager, active_client(manager))
    client.force_login(manager)

    response = client.post(f"/my/tasks/{todo.pk}/complete/")

    assert response.status_code == 302
    assert response["Location"] == "/my/"
    todo.refresh_from_db()
    assert todo.done_at == NOW


def test_completing_a_task_with_htmx_returns_the_refreshed_today_block(client, manager):
    todo = task(manager, active_client(manager))
    client.force_login(manager)

    response = client.post(f"/my/tasks/{todo.pk}/complete/", **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="today" data-testid="my-tasks"')
    assert f'data-task-id="{todo.pk}"' not in html
    assert "Task done." in html


def test_nobody_completes_someone_elses_task(client, manager, colleague):
    theirs = task(colleague, active_client(colleague))
    client.force_login(manager)

    response = client.post(f"/my/tasks/{theirs.pk}/complete/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.done_at is None


def test_a_task_already_done_says_so(client, manager):
    done = task(manager, active_client(manager), done=True)
    client.force_login(manager)

    response = client.post(f"/my/tasks/{done.pk}/complete/", **HTMX)

    assert "The task is already done." in response.content.decode()


# --- the book and its filters ---------------------------------------------------------------


@pytest.fixture
def book(manager):
    reached = active_client(manager, name="А-школа", city="Канск")
    InteractionFactory(client=reached, occurred_at=days_ago(5))
    late = active_client(manager, name="Б-сад", kind=ClientKind.KINDERGARTEN)
    InteractionFactory(client=late, occurred_at=days_ago(45))
    InteractionFactory(client=late, occurred_at=days_ago(2), outcome=InteractionOutcome.NO_ANSWER)
    never = ClientFactory(manager=manager, name="В-больница", kind=ClientKind.HOSPITAL)
    overdue = active_client(manager, name="Г-администрация", kind=ClientKind.ADMINISTRATION)
    InteractionFactory(client=overdue, occurred_at=days_ago(1))
    open_request(overdue, due=NOW - datetime.timedelta(hours=1))
    late_task = active_client(manager, name="Д-культура", kind=ClientKind.CULTURE)
    InteractionFactory(client=late_task, occurred_at=days_ago(10))
    task(manager, late_task, kind=TaskKind.MANUAL, due_on=TODAY - datetime.timedelta(days=1))
    return {"reached": reached, "late": late, "never": never, "overdue": overdue, "task": late_task}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["reached", "late", "never", "overdue", "task"]),
        ("status=prospect", ["never"]),
        ("kind=kindergarten", ["late"]),
        ("city=Канск", ["reached"]),
        ("search=больница", ["never"]),
        ("last_contact=in_time", ["reached", "overdue", "task"]),
        ("last_contact=late", ["late", "never"]),
        ("last_contact=never", ["never"]),
        ("overdue=yes", ["overdue", "task"]),
        ("overdue=no", ["reached", "late", "never"]),
        ("ordering=last_contact", ["never", "late", "task", "reached", "overdue"]),
        ("ordering=risk", ["late", "overdue", "reached", "never", "task"]),
    ],
)
def test_book_filters_and_ordering(client, manager, book, query, expected):
    client.force_login(manager)

    html = client.get(f"/my/?{query}").content.decode()

    assert row_ids(html, "my-clients") == [book[key].pk for key in expected]


def test_an_invalid_filter_names_the_field_and_shows_no_rows(client, manager, book):
    client.force_login(manager)

    html = client.get("/my/?last_contact=yesterday").content.decode()

    assert row_ids(html, "my-clients") == []
    assert 'data-testid="filter-errors"' in html
    assert "Last contact: " in html


def test_filtering_with_htmx_returns_only_the_book(client, manager, book):
    client.force_login(manager)

    response = client.get("/my/?kind=kindergarten", **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<div class="card" id="book"')
    assert row_ids(html, "my-clients") == [book["late"].pk]
    assert 'data-testid="my-kpis"' not in html


def test_book_row_shows_contact_requests_risk_and_fee(client, manager, book):
    client.force_login(manager)

    html = client.get("/my/").content.decode()

    row = re.search(rf'data-client-id="{book["overdue"].pk}">(.*?)</tr>', html, re.S).group(1)
    assert "19.11.2026" in row
    assert '1 <span class="badge badge-danger" title="overdue">1</span>' in row
    assert "5,000&nbsp;₽" in row


def test_book_paginates_twenty_five_a_page(client, manager):
    for n in range(26):
        ClientFactory(manager=manager, name=f"Клиент {n:02d}")
    client.force_login(manager)

    first = client.get("/my/").content.decode()
    second = client.get("/my/?page=2").content.decode()

    assert len(row_ids(first, "my-clients")) == 25
    assert len(row_ids(second, "my-clients")) == 1
    assert "26 clients" in first


# --- KPIs -----------------------------------------------------------------------------------


def snapshot(user, month: datetime.date, **figures):
    return KpiSnapshot.objects.create(
        month=month, scope=Scope.MANAGER, scope_id=user.pk, computed_at=NOW, **figures
    )


def test_kpis_show_book_cadence_churn_referrals_and_growth(client, manager, colleague):
    manager.capacity = 4
    manager.save(update_fields=["capacity"])
    for days in (3, 40):
        InteractionFactory(client=active_client(manager), occurred_at=days_ago(days))
    active_client(manager)
    ClientFactory(manager=manager, status=ClientStatus.LOST)
    active_client(colleague)
    theirs = active_client(colleague)
    for organisation in ("Школа № 5", "Сад № 9"):
        Referral.objects.create(referrer=theirs, recorded_by=manager, organisation=organisation)
    snapshot(manager, datetime.date(2025, 11, 1), base_end=100)
    snapshot(manager, datetime.date(2025, 12, 1), base_end=101, churned=9, new_referral=7)
    snapshot(manager, datetime.date(2026, 5, 1), base_end=120, churned=2, new_referral=3)
    snapshot(
        manager,
        datetime.date(2026, 11, 1),
        base_end=130,
        churned=1,
        new_referral=2,
        annual_churn_rate=0.125,
    )
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-kpis")

    assert re.search(r'<div class="kpi-value">3 / 4</div>', html)
    assert "75&nbsp;%" in html
    assert "4 clients in the book" in html
    assert re.search(r'<div class="kpi-value">33&nbsp;%</div>', html)
    assert "1 of 3 active clients reached within 30 days" in html
    assert re.search(r'<div class="kpi-value">12.5&nbsp;%</div>', html)
    assert "12 clients lost in 12 months" in html
    assert re.search(r'<div class="kpi-value">2</div>', html)
    assert "this month; 12 in 12 months" in html
    assert "2 leads recorded this month" in html
    assert re.search(r'<div class="kpi-value">\+30</div>', html)
    assert "from 100 to 130 paying clients · +30.0&nbsp;%" in html


def test_kpis_without_snapshots_say_so(client, manager):
    client.force_login(manager)

    html = client.get("/my/").content.decode()

    assert "KPIs have not been computed yet." in html
    assert section(html, "my-kpis").count("No data yet") == 2


def test_growth_counts_a_missing_year_ago_row_as_zero(client, manager):
    snapshot(manager, datetime.date(2026, 10, 1), base_end=12)
    client.force_login(manager)

    html = section(client.get("/my/").content.decode(), "my-kpis")

    assert re.search(r'<div class="kpi-value">\+12</div>', html)
    assert "from 0 to 12 paying clients</div>" in html


# --- queries --------------------------------------------------------------------------------


def fill_book(manager, count: int, offset: int) -> None:
    """``count`` served clients, each with a contact, an overdue request and an overdue task,
    plus the manager's monthly KPI snapshots."""
    for n in range(count):
        c = active_client(manager, name=f"Клиент {offset + n:03d}")
        InteractionFactory(client=c, occurred_at=days_ago(n % 50), next_contact_on=TODAY)
        open_request(c, due=NOW - datetime.timedelta(hours=1 + n % 3))
        task(manager, c, due_on=TODAY - datetime.timedelta(days=n % 4))
    for n in range(min(count, 24)):
        month = datetime.date(2025 + n // 12, 1 + n % 12, 1)
        KpiSnapshot.objects.update_or_create(
            month=month,
            scope=Scope.MANAGER,
            scope_id=manager.pk,
            defaults={"computed_at": NOW, "base_end": offset + n},
        )


@pytest.mark.parametrize("role_fixture", ["manager", "mentor"])
def test_query_count_does_not_grow_with_the_book(client, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client.force_login(user)
    fill_book(user, 3, 0)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/my/").status_code == 200
    fill_book(user, 60, 100)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/my/?last_contact=in_time&overdue=yes&ordering=risk").status_code == 200

    assert len(small) == len(large)
    assert len(large) <= 20
