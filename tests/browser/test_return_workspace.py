"""The return manager's day in a real browser, in Russian (SPEC §3.3, §11): /my/ shows a free
month ending; the case page proposes the day after it as the return day; the return is recorded
as an agreement and shows up among the agreed returns on /my/, while the client stays where it
is until that day."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Client, Task, TaskKind
from core.dates import one_month_period_end
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_start_free_month,
)
from tests.browser.conftest import login
from tests.factories import ClientFactory


def in_free_month(manager, return_manager, *, name: str, started_days_ago: int):
    today = timezone.localdate()
    client = ClientFactory(manager=manager, name=name)
    contract = contract_create(
        actor=manager,
        client=client,
        number=f"АО-{client.pk}",
        starts_on=datetime.date(2024, 1, 1),
        monthly_fee="12000",
    )
    _contract, case = contract_terminate(
        actor=manager,
        contract=contract,
        ends_on=today - datetime.timedelta(days=started_days_ago + 5),
        reason="service_quality",
    )
    lost_case_claim(actor=return_manager, case=case)
    return lost_case_start_free_month(
        actor=return_manager,
        case=case,
        starts_on=today - datetime.timedelta(days=started_days_ago),
    )


def test_return_manager_agrees_a_return_from_the_workspace(
    page, manager, colleague, return_manager
):
    today = timezone.localdate()
    case = in_free_month(manager, return_manager, name="МБОУ СОШ № 7", started_days_ago=27)
    free_end = one_month_period_end(today - datetime.timedelta(days=27))
    day_after = free_end + datetime.timedelta(days=1)

    login(page, return_manager.username)
    page.goto(f"{page.base_url}/my/")
    # The menu offers the workspace to the return manager too, under its usual name.
    expect(page.get_by_test_id("nav-clients-my")).to_have_text("Рабочий стол")
    expect(page.get_by_role("heading", name="Рабочий стол", level=1)).to_be_visible()

    ending = page.get_by_test_id("free-months-ending")
    row = ending.locator(f'[data-testid="free-month-row"][data-case-id="{case.pk}"]')
    expect(row).to_contain_text("МБОУ СОШ № 7")
    expect(row.get_by_test_id("days-left")).to_have_attribute(
        "data-days", str((free_end - today).days)
    )
    expect(page.get_by_test_id("stage-free_month").get_by_test_id("stage-count")).to_have_text("1")
    expect(page.get_by_test_id("stage-agreed").get_by_test_id("stage-count")).to_have_text("0")

    row.get_by_role("link", name="МБОУ СОШ № 7").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "free_month")

    # The form proposes the day after the free month ends; the return manager only picks the
    # manager and keeps the proposed day and fee.
    form = page.get_by_test_id("return-form")
    expect(form.locator("input[name=starts_on]")).to_have_value(day_after.isoformat())
    form.locator("select[name=manager]").select_option(str(colleague.pk))
    form.get_by_test_id("return-submit").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("confirm-question")).to_contain_text("МБОУ СОШ № 7")
    dialog.get_by_test_id("confirm-submit").click()

    agreed = page.get_by_test_id("agreed-return")
    expect(agreed).to_have_attribute("data-starts-on", day_after.isoformat())
    expect(agreed).to_contain_text(colleague.full_name)
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "free_month")
    assert Client.objects.get(pk=case.client_id).manager == manager

    page.goto(f"{page.base_url}/my/")
    stage = page.get_by_test_id("stage-agreed")
    expect(stage.get_by_test_id("stage-count")).to_have_text("1")
    expect(stage.locator(f'[data-case-id="{case.pk}"]')).to_contain_text(colleague.full_name)
    expect(page.get_by_test_id("stage-free_month").get_by_test_id("stage-count")).to_have_text("0")
    expect(
        page.get_by_test_id("free-months-ending").get_by_test_id("free-month-agreed")
    ).to_be_visible()


@pytest.mark.parametrize("width", [1440, 390])
def test_the_return_managers_workspace_fits_a_phone(page, manager, return_manager, width):
    case = in_free_month(
        manager,
        return_manager,
        name="МКУ «Централизованная бухгалтерия учреждений образования района»",
        started_days_ago=28,
    )
    Task.objects.create(
        assignee=return_manager,
        client=case.client,
        kind=TaskKind.FREE_MONTH_ENDING,
        due_on=case.free_month_contract.ends_on,
    )
    login(page, return_manager.username)
    page.goto(f"{page.base_url}/my/")
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state("networkidle")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.get_by_test_id("task-open-case")).to_be_visible()
    expect(page.get_by_test_id("task-done")).to_have_count(0)
    expect(page.get_by_test_id("free-month-row")).to_have_count(1)
