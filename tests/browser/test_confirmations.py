"""Irreversible actions ask first (SPEC §11), in a real browser, in Russian, as the person who
acts: a dialog with JavaScript, a second page without it. Cancelling changes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import ClientStatus, RequestStatus, Task, TaskKind
from clients.services import client_request_create, client_request_refuse
from retention.models import CaseStatus
from retention.services import contract_create, contract_terminate, lost_case_claim
from tests.browser.conftest import login
from tests.factories import ClientFactory

pytestmark = pytest.mark.browser

APPROVAL_QUESTION = (
    "Согласовать отказ по обращению «Доработка отчёта 6-НДФЛ» клиента МБОУ СОШ № 7? "
    "Обращение будет закрыто отказом навсегда."
)

DECLINE_QUESTION = (
    "Закрыть случай клиента МКОУ Шушенская СОШ № 3 без возврата? "
    "Клиент останется потерянным и навсегда уйдёт из очереди возвратов."
)


@pytest.fixture
def no_script_page(browser, live_server):
    context = browser.new_context(
        locale="ru-RU", viewport={"width": 1400, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


@pytest.fixture
def refusal(manager, mentor):
    school = ClientFactory(manager=manager, name="МБОУ СОШ № 7")
    asked = client_request_create(actor=manager, client=school, topic="Доработка отчёта 6-НДФЛ")
    return client_request_refuse(actor=manager, request=asked, reason="Вне договора")


def refusal_state(refusal):
    refusal.refresh_from_db()
    approval_open = Task.objects.filter(
        kind=TaskKind.REFUSAL_APPROVAL, client=refusal.client, done_at__isnull=True
    ).count()
    return refusal.status, refusal.refusal_approved_by_id, approval_open


def test_mentor_confirms_a_refusal_in_a_dialog(page, refusal, mentor):
    waiting = refusal_state(refusal)
    login(page, "mentor")
    page.goto(f"{page.base_url}/team/")
    row = page.get_by_test_id("refusal-row").filter(has_text="Доработка отчёта 6-НДФЛ")
    dialog = page.get_by_role("alertdialog", name=APPROVAL_QUESTION)

    row.get_by_test_id("approve-refusal").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("confirm-submit")).to_have_text("Согласовать отказ")
    expect(dialog.get_by_test_id("confirm-cancel")).to_be_focused()
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(row.get_by_test_id("approve-refusal")).to_be_focused()
    assert refusal_state(refusal) == waiting

    # Esc is a "no" too.
    row.get_by_test_id("approve-refusal").press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.wait_for_load_state("networkidle")
    assert refusal_state(refusal) == waiting
    expect(row).to_be_visible()

    page.evaluate("window.noReload = true")
    row.get_by_test_id("approve-refusal").click()
    dialog.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("team-notice")).to_have_text("Отказ согласован.")
    expect(page.get_by_test_id("refusal-row")).to_have_count(0)
    assert page.evaluate("window.noReload") is True  # htmx swapped the list in place
    assert refusal_state(refusal) == (RequestStatus.REFUSED, mentor.pk, 0)


def test_mentor_confirms_a_refusal_on_a_second_page_without_javascript(
    no_script_page, refusal, mentor
):
    page = no_script_page
    waiting = refusal_state(refusal)
    login(page, "mentor")
    page.goto(f"{page.base_url}/team/")
    row = page.get_by_test_id("refusal-row").filter(has_text="Доработка отчёта 6-НДФЛ")

    row.get_by_test_id("approve-refusal").click()
    expect(page.get_by_test_id("confirm-question")).to_have_text(APPROVAL_QUESTION)
    assert refusal_state(refusal) == waiting
    page.get_by_test_id("confirm-cancel").click()
    expect(page).to_have_url(f"{page.base_url}/team/#refusals")
    assert refusal_state(refusal) == waiting

    row.get_by_test_id("approve-refusal").click()
    page.get_by_test_id("confirm-submit").click()
    expect(page).to_have_url(f"{page.base_url}/team/")
    expect(page.get_by_test_id("messages")).to_contain_text("Отказ согласован.")
    expect(page.get_by_test_id("refusal-row")).to_have_count(0)
    assert refusal_state(refusal) == (RequestStatus.REFUSED, mentor.pk, 0)


@pytest.fixture
def claimed_case(manager, return_manager):
    school = ClientFactory(manager=manager, name="МКОУ Шушенская СОШ № 3")
    contract = contract_create(
        actor=manager,
        client=school,
        number="АО-3",
        starts_on=datetime.date(2024, 1, 1),
        monthly_fee="9000",
    )
    last_day = timezone.localdate() - datetime.timedelta(days=20)
    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=last_day, reason="competitor"
    )
    return lost_case_claim(actor=return_manager, case=case)


def case_state(case):
    case.refresh_from_db()
    case.client.refresh_from_db()
    return case.status, case.closed_on, case.decline_reason, case.client.status


def fill_decline(page, reason: str) -> None:
    page.get_by_test_id("case-actions").get_by_text("Закрыть без возврата").first.click()
    page.get_by_test_id("decline-form").locator("textarea[name=reason]").fill(reason)
    page.get_by_test_id("decline-submit").click()


def test_return_manager_confirms_a_decline_in_a_dialog(page, claimed_case, return_manager):
    in_work = case_state(claimed_case)
    login(page, return_manager.username)
    page.goto(f"{page.base_url}/retention/{claimed_case.pk}/")
    dialog = page.get_by_role("alertdialog", name=DECLINE_QUESTION)

    fill_decline(page, "Ушли к конкуренту на три года")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("confirm-cancel")).to_be_focused()
    expect(dialog.get_by_test_id("confirm-submit")).to_have_text("Закрыть без возврата")
    dialog.get_by_role("button", name="Отмена").click()
    expect(dialog).to_be_hidden()
    page.wait_for_load_state("networkidle")
    assert case_state(claimed_case) == in_work
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "claimed")

    page.get_by_test_id("decline-submit").click()
    dialog.get_by_role("button", name="Закрыть без возврата").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "declined")
    expect(page.get_by_test_id("case-outcome")).to_contain_text("Ушли к конкуренту на три года")
    assert case_state(claimed_case) == (
        CaseStatus.DECLINED,
        timezone.localdate(),
        "Ушли к конкуренту на три года",
        ClientStatus.CLOSED,
    )


def test_return_manager_confirms_a_decline_on_a_second_page_without_javascript(
    no_script_page, claimed_case, return_manager
):
    page = no_script_page
    in_work = case_state(claimed_case)
    login(page, return_manager.username)
    case_url = f"{page.base_url}/retention/{claimed_case.pk}/"
    page.goto(case_url)

    fill_decline(page, "Учреждение присоединили к другому")
    expect(page.get_by_test_id("confirm-question")).to_have_text(DECLINE_QUESTION)
    assert case_state(claimed_case) == in_work
    page.get_by_role("link", name="Отмена").click()
    expect(page).to_have_url(case_url)
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "claimed")
    assert case_state(claimed_case) == in_work

    fill_decline(page, "Учреждение присоединили к другому")
    page.get_by_role("button", name="Закрыть без возврата").click()
    expect(page).to_have_url(case_url)
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "declined")
    assert case_state(claimed_case) == (
        CaseStatus.DECLINED,
        timezone.localdate(),
        "Учреждение присоединили к другому",
        ClientStatus.CLOSED,
    )
