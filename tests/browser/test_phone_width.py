"""The pages whose rules moved into their own homes (the workspace's KPI block from kpi, the team
page in team, the case page read as the API reads it) fit a phone and a desktop: nothing wider
than the screen, every hook present."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from clients.models import ClientStatus, Task, TaskKind
from retention.models import CaseStatus, LostCase
from tests.browser.conftest import login
from tests.factories import ClientFactory, ContractFactory, make_inn

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


@pytest.mark.parametrize("width", WIDTHS)
def test_a_referral_of_an_existing_client_is_refused_on_the_card_and_a_duplicate_flagged(
    page, manager, colleague, width
):
    from clients.models import Referral
    from clients.services import referral_create

    school = ClientFactory(manager=manager, name="МБОУ СОШ № 7", status=ClientStatus.ACTIVE)
    existing = ClientFactory(manager=colleague, name="МБДОУ Детский сад № 4")
    lead = referral_create(
        actor=manager, referrer=school, organisation="МКУ ЦБ Ачинска", inn=make_inn(990)
    )
    login(page, "manager")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{page.base_url}/clients/{school.pk}/")
    form = page.get_by_test_id("add-referral-form")

    form.locator("input[name$=organisation]").fill("Детский сад у соседей")
    form.locator("input[name$=inn]").fill(existing.inn)
    form.locator("[type=submit]").click()
    # The answer is swapped in by htmx: wait for it rather than for the network to go quiet.
    expect(page.get_by_test_id("add-referral-form")).to_contain_text(
        "уже является клиентом компании"
    )
    assert colleague.get_full_name() not in page.get_by_test_id("add-referral-form").inner_text()
    assert Referral.objects.filter(referrer=school).count() == 1
    # A second open lead with the first one's INN: both are flagged.
    form = page.get_by_test_id("add-referral-form")
    form.locator("input[name$=organisation]").fill("ЦБ Ачинска, повторно")
    form.locator("input[name$=inn]").fill(lead.inn)
    form.locator("[type=submit]").click()
    expect(page.get_by_test_id("client-timeline")).to_contain_text("ЦБ Ачинска, повторно")
    page.reload()

    expect(page.get_by_test_id("referral-duplicate")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_referral_board_a_lead_and_winning_it_fit(page, manager, width):
    from clients.services import referral_create
    from referrals.services import referral_move

    school = ClientFactory(manager=manager, name="МБОУ СОШ № 7", status=ClientStatus.ACTIVE)
    leads = [
        referral_create(
            actor=manager,
            referrer=school,
            organisation=f"Муниципальное казённое учреждение «Централизованная бухгалтерия» № {n}",
            inn=make_inn(800 + n),
        )
        for n in range(4)
    ]
    referral_move(actor=manager, referral=leads[0], status="meeting")
    login(page, "manager")

    page.goto(f"{page.base_url}/referrals/")
    assert_fits(page, width)
    expect(page.get_by_test_id("referral-card")).to_have_count(4)
    page.goto(f"{page.base_url}/referrals/{leads[0].pk}/")
    assert_fits(page, width)
    expect(page.get_by_test_id("referral-history")).to_contain_text("Встреча")
    page.goto(f"{page.base_url}/referrals/{leads[0].pk}/win/")
    assert_fits(page, width)
    expect(page.get_by_test_id("win-form")).to_be_visible()
