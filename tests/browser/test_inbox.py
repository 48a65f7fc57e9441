"""Work reaches people in a real browser (SPEC §11): the mentor rejects a refusal, and the
manager who asked finds it under the bell, reads it in Russian, follows it to the client and
finds the follow-up task with the mentor's words on /my/; the bell empties as they read."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clients.services import (
    client_reassign,
    client_request_create,
    client_request_refuse,
    client_request_reject_refusal,
)
from tests.browser.conftest import login
from tests.browser.test_manager_workflow import screenshot
from tests.factories import ClientFactory

pytestmark = pytest.mark.browser


def test_a_manager_finds_a_rejected_refusal_and_a_new_client_under_the_bell(
    page, manager, mentor, director, colleague
):
    school = ClientFactory(name="МБОУ СОШ № 12", manager=manager)
    kindergarten = ClientFactory(name="Детский сад № 4", manager=colleague)
    request = client_request_create(actor=manager, client=school, topic="Настроить ЭДО")
    client_request_refuse(actor=manager, request=request, reason="Не наш продукт")
    client_request_reject_refusal(
        actor=mentor, request=request, comment="Позвоните главбуху, предложите обучение"
    )
    client_reassign(actor=director, client=kindergarten, manager=manager)

    login(page, "manager")
    bell = page.get_by_test_id("bell")
    expect(bell.get_by_test_id("bell-count")).to_have_text("2")
    expect(bell).to_have_attribute("aria-label", "Уведомления: 2 непрочитанных")

    bell.click()
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(2)
    screenshot(page, "inbox")
    expect(items.nth(0)).to_contain_text("Клиент «Детский сад № 4» теперь ваш")
    expect(items.nth(1)).to_contain_text(
        "Отказ по обращению «Настроить ЭДО» клиента «МБОУ СОШ № 12» отклонён (Наставник Олег): "
        "Позвоните главбуху, предложите обучение"
    )

    items.nth(1).get_by_role("link").click()
    expect(page).to_have_url(f"{page.base_url}/clients/{school.pk}/")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")

    page.get_by_test_id("nav-clients-my").click()
    expect(page.locator("body")).to_contain_text("Позвоните главбуху, предложите обучение")

    page.get_by_test_id("bell").click()
    page.get_by_test_id("read-all").click()
    expect(page.get_by_test_id("bell-count")).to_have_count(0)
    expect(page.locator(".inbox-unread")).to_have_count(0)


def test_a_mentor_gives_a_task_from_the_card_and_the_manager_is_told(
    page, browser, manager, mentor
):
    school = ClientFactory(name="МБОУ СОШ № 12", manager=manager)

    login(page, "mentor")
    page.goto(f"{page.base_url}/clients/{school.pk}/")
    form = page.get_by_test_id("give-task-form")
    expect(form.get_by_label("Кому")).to_have_value(str(manager.pk))
    form.get_by_label("Задача").fill("Позвонить главбуху до обеда")
    form.get_by_role("button", name="Поставить задачу").click()
    expect(page.get_by_test_id("card-notice")).to_have_text("Задача выдана.")
    expect(page.get_by_test_id("open-tasks")).to_contain_text("Позвонить главбуху до обеда")
    screenshot(page, "card-give-task")

    manager_page = browser.new_context(locale="ru-RU").new_page()
    manager_page.base_url = page.base_url
    login(manager_page, "manager")
    expect(manager_page.get_by_test_id("bell-count")).to_have_text("1")
    manager_page.get_by_test_id("bell").click()
    expect(manager_page.get_by_test_id("notification")).to_contain_text(
        "Задача от Наставник Олег по клиенту «МБОУ СОШ № 12»"
    )
    manager_page.context.close()
