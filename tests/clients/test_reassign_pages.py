"""Reassignment in the web UI: one client from its card, a selection from /clients/ (SPEC §2,
§3.6). Each is confirmed first; bad input is a form error naming the field and writes nothing."""

from __future__ import annotations

import datetime
import html as html_lib
import re

import pytest

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from tests.factories import ClientFactory

NOW = "2026-11-20 08:00:00"  # Friday 15:00 in Krasnoyarsk
TODAY = datetime.date(2026, 11, 20)
D = datetime.date

pytestmark = [pytest.mark.frozen_clock(NOW), pytest.mark.usefixtures("english_pages")]


def active(manager, count: int, prefix: str = "Школа") -> list[Client]:
    return [
        ClientFactory(manager=manager, name=f"{prefix} {n}", status=ClientStatus.ACTIVE)
        for n in range(count)
    ]


def owners(clients) -> list[str]:
    return [Client.objects.get(pk=c.pk).manager.username for c in clients]


def text(response) -> str:
    return html_lib.unescape(response.content.decode())


def field_errors(response, name: str) -> list[str]:
    """The messages under the field ``name`` (partials/form_field.html)."""
    page = response.content.decode()
    match = re.search(rf'field-invalid field-{name}">(.*?)</div>', page, re.S)
    assert match, f"no error on {name}"
    return [html_lib.unescape(m) for m in re.findall(r"<li>(.*?)</li>", match.group(1))]


@pytest.fixture
def school(manager):
    return active(manager, 1)[0]


# --- the card -------------------------------------------------------------------------------


def test_the_director_sees_the_form_with_everyone_who_keeps_a_book_least_loaded_first(
    client, director, mentor, manager, colleague, other_mentor, outsider, school
):
    active(colleague, 2, "Бориса")
    client.force_login(director)

    page = text(client.get(f"/clients/{school.pk}/"))

    form = page[page.index('data-testid="reassign-form"') :]
    form = form[: form.index("</form>")]
    options = re.findall(r'<option value="(\d*)"[^>]*>(.*?)</option>', form)
    assert options == [
        ("", "Choose a manager"),
        (str(outsider.pk), "Клиент-менеджер Глеб — 0 of 150 clients"),
        (str(other_mentor.pk), "Наставник Вера — 0 of 150 clients"),
        (str(mentor.pk), "Наставник Олег — 0 of 150 clients"),
        (str(colleague.pk), "Клиент-менеджер Борис — 2 of 150 clients"),
    ]
    assert 'value="2026-11-20"' in form


def test_a_trainee_is_offered_with_the_capacity_of_their_ramp(
    client, director, manager, colleague, school
):
    colleague.hired_on = D(2026, 11, 10)
    colleague.ramp_until = D(2027, 1, 9)  # 10 of 60 days: 150 × 1/6 = 25
    colleague.save(update_fields=["hired_on", "ramp_until"])
    client.force_login(director)

    page = text(client.get(f"/clients/{school.pk}/"))

    assert "Клиент-менеджер Борис — 0 of 25 clients (trainee)" in page


def test_the_clients_own_manager_has_no_reassign_form(client, manager, school):
    client.force_login(manager)

    page = client.get(f"/clients/{school.pk}/").content.decode()

    assert 'data-testid="reassign-form"' not in page


def test_the_director_is_asked_first_and_nothing_moves_until_confirmed(
    client, director, colleague, school
):
    client.force_login(director)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": colleague.pk, "reassign-effective_on": "2026-11-20"},
    )

    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="confirm-page"' in page
    assert "Give Школа 0 to Клиент-менеджер Борис?" in page
    assert owners([school]) == ["manager"]


def test_the_director_reassigns_one_client_once_confirmed(client, director, colleague, school):
    client.force_login(director)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {
            "reassign-manager": colleague.pk,
            "reassign-effective_on": "2026-11-16",
            "confirmed": "1",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/clients/{school.pk}/"
    assert list(
        ClientAssignment.objects.filter(client=school)
        .order_by("pk")
        .values_list("manager__username", "starts_on", "ends_on", "reason")
    ) == [
        ("manager", None, D(2026, 11, 15), AssignmentReason.INITIAL),
        ("colleague", D(2026, 11, 16), None, AssignmentReason.REASSIGN),
    ]
    assert "Школа 0 is now with Клиент-менеджер Борис." in text(client.get(response["Location"]))


def assert_unchanged(clients, usernames):
    assert owners(clients) == usernames
    assert ClientAssignment.objects.filter(reason=AssignmentReason.REASSIGN).count() == 0


@pytest.mark.parametrize("confirmed", [{}, {"confirmed": "1"}])
def test_an_unknown_person_is_an_error_on_the_manager_field(client, director, school, confirmed):
    client.force_login(director)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": "999999", "reassign-effective_on": "2026-11-20", **confirmed},
    )

    assert response.status_code == 422
    assert field_errors(response, "manager") == [
        "Select a valid choice. 999999 is not one of the available choices."
    ]
    assert_unchanged([school], ["manager"])


def test_a_future_date_is_an_error_on_the_date_field(client, director, colleague, school):
    client.force_login(director)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": colleague.pk, "reassign-effective_on": "2026-11-21", "confirmed": "1"},
    )

    assert response.status_code == 422
    assert field_errors(response, "effective_on") == ["The date cannot be in the future."]
    assert_unchanged([school], ["manager"])


def test_a_mentor_is_offered_only_the_group_and_cannot_post_someone_outside_it(
    client, mentor, manager, colleague, outsider, school
):
    client.force_login(mentor)

    page = text(client.get(f"/clients/{school.pk}/"))
    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": outsider.pk, "reassign-effective_on": "2026-11-20", "confirmed": "1"},
    )

    form = page[page.index('data-testid="reassign-form"') :]
    offered = re.findall(r'<option value="(\d+)"', form[: form.index("</form>")])
    assert offered == [str(colleague.pk), str(mentor.pk)]
    assert response.status_code == 422
    assert field_errors(response, "manager")[0].startswith("Select a valid choice.")
    assert_unchanged([school], ["manager"])


def test_a_mentor_reassigns_inside_the_group(client, mentor, colleague, school):
    client.force_login(mentor)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": colleague.pk, "reassign-effective_on": "2026-11-20", "confirmed": "1"},
    )

    assert response.status_code == 302
    assert owners([school]) == ["colleague"]


def test_a_client_of_another_group_is_not_found_for_a_mentor(client, mentor, outsider):
    theirs = active(outsider, 1)[0]
    client.force_login(mentor)

    response = client.post(
        f"/clients/{theirs.pk}/reassign/",
        {"reassign-manager": mentor.pk, "reassign-effective_on": "2026-11-20", "confirmed": "1"},
    )

    assert response.status_code == 404
    assert owners([theirs]) == ["outsider"]


def test_a_client_manager_cannot_reassign_their_own_client(client, manager, colleague, school):
    client.force_login(manager)

    response = client.post(
        f"/clients/{school.pk}/reassign/",
        {"reassign-manager": colleague.pk, "reassign-effective_on": "2026-11-20", "confirmed": "1"},
    )

    assert response.status_code == 403
    assert owners([school]) == ["manager"]


# --- the list ---------------------------------------------------------------------------------


def bulk(client, url="/clients/", **data):
    body = {"effective_on": "2026-11-20", **data}
    return client.post(url, body)


def test_the_list_offers_a_checkbox_per_row_to_the_director_only(client, director, manager, school):
    client.force_login(director)
    director_page = client.get("/clients/").content.decode()
    client.force_login(manager)
    manager_page = client.get("/clients/").content.decode()

    assert re.findall(r'name="clients" value="(\d+)" form="clients-reassign"', director_page) == [
        str(school.pk)
    ]
    assert f'name="page_clients" value="{school.pk}"' in director_page
    assert 'data-testid="clients-reassign-form"' not in manager_page
    assert 'name="clients"' not in manager_page


def test_the_list_with_htmx_keeps_the_checkboxes_in_the_swapped_rows(client, director, school):
    client.force_login(director)

    fragment = client.get("/clients/?search=Школа", HTTP_HX_REQUEST="true").content.decode()

    assert fragment.lstrip().startswith("<div")
    assert 'id="clients-reassign"' in fragment
    assert f'name="clients" value="{school.pk}" form="clients-reassign"' in fragment
    assert 'action="/clients/?search=' in fragment


def test_the_director_is_asked_how_many_go_to_whom(client, director, manager, colleague):
    selection = active(manager, 3)
    client.force_login(director)

    response = bulk(client, clients=[c.pk for c in selection[:2]], target=colleague.pk)

    page = text(response)
    assert 'data-testid="confirm-page"' in page
    assert "Give 2 clients to Клиент-менеджер Борис?" in page
    assert_unchanged(selection, ["manager"] * 3)


def test_the_director_gives_a_selection_to_one_person_and_returns_to_the_same_list(
    client, director, manager, colleague
):
    selection = active(manager, 3)
    client.force_login(director)

    response = bulk(
        client,
        url="/clients/?status=active&ordering=name",
        clients=[c.pk for c in selection[:2]],
        target=colleague.pk,
        effective_on="2026-11-19",
        confirmed="1",
    )

    assert response.status_code == 302
    assert response["Location"] == "/clients/?status=active&ordering=name"
    assert owners(selection) == ["colleague", "colleague", "manager"]
    assert set(
        ClientAssignment.objects.filter(reason=AssignmentReason.REASSIGN).values_list(
            "client__name", "manager__username", "starts_on"
        )
    ) == {("Школа 0", "colleague", D(2026, 11, 19)), ("Школа 1", "colleague", D(2026, 11, 19))}
    assert "2 clients reassigned." in text(client.get(response["Location"]))


def test_all_on_this_page_without_javascript_takes_every_row_of_the_page(
    client, director, mentor, manager, colleague
):
    selection = active(manager, 3)
    client.force_login(director)

    response = bulk(
        client,
        all_on_page="1",
        page_clients=[c.pk for c in selection],
        target="spread",
        confirmed="1",
    )

    assert response.status_code == 302
    # Борис and Олег are both empty: Борис first by name, then they alternate.
    assert owners(selection) == ["colleague", "mentor", "colleague"]


def test_the_mentor_spreads_inside_the_group(client, mentor, manager, colleague, outsider):
    selection = active(manager, 2)
    client.force_login(mentor)

    response = bulk(client, clients=[c.pk for c in selection], target="spread", confirmed="1")

    assert response.status_code == 302
    assert owners(selection) == ["colleague", "mentor"]
    assert not Client.objects.filter(manager=outsider).exists()


def test_a_mentor_selecting_a_client_of_another_group_moves_nothing(
    client, mentor, manager, colleague, outsider
):
    ours, theirs = active(manager, 1, "Наш"), active(outsider, 1, "Чужой")
    client.force_login(mentor)

    response = bulk(client, clients=[ours[0].pk, theirs[0].pk], target=colleague.pk, confirmed="1")

    assert response.status_code == 422
    errors = text(response)
    assert re.search(
        rf"Clients: Select a valid choice. {theirs[0].pk} is not one of the available choices.",
        errors,
    )
    assert_unchanged([*ours, *theirs], ["manager", "outsider"])
    # The ticked row stays ticked.
    assert f'value="{ours[0].pk}" form="clients-reassign" data-select-row' in errors
    assert re.search(rf'value="{ours[0].pk}"[^>]*checked', response.content.decode())


def test_a_mentor_cannot_give_the_selection_to_someone_outside_the_group(
    client, mentor, manager, outsider
):
    selection = active(manager, 2)
    client.force_login(mentor)

    response = bulk(client, clients=[c.pk for c in selection], target=outsider.pk, confirmed="1")

    assert response.status_code == 422
    assert field_errors(response, "target")[0].startswith("Select a valid choice.")
    assert_unchanged(selection, ["manager", "manager"])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"target": "999999"}, "target", "Select a valid choice."),
        ({"target": "spread", "effective_on": "2026-11-21"}, "effective_on", "The date cannot"),
        ({"target": "spread", "effective_on": "1999-12-31"}, "effective_on", "The date cannot"),
    ],
)
def test_bad_input_is_an_error_on_its_field(
    client, director, manager, colleague, data, field, message
):
    selection = active(manager, 2)
    client.force_login(director)

    response = bulk(client, clients=[c.pk for c in selection], confirmed="1", **data)

    assert response.status_code == 422
    assert field_errors(response, field)[0].startswith(message)
    assert_unchanged(selection, ["manager", "manager"])


def test_an_empty_selection_is_an_error_naming_the_clients(client, director, colleague):
    client.force_login(director)

    response = bulk(client, target=colleague.pk, confirmed="1")

    assert response.status_code == 422
    assert "Clients: Choose at least one client." in text(response)


def test_a_client_already_with_the_target_refuses_the_whole_selection(
    client, director, manager, colleague
):
    mine, already = active(manager, 1, "Первый"), active(colleague, 1, "Уже")
    client.force_login(director)

    response = bulk(client, clients=[mine[0].pk, already[0].pk], target=colleague.pk, confirmed="1")

    assert response.status_code == 422
    assert field_errors(response, "target") == ["Уже 0: The client is already with this manager."]
    assert_unchanged([*mine, *already], ["manager", "colleague"])


@pytest.mark.parametrize("role_fixture", ["manager", "return_manager"])
def test_roles_that_cannot_reassign_are_refused(client, request, role_fixture, colleague, school):
    client.force_login(request.getfixturevalue(role_fixture))

    response = bulk(client, clients=[school.pk], target=colleague.pk, confirmed="1")

    assert response.status_code == 403
    assert owners([school]) == ["manager"]


def test_a_sales_manager_hands_a_won_client_over_from_the_card(client, sales_manager, manager):
    won = ClientFactory(manager=sales_manager, name="Выигранный", status=ClientStatus.ACTIVE)
    client.force_login(sales_manager)

    response = client.post(
        f"/clients/{won.pk}/reassign/",
        {"reassign-manager": manager.pk, "reassign-effective_on": "2026-11-20", "confirmed": "1"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/clients/"  # the card is no longer theirs to open
    assert ClientAssignment.objects.get(client=won, ends_on__isnull=True).reason == (
        AssignmentReason.HANDOVER
    )
