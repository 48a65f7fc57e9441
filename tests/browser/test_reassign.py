"""Reassigning clients in a real browser, in Russian (SPEC §2, §3.6): the director from a client's
card and from the client list, a mentor inside the group, and a dismissal that names a new manager
for one client and spreads the rest. Each is confirmed in the dialog first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from tests.browser.conftest import login
from tests.factories import ClientFactory

pytestmark = pytest.mark.browser


def book(manager, names: list[str]) -> list[Client]:
    return [ClientFactory(manager=manager, name=name, status=ClientStatus.ACTIVE) for name in names]


def owner(client: Client) -> str:
    return Client.objects.get(pk=client.pk).manager.username


def confirm(page, question: str, button: str) -> None:
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("confirm-question")).to_have_text(question)
    dialog.get_by_role("button", name=button).click()
    page.wait_for_load_state("networkidle")


def test_director_reassigns_one_client_from_the_card(page, director, manager, colleague):
    school, *_ = book(manager, ["МБОУ СОШ № 12"])
    book(colleague, ["Больница № 3", "Детский сад № 7"])
    login(page, "director")

    page.goto(f"{page.base_url}/clients/{school.pk}/")
    form = page.get_by_test_id("reassign-form")
    choice = form.get_by_label("Передать клиента")
    expect(choice.locator("option")).to_contain_text(
        ["Выберите менеджера", "Клиент-менеджер Борис — загрузка 2 из 150"]
    )
    choice.select_option(label="Клиент-менеджер Борис — загрузка 2 из 150")
    form.get_by_role("button", name="Передать").click()
    confirm(page, "Передать «МБОУ СОШ № 12» менеджеру Клиент-менеджер Борис?", "Передать")

    expect(page.get_by_test_id("messages")).to_contain_text(
        "Клиент «МБОУ СОШ № 12» теперь у менеджера Клиент-менеджер Борис."
    )
    expect(page.get_by_test_id("client-facts")).to_contain_text("Клиент-менеджер Борис")
    assert owner(school) == "colleague"


def test_cancelling_the_dialog_moves_nothing(page, director, manager, colleague):
    school, *_ = book(manager, ["МБОУ СОШ № 12"])
    login(page, "director")

    page.goto(f"{page.base_url}/clients/{school.pk}/")
    form = page.get_by_test_id("reassign-form")
    form.get_by_label("Передать клиента").select_option(str(colleague.pk))
    form.get_by_role("button", name="Передать").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Отмена").click()

    expect(page.get_by_test_id("confirm-dialog")).to_be_hidden()
    assert owner(school) == "manager"


def test_director_selects_three_clients_on_the_list_and_spreads_them(
    page, director, mentor, manager, colleague
):
    chosen = book(manager, ["Школа № 1", "Школа № 2", "Школа № 3"])
    book(manager, ["Школа № 4"])
    login(page, "director")

    page.goto(f"{page.base_url}/clients/?search=Школа")
    rows = page.get_by_test_id("client-row")
    expect(rows).to_have_count(4)
    # "All on this page" ticks every row and clears them again.
    select_all = page.get_by_test_id("clients-select-all")
    select_all.check()
    expect(page.get_by_test_id("client-select").first).to_be_checked()
    select_all.uncheck()
    for client in chosen:
        rows.filter(has_text=client.name).get_by_test_id("client-select").check()
    form = page.get_by_test_id("clients-reassign-form")
    form.get_by_label("Кому передать").select_option("spread")
    form.get_by_role("button", name="Передать выбранных").click()
    confirm(
        page,
        "Выбрано клиентов: 3. Кому передать: "
        "Распределить по их группам, начиная с наименее загруженных?",
        "Передать",
    )

    expect(page.get_by_test_id("messages")).to_contain_text("Переданы 3 клиента.")
    assert "/clients/?search=" in page.url  # back to the same filtered list
    # Борис and Олег are both empty: Борис first by name, then they alternate.
    assert [owner(c) for c in chosen] == ["colleague", "mentor", "colleague"]
    assert ClientAssignment.objects.filter(reason=AssignmentReason.REASSIGN).count() == 3
    assert owner(Client.objects.get(name="Школа № 4")) == "manager"


def test_mentor_reassigns_inside_the_group_and_cannot_pick_an_outsider(
    page, mentor, manager, colleague, outsider
):
    school, *_ = book(manager, ["МБДОУ Детский сад № 5"])
    login(page, "mentor")

    page.goto(f"{page.base_url}/clients/{school.pk}/")
    choice = page.get_by_test_id("reassign-form").get_by_label("Передать клиента")
    offered = choice.locator("option").all_inner_texts()
    assert offered == [
        "Выберите менеджера",
        "Клиент-менеджер Борис — загрузка 0 из 150",
        "Наставник Олег — загрузка 0 из 150",
    ]
    assert not any("Глеб" in option for option in offered)
    choice.select_option(str(colleague.pk))
    page.get_by_test_id("reassign-submit").click()
    confirm(page, "Передать «МБДОУ Детский сад № 5» менеджеру Клиент-менеджер Борис?", "Передать")

    expect(page.get_by_test_id("messages")).to_contain_text("теперь у менеджера")
    assert owner(school) == "colleague"
    assert not Client.objects.filter(manager=outsider).exists()


def test_director_dismisses_a_manager_naming_one_clients_manager_and_spreading_the_rest(
    page, director, mentor, manager, colleague, outsider
):
    first, second, third = book(manager, ["Школа А", "Школа Б", "Школа В"])
    login(page, "director")

    page.goto(f"{page.base_url}/team/{manager.pk}/handover/")
    rows = page.get_by_test_id("handover-client")
    expect(rows).to_have_count(3)
    rows.filter(has_text="Школа Б").locator("select").select_option(str(outsider.pk))
    page.get_by_test_id("handover-submit").click()
    confirm(
        page,
        "Уволить Клиент-менеджер Анна и передать клиентов (3): "
        "распределить по группе: 2, Клиент-менеджер Глеб: 1?",
        "Уволить",
    )

    expect(page.get_by_test_id("messages")).to_be_visible()
    assert page.url.endswith("/team/")
    # Школа Б to Глеб; А and В spread over the group: Борис, then Олег (both empty, by name).
    assert [owner(c) for c in (first, second, third)] == ["colleague", "outsider", "mentor"]
    manager.refresh_from_db()
    assert manager.is_active is False
