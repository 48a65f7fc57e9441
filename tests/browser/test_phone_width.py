"""The pages whose rules moved into their own homes (the workspace's KPI block from kpi, the team
page in team, the case page read as the API reads it) fit a phone and a desktop: nothing wider
than the screen, every hook present."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from clients.models import ClientStatus, Task, TaskKind
from retention.models import CaseStatus, LostCase
from tests.browser.conftest import login
from tests.factories import ClientFactory, ContractFactory

pytestmark = pytest.mark.browser

WIDTHS = (1440, 390)


@pytest.fixture
def lost_case(manager):
    client = ClientFactory(manager=manager, name="МКОУ Шушенская СОШ № 3", status=ClientStatus.LOST)
    ContractFactory(
        client=client, ends_on=datetime.date(2026, 10, 31), termination_reason="competitor"
    )
    return LostCase.objects.create(
        client=client,
        lost_on=datetime.date(2026, 11, 1),
        lost_by=manager,
        reason="competitor",
        lost_fee=Decimal("9000.00"),
        status=CaseStatus.OPEN,
    )


def assert_fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_workspace_with_a_task_that_closes_itself_fits(page, manager, lost_case, width):
    Task.objects.create(
        assignee=manager,
        client=lost_case.client,
        kind=TaskKind.REQUEST_OVERDUE,
        due_on=datetime.date.today(),  # noqa: DTZ011 - the server's date, as the page's
        title="Обновление конфигурации «Бухгалтерия государственного учреждения»",
    )
    login(page, "manager")
    page.goto(f"{page.base_url}/my/")

    assert_fits(page, width)
    assert page.get_by_test_id("my-kpis").is_visible()
    assert page.get_by_test_id("task-closes-itself").count() == 1
    assert page.get_by_test_id("task-done").count() == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_the_lost_clients_manager_reads_its_case_page_without_actions(
    page, manager, lost_case, width
):
    login(page, "manager")
    page.goto(f"{page.base_url}/retention/{lost_case.pk}/")

    assert_fits(page, width)
    assert page.get_by_test_id("case-actions").is_visible()
    assert page.get_by_test_id("claim-button").count() == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_the_team_page_fits(page, mentor, manager, width):
    login(page, "mentor")
    page.goto(f"{page.base_url}/team/")

    assert_fits(page, width)
    assert page.get_by_test_id("team-table").is_visible()
