"""The handover page /team/<id>/handover/ (SPEC §3.6): the director names a new manager per
client, or one for the rest, or spreads them; confirmed first; bad input names its field and
dismisses nobody."""

from __future__ import annotations

import datetime
import html as html_lib
import re

import pytest

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from tests.factories import ClientFactory

NOW = "2026-11-20 08:00:00"  # Friday 15:00 in Krasnoyarsk
TODAY = datetime.date(2026, 11, 20)

pytestmark = [pytest.mark.frozen_clock(NOW), pytest.mark.usefixtures("english_pages")]


@pytest.fixture
def book(manager):
    """Анна's book, in name order."""
    return [
        ClientFactory(manager=manager, name=f"Школа {n}", status=ClientStatus.ACTIVE)
        for n in range(3)
    ]


def url(member) -> str:
    return f"/team/{member.pk}/handover/"


def owners() -> dict[str, str]:
    return dict(Client.objects.values_list("name", "manager__username"))


def text(response) -> str:
    return html_lib.unescape(response.content.decode())


def assert_nobody_dismissed(manager):
    manager.refresh_from_db()
    assert (manager.is_active, manager.dismissed_on) == (True, None)
    assert set(owners().values()) == {"manager"}
    assert not ClientAssignment.objects.filter(reason=AssignmentReason.DISMISSAL).exists()


def test_the_page_lists_each_client_with_a_choice_of_new_manager(
    client, director, mentor, manager, colleague, book
):
    client.force_login(director)

    page = text(client.get(url(manager)))

    rows = page[page.index('data-testid="handover-clients"') :]
    assert re.findall(r'data-testid="handover-client" data-client-id="(\d+)"', rows) == [
        str(c.pk) for c in book
    ]
    choice = re.search(rf'<select name="client_{book[0].pk}".*?</select>', rows, re.S).group(0)
    assert re.findall(r"<option[^>]*>(.*?)</option>", choice) == [
        "Like the rest",
        "Клиент-менеджер Борис — 0 of 150 clients",
        "Наставник Олег — 0 of 150 clients",
    ]
    assert "Spread over the group, least loaded first" in page


def test_the_director_is_asked_how_many_clients_go_to_whom(
    client, director, manager, outsider, book
):
    client.force_login(director)

    response = client.post(
        url(manager), {"dismissed_on": "2026-11-20", f"client_{book[1].pk}": outsider.pk}
    )

    page = text(response)
    assert 'data-testid="confirm-page"' in page
    assert (
        "Dismiss Клиент-менеджер Анна and hand over 3 clients: "
        "spread over the group: 2, Клиент-менеджер Глеб: 1?"
    ) in page
    assert_nobody_dismissed(manager)


def test_one_client_to_a_chosen_person_and_the_rest_spread(
    client, director, mentor, manager, colleague, outsider, book
):
    client.force_login(director)

    response = client.post(
        url(manager),
        {
            "target": "",
            "dismissed_on": "2026-11-20",
            f"client_{book[1].pk}": outsider.pk,
            "confirmed": "1",
        },
    )

    assert response.status_code == 302
    # Школа 1 to Глеб of the other group; Школа 0 and 2 spread: Борис, then Олег (names).
    assert owners() == {"Школа 0": "colleague", "Школа 1": "outsider", "Школа 2": "mentor"}
    manager.refresh_from_db()
    assert (manager.is_active, manager.dismissed_on) == (False, TODAY)
    assert "Клиент-менеджер Анна is dismissed; 3 clients handed over." in text(client.get("/team/"))


def test_the_rest_may_go_to_one_person_instead_of_the_spread(
    client, director, manager, colleague, outsider, book
):
    client.force_login(director)

    client.post(
        url(manager),
        {
            "target": colleague.pk,
            "dismissed_on": "2026-11-20",
            f"client_{book[0].pk}": outsider.pk,
            "confirmed": "1",
        },
    )

    assert owners() == {"Школа 0": "outsider", "Школа 1": "colleague", "Школа 2": "colleague"}


def test_an_unknown_person_for_one_client_is_an_error_on_that_client(
    client, director, manager, book
):
    client.force_login(director)

    response = client.post(
        url(manager),
        {"dismissed_on": "2026-11-20", f"client_{book[2].pk}": "999999", "confirmed": "1"},
    )

    assert response.status_code == 422
    cell = re.search(
        rf'field-invalid field-client_{book[2].pk}">(.*?)</td>', response.content.decode(), re.S
    )
    assert "Select a valid choice. 999999 is not one of the available choices." in cell.group(1)
    assert_nobody_dismissed(manager)


def test_the_leaving_manager_is_not_a_choice(client, director, manager, book):
    client.force_login(director)

    response = client.post(
        url(manager), {"dismissed_on": "2026-11-20", "target": manager.pk, "confirmed": "1"}
    )

    assert response.status_code == 422
    assert re.search(
        r'field-invalid field-target">.*?Select a valid choice\.', response.content.decode(), re.S
    )
    assert_nobody_dismissed(manager)


def test_a_future_last_day_is_an_error_on_the_date_before_any_question(
    client, director, manager, book
):
    client.force_login(director)

    response = client.post(url(manager), {"dismissed_on": "2026-11-21"})

    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-testid="confirm-page"' not in page
    assert re.search(
        r'field-invalid field-dismissed_on">.*?The date cannot be in the future\.', page, re.S
    )
    assert_nobody_dismissed(manager)


def test_a_mentor_cannot_post_a_handover(client, mentor, manager, colleague, book):
    client.force_login(mentor)

    response = client.post(
        url(manager), {"dismissed_on": "2026-11-20", "target": colleague.pk, "confirmed": "1"}
    )

    assert response.status_code == 403
    assert_nobody_dismissed(manager)
