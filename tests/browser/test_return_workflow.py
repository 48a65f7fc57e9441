"""The win-back workflow in a real browser (SPEC §3.3, §6): a return manager claims the top case
of the queue, offers a free month, returns the client to a different client manager, and the
client shows up in that manager's book on /my/."""

from __future__ import annotations

import datetime

from django.utils import timezone
from playwright.sync_api import expect

from retention.services import contract_create, contract_terminate, lost_case_claim
from tests.browser.conftest import login
from tests.factories import ClientFactory


def lose(manager, *, name: str, fee: str, lost_days_ago: int):
    client = ClientFactory(manager=manager, name=name)
    contract = contract_create(
        actor=manager,
        client=client,
        number=f"АО-{client.pk}",
        starts_on=datetime.date(2024, 1, 1),
        monthly_fee=fee,
    )
    last_day = timezone.localdate() - datetime.timedelta(days=lost_days_ago + 1)
    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=last_day, reason="service_quality"
    )
    return case


def test_return_manager_wins_a_client_back_for_another_manager(
    page, manager, colleague, return_manager
):
    today = timezone.localdate()
    top = lose(manager, name="МБОУ СОШ № 41", fee="18000", lost_days_ago=40)
    lose(manager, name="МБДОУ Детский сад № 5", fee="4000", lost_days_ago=10)

    login(page, return_manager.username)
    page.goto(f"{page.base_url}/retention/")
    queue = page.get_by_test_id("lost-queue")
    first_row = queue.get_by_test_id("case-row").first
    expect(first_row).to_have_attribute("data-case-id", str(top.pk))

    # Claim through htmx: the row is swapped in place and says the case is ours.
    first_row.get_by_test_id("claim-button").click()
    claimed_row = queue.locator(f"#case-{top.pk}")
    expect(claimed_row).to_have_attribute("data-status", "claimed")
    expect(claimed_row.get_by_test_id("claim-button")).to_have_count(0)
    claimed_row.get_by_test_id("open-case").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "claimed")

    # Free month, started three weeks ago so that paid service can start today.
    free_month_form = page.get_by_test_id("free-month-form")
    free_start = today - datetime.timedelta(days=20)
    free_month_form.locator("input[name=starts_on]").fill(free_start.isoformat())
    page.get_by_test_id("start-free-month").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "free_month")
    expect(page.get_by_test_id("free-month-running")).to_be_visible()

    # The picker never offers the manager who lost the client.
    return_form = page.get_by_test_id("return-form")
    picker = return_form.locator("select[name=manager]")
    offered = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert str(manager.pk) not in offered
    assert str(colleague.pk) in offered
    assert "Клиент-менеджер Анна" not in picker.inner_text()

    picker.select_option(str(colleague.pk))
    return_form.locator("input[name=monthly_fee]").fill("17500")
    return_form.locator("input[name=starts_on]").fill(today.isoformat())
    return_form.get_by_test_id("return-submit").click()
    # Returning is final: the dialog asks first.
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Вернуть клиента").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "returned")
    expect(page.get_by_test_id("case-outcome")).to_contain_text(colleague.full_name)

    # The new manager finds the client in their book.
    page.get_by_test_id("logout-form").locator("button").click()
    login(page, colleague.username)
    page.goto(f"{page.base_url}/my/")
    book = page.get_by_test_id("my-clients")
    expect(book.locator(f'[data-client-id="{top.client_id}"]')).to_contain_text("МБОУ СОШ № 41")


def test_the_slower_claim_sees_who_took_the_case(
    page, manager, return_manager, second_return_manager
):
    case = lose(manager, name="ГБУЗ Районная больница", fee="9000", lost_days_ago=5)
    login(page, return_manager.username)
    page.goto(f"{page.base_url}/retention/")
    row = page.get_by_test_id("lost-queue").locator(f"#case-{case.pk}")
    expect(row.get_by_test_id("claim-button")).to_be_visible()

    # A colleague claims it while the page is open; our click loses the race (409).
    lost_case_claim(actor=second_return_manager, case=case)
    row.get_by_test_id("claim-button").click()

    expect(row.get_by_test_id("claim-error")).to_contain_text(second_return_manager.full_name)
    expect(row).to_have_attribute("data-status", "claimed")
    expect(row.get_by_test_id("claim-button")).to_have_count(0)
