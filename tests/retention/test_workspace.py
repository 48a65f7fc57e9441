"""The return manager's workspace /my/ (SPEC §11): who gets which workspace, their tasks (with the
done button only where a task may be ticked off), the free months ending, the returns due today
and their cases by stage; a constant number of queries."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from clients.models import STATE_MIRRORING_TASKS, ClientStatus, ContractKind, Task, TaskKind
from retention.models import CaseStatus, LostCase
from retention.services import lost_cases_carry_out_agreed_returns
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory

D = datetime.date
TODAY = D(2026, 11, 15)
LOST_ON = D(2026, 10, 1)
NOW = datetime.datetime(2026, 11, 15, 3, 0, tzinfo=datetime.UTC)  # 10:00 in Krasnoyarsk

pytestmark = pytest.mark.frozen_clock(NOW)


def html(response) -> str:
    return response.content.decode()


def section(response, hook: str) -> str:
    match = re.search(rf'<section[^>]*data-testid="{hook}".*?</section>', html(response), re.S)
    assert match, hook
    return match.group(0)


def case_ids(fragment: str, row: str) -> list[int]:
    return [int(pk) for pk in re.findall(rf'data-testid="{row}" data-case-id="(\d+)"', fragment)]


def in_work(name, manager, holder, *, lost_on=LOST_ON, free=None, agreed=None, **fields):
    """A case of ``holder``: claimed, or in a free month ``free`` = (start, end), optionally with
    a return agreed ``agreed`` = (day, new manager)."""
    client = ClientFactory(name=name, manager=manager, status=ClientStatus.LOST)
    ContractFactory(
        client=client, ends_on=lost_on - datetime.timedelta(days=1), termination_reason="price"
    )
    values = {
        "client": client,
        "lost_on": lost_on,
        "lost_by": manager,
        "status": CaseStatus.CLAIMED,
        "return_manager": holder,
        **fields,
    }
    if free is not None:
        values["status"] = CaseStatus.FREE_MONTH
        values["free_month_contract"] = ContractFactory(
            client=client,
            kind=ContractKind.FREE_MONTH,
            monthly_fee=Decimal("0"),
            starts_on=free[0],
            ends_on=free[1],
        )
    if agreed is not None:
        values |= {
            "agreed_on": D(2026, 11, 1),
            "agreed_by": holder,
            "agreed_starts_on": agreed[0],
            "agreed_fee": Decimal("6500"),
            "agreed_manager": agreed[1],
        }
    return LostCaseFactory(**values)


@pytest.fixture
def desk(manager, colleague, return_manager, second_return_manager, director):
    """The return manager's cases on 15 November:

    - ``returned``: agreed from today, carried out by the night's run;
    - ``claimed``: claimed, lost on 1 October;
    - ``ending``: free month 18 October – 17 November (2 days left), with its ending task;
    - ``agreed``: free month 1 – 30 November, return agreed from 1 December;
    - ``waiting``: free month ended yesterday, return agreed from today, not yet carried out;
    - ``failed``: return agreed from yesterday, not carried out (the manager chosen left);
    - a colleague's case in a free month, which is not theirs.
    And two tasks given by the director, due today and in four days.
    """
    returned = in_work(
        "МБОУ СОШ № 3",
        manager,
        return_manager,
        free=(D(2026, 10, 15), D(2026, 11, 14)),
        agreed=(TODAY, colleague),
    )
    assert lost_cases_carry_out_agreed_returns(today=TODAY) == 1
    cases = {
        "returned": returned,
        "claimed": in_work("ГБУЗ Больница № 1", manager, return_manager),
        "ending": in_work(
            "МБДОУ Детский сад № 8",
            manager,
            return_manager,
            free=(D(2026, 10, 18), D(2026, 11, 17)),
        ),
        "agreed": in_work(
            "Администрация села",
            manager,
            return_manager,
            free=(D(2026, 11, 1), D(2026, 11, 30)),
            agreed=(D(2026, 12, 1), colleague),
        ),
        "waiting": in_work(
            "Дом культуры",
            manager,
            return_manager,
            free=(D(2026, 10, 15), D(2026, 11, 14)),
            agreed=(TODAY, colleague),
        ),
        "failed": in_work(
            "МКУ ЦБ района",
            manager,
            return_manager,
            free=(D(2026, 10, 14), D(2026, 11, 13)),
            agreed=(D(2026, 11, 14), colleague),
            agreed_failure="Выберите действующего клиент-менеджера.",
        ),
        "not_mine": in_work(
            "Гимназия № 2", manager, second_return_manager, free=(D(2026, 11, 1), D(2026, 11, 30))
        ),
    }
    cases["ending_task"] = Task.objects.create(
        assignee=return_manager,
        client=cases["ending"].client,
        kind=TaskKind.FREE_MONTH_ENDING,
        due_on=D(2026, 11, 17),
    )
    cases["overdue_task"] = Task.objects.create(
        assignee=return_manager,
        client=cases["failed"].client,
        kind=TaskKind.FREE_MONTH_ENDING,
        due_on=D(2026, 11, 13),
    )
    cases["later_task"] = Task.objects.create(
        assignee=return_manager,
        client=cases["agreed"].client,
        kind=TaskKind.MANUAL,
        title="Отправить договор",
        due_on=D(2026, 11, 19),
        created_by=director,
    )
    cases["manual_task"] = Task.objects.create(
        assignee=return_manager,
        client=cases["claimed"].client,
        kind=TaskKind.MANUAL,
        title="Перезвонить главбуху",
        due_on=TODAY,
        created_by=director,
    )
    return cases


# --- who gets which workspace ------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/my/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/my/")


@pytest.mark.parametrize(
    ("role_fixture", "status", "hook"),
    [
        ("return_manager", 200, "free-months-ending"),
        ("manager", 200, "my-clients"),
        ("mentor", 200, "my-clients"),
        ("sales_manager", 200, "my-clients"),
        ("director", 403, None),
    ],
)
def test_each_role_gets_its_own_workspace_or_403(client, request, role_fixture, status, hook):
    client.force_login(request.getfixturevalue(role_fixture))

    response = client.get("/my/")

    assert response.status_code == status
    if hook:
        assert f'data-testid="{hook}"' in html(response)
    if role_fixture != "return_manager":
        assert 'data-testid="free-months-ending"' not in html(response)


def test_the_return_managers_page_carries_its_sections(client, return_manager):
    client.force_login(return_manager)

    page = html(client.get("/my/"))

    for hook in (
        "my-tasks",
        "returns-due",
        "free-months-ending",
        "my-cases",
        "stage-claimed",
        "stage-free_month",
        "stage-agreed",
    ):
        assert f'data-testid="{hook}"' in page, hook


# --- what the return manager sees ---------------------------------------------------------------


def test_free_months_ending_soonest_first_with_the_days_left(client, desk, return_manager):
    client.force_login(return_manager)

    ending = section(client.get("/my/"), "free-months-ending")

    assert case_ids(ending, "free-month-row") == [
        desk[name].pk for name in ("failed", "waiting", "ending", "agreed")
    ]
    assert re.findall(r'data-testid="days-left" data-days="(-?\d+)"', ending) == [
        "-2",
        "-1",
        "2",
        "15",
    ]
    assert ending.count('data-testid="free-month-agreed"') == 3


def test_returns_due_today_with_what_became_of_each(client, desk, return_manager):
    client.force_login(return_manager)

    due = section(client.get("/my/"), "returns-due")

    rows = re.findall(r'data-testid="return-due-row" data-case-id="(\d+)" data-status="(\w+)"', due)
    assert rows == [
        (str(desk["failed"].pk), "free_month"),
        (str(desk["waiting"].pk), "free_month"),
        (str(desk["returned"].pk), "returned"),
    ]
    assert re.findall(r'data-testid="return-due-failure">([^<]+)<', due) == [
        "Выберите действующего клиент-менеджера."
    ]
    assert f'href="/retention/{desk["failed"].pk}/"' in due


def test_cases_by_stage_with_counts_and_links(client, desk, return_manager):
    client.force_login(return_manager)
    response = client.get("/my/")

    stages = {
        stage: (
            re.search(r'data-testid="stage-count">(\d+)<', section(response, f"stage-{stage}"))[1],
            case_ids(section(response, f"stage-{stage}"), "stage-row"),
        )
        for stage in ("claimed", "free_month", "agreed")
    }

    assert stages == {
        "claimed": ("1", [desk["claimed"].pk]),
        "free_month": ("1", [desk["ending"].pk]),
        "agreed": ("3", [desk["failed"].pk, desk["waiting"].pk, desk["agreed"].pk]),
    }
    for case in (desk["claimed"], desk["ending"], desk["agreed"]):
        assert f'href="/retention/{case.pk}/"' in html(response)
    assert desk["not_mine"].client.name not in html(response)


def test_tasks_show_the_done_button_only_where_a_task_may_be_ticked_off(
    client, desk, return_manager
):
    client.force_login(return_manager)

    tasks = section(client.get("/my/"), "my-tasks")

    # Oldest first, up to three days ahead (a free month ending is given three days ahead).
    rows = re.findall(r'data-task-id="(\d+)" data-kind="(\w+)"', tasks)
    assert rows == [
        (str(desk["overdue_task"].pk), TaskKind.FREE_MONTH_ENDING),
        (str(desk["manual_task"].pk), TaskKind.MANUAL),
        (str(desk["ending_task"].pk), TaskKind.FREE_MONTH_ENDING),
    ]
    assert tasks.count('data-testid="task-done"') == 1
    assert f'action="/retention/my/tasks/{desk["manual_task"].pk}/complete/"' in tasks
    # A free month ending is not ticked off: the row says what must happen and opens the case.
    for case in (desk["failed"], desk["ending"]):
        assert f'href="/retention/{case.pk}/" data-testid="task-open-case"' in tasks
    agreed = gettext("Return agreed from %(day)s: the task closes itself once it is carried out.")
    assert agreed % {"day": "14 ноября"} in tasks
    assert gettext("Record the return or decline the case: the task closes itself then.") in tasks


def test_ticking_off_a_manual_task_with_htmx_refreshes_the_tasks(client, desk, return_manager):
    client.force_login(return_manager)
    task = desk["manual_task"]

    response = client.post(f"/retention/my/tasks/{task.pk}/complete/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="tasks"' in html(response)
    assert f'data-task-id="{task.pk}"' not in html(response)
    task.refresh_from_db()
    assert task.done_at == NOW


def test_a_free_month_ending_task_cannot_be_ticked_off(client, desk, return_manager):
    client.force_login(return_manager)
    task = desk["ending_task"]

    response = client.post(f"/retention/my/tasks/{task.pk}/complete/")

    assert (response.status_code, response["Location"]) == (302, "/my/")
    task.refresh_from_db()
    assert task.done_at is None
    page = html(client.get("/my/"))
    assert str(STATE_MIRRORING_TASKS[TaskKind.FREE_MONTH_ENDING]) in page


def test_someone_elses_task_is_404_and_a_book_keeper_is_403(
    client, desk, second_return_manager, manager
):
    task = desk["manual_task"]

    client.force_login(second_return_manager)
    assert client.post(f"/retention/my/tasks/{task.pk}/complete/").status_code == 404
    client.force_login(manager)
    assert client.post(f"/retention/my/tasks/{task.pk}/complete/").status_code == 403
    task.refresh_from_db()
    assert task.done_at is None


def test_an_empty_workspace_says_so(client, return_manager):
    client.force_login(return_manager)

    page = html(client.get("/my/"))

    assert gettext("No client is in a free month.") in page
    assert gettext("No returns take effect today.") in page


def test_query_count_does_not_grow_with_the_cases(client, desk, manager, colleague, return_manager):
    client.force_login(return_manager)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/my/").status_code == 200

    for n in range(6):
        in_work(f"Школа № {100 + n}", manager, return_manager)
        in_work(
            f"Детский сад № {100 + n}",
            manager,
            return_manager,
            free=(D(2026, 11, 1), D(2026, 11, 30)),
            agreed=(D(2026, 12, 1), colleague) if n % 2 else None,
        )
    with CaptureQueriesContext(connection) as large:
        assert client.get("/my/").status_code == 200

    assert len(large) == len(small) <= 20
    assert LostCase.objects.filter(return_manager=return_manager).count() == 18
