"""A manager's day in a real browser (SPEC §3.4, §6): from /my/ to a client's card, a call and a
request logged without a page reload, a refusal asked for; the mentor approves it on /team/."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import (
    ClientRequest,
    ClientStatus,
    Contact,
    Interaction,
    InteractionOutcome,
    RequestStatus,
)
from tests.browser.conftest import login
from tests.factories import ClientFactory, ContractFactory, InteractionFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "")


def screenshot(page, name: str) -> None:
    """Full-page screenshots for a human look at the pages, when SCREENSHOT_DIR is set."""
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def school(manager, mentor, colleague):
    school = ClientFactory(
        manager=manager, name="МБОУ СОШ № 12", city="Канск", status=ClientStatus.ACTIVE
    )
    ContractFactory(client=school, number="АО-0012", monthly_fee=Decimal("7500.00"))
    Contact.objects.create(
        client=school,
        name="Иванова Мария Петровна",
        position="Главный бухгалтер",
        phone="+7 391 200-12-12",
        is_decision_maker=True,
    )
    InteractionFactory(
        client=school,
        occurred_at=timezone.now() - datetime.timedelta(days=40),
        summary="Обсудили продление договора",
    )
    for n, city in enumerate(["Ачинск", "Минусинск", "Красноярск"]):
        other = ClientFactory(manager=manager, name=f"МБДОУ Детский сад № {n + 3}", city=city)
        ContractFactory(client=other, monthly_fee=Decimal("4200.00"))
        InteractionFactory(
            client=other,
            occurred_at=timezone.now() - datetime.timedelta(days=n * 20 + 2),
            outcome=InteractionOutcome.REACHED,
        )
    ClientFactory(manager=colleague, name="Чужая школа")
    return school


def test_manager_logs_a_call_and_a_request_and_the_mentor_approves_the_refusal(
    page, school, manager, mentor
):
    login(page, "manager")
    expect(page.get_by_test_id("my-clients")).to_be_visible()
    expect(page.get_by_test_id("my-tasks")).to_be_visible()
    expect(page.get_by_test_id("my-kpis")).to_be_visible()
    expect(page.get_by_test_id("my-clients")).not_to_contain_text("Чужая школа")
    screenshot(page, "my")

    page.get_by_test_id("my-clients").get_by_role("link", name="МБОУ СОШ № 12").click()
    expect(page.get_by_test_id("client-name")).to_contain_text("МБОУ СОШ № 12")
    # A marker that a full page load would wipe out: everything below happens in place.
    page.evaluate("window.noReload = true")

    call = page.get_by_test_id("log-call-form")
    call.locator("textarea[name='call-summary']").fill("Договорились об обновлении ЗУП")
    call.get_by_role("button").click()
    timeline = page.get_by_test_id("client-timeline")
    expect(timeline).to_contain_text("Договорились об обновлении ЗУП")

    request_form = page.get_by_test_id("log-request-form")
    request_form.locator("input[name='request-topic']").fill("Не сходится отчёт 6-НДФЛ")
    request_form.locator("input[name='request-urgency'][value='urgent']").check()
    request_form.get_by_role("button").click()
    expect(timeline).to_contain_text("Не сходится отчёт 6-НДФЛ")
    expect(timeline).to_contain_text("Договорились об обновлении ЗУП")

    row = page.get_by_test_id("request-row").filter(has_text="Не сходится отчёт 6-НДФЛ")
    row.get_by_test_id("refuse-toggle").click()
    row.get_by_test_id("refuse-form").locator("textarea[name='reason']").fill(
        "Доработка отчётов вне абонентского договора"
    )
    row.get_by_test_id("refuse-form").get_by_role("button").click()
    expect(
        page.get_by_test_id("request-row").filter(has_text="Не сходится отчёт 6-НДФЛ")
    ).to_have_attribute("data-status", "refusal_pending")
    assert page.evaluate("window.noReload") is True
    screenshot(page, "card")

    refused = ClientRequest.objects.get(topic="Не сходится отчёт 6-НДФЛ")
    assert refused.status == RequestStatus.REFUSAL_PENDING
    assert Interaction.objects.filter(summary="Договорились об обновлении ЗУП").count() == 1

    page.context.clear_cookies()
    login(page, "mentor")
    page.get_by_test_id("nav-team-team").click()
    expect(page.get_by_test_id("team-table")).to_contain_text("Клиент-менеджер Анна")
    approvals = page.get_by_test_id("refusal-approvals")
    expect(approvals).to_contain_text("Не сходится отчёт 6-НДФЛ")
    # A click before the page's scripts run gets the second page that asks without JavaScript.
    page.wait_for_load_state("load")
    screenshot(page, "team")
    approvals.get_by_test_id("refusal-row").filter(
        has_text="Не сходится отчёт 6-НДФЛ"
    ).get_by_test_id("approve-refusal").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Согласовать отказ").click()
    expect(page.get_by_test_id("team-notice")).to_be_visible()
    expect(page.get_by_test_id("refusal-row")).to_have_count(0)

    refused.refresh_from_db()
    assert (refused.status, refused.refusal_approved_by) == (RequestStatus.REFUSED, mentor)
