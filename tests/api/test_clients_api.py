"""clients/ endpoints: listing, filters, risk, create, edit, reassign (SPEC §7)."""

from __future__ import annotations

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from clients.models import (
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    InteractionOutcome,
    RequestStatus,
)
from tests.api.conftest import api_client
from tests.factories import ClientFactory, InteractionFactory, make_inn

CLIENTS = "/api/v1/clients/"


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def test_list_is_paginated_and_shows_only_the_callers_clients(world):
    response = api_client(world.manager).get(CLIENTS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert _ids(response) == {
        world.acme.pk,
        world.prospect.pk,
        world.open_case.client_id,
        world.claimed_case.client_id,
    }


def test_list_pages_hold_fifty_rows(manager):
    ClientFactory.create_batch(51, manager=manager)
    client = api_client(manager)

    first = client.get(CLIENTS).json()
    second = client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert (len(second["results"]), second["next"]) == (1, None)


def test_mentor_lists_the_group_and_the_director_everyone(world):
    mentor_ids = _ids(api_client(world.mentor).get(CLIENTS))
    director_count = api_client(world.director).get(CLIENTS).json()["count"]

    assert world.colleague_client.pk in mentor_ids
    assert world.outsider_client.pk not in mentor_ids
    assert director_count == Client.objects.count() == 6


def test_return_manager_sees_the_lost_pool_only(world):
    ids = _ids(api_client(world.return_manager).get(CLIENTS))

    assert ids == {world.open_case.client_id, world.claimed_case.client_id}


def test_filters_status_kind_and_search(world):
    client = api_client(world.manager)

    assert _ids(client.get(CLIENTS, {"status": "lost"})) == {
        world.open_case.client_id,
        world.claimed_case.client_id,
    }
    assert _ids(client.get(CLIENTS, {"search": world.acme.inn[:10]})) == {world.acme.pk}
    assert _ids(client.get(CLIENTS, {"search": "Детский"})) == {world.prospect.pk}
    assert _ids(client.get(CLIENTS, {"kind": "hospital"})) == set()


def test_manager_filter_accepts_only_visible_managers(world):
    mentor = api_client(world.mentor)

    ok = mentor.get(CLIENTS, {"manager": world.colleague.pk})
    foreign = mentor.get(CLIENTS, {"manager": world.outsider.pk})

    assert _ids(ok) == {world.colleague_client.pk}
    assert foreign.status_code == 400
    assert list(foreign.json()) == ["manager"]


def test_unknown_choice_in_a_filter_is_400_naming_it(world):
    response = api_client(world.manager).get(CLIENTS, {"status": "vanished"})

    assert response.status_code == 400
    assert list(response.json()) == ["status"]


# --- risk -----------------------------------------------------------------------------------


def _active_client(manager, **kwargs) -> Client:
    return ClientFactory(manager=manager, status=ClientStatus.ACTIVE, **kwargs)


def _risk(user, client: Client) -> tuple[bool, int]:
    row = api_client(user).get(f"{CLIENTS}{client.pk}/").json()
    return row["at_risk"], row["risk_score"]


@override_settings(CONTACT_CADENCE_DAYS=30)
@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(None, (True, 40)), (70, (True, 40)), (45, (True, 30)), (20, (False, 10)), (1, (False, 0))],
)
def test_risk_grows_with_the_time_since_the_last_reached_contact(manager, days_ago, expected):
    client = _active_client(manager)
    if days_ago is not None:
        InteractionFactory(
            client=client, occurred_at=timezone.now() - datetime.timedelta(days=days_ago)
        )

    assert _risk(manager, client) == expected


def test_open_complaint_and_overdue_request_put_a_contacted_client_at_risk(manager):
    now = timezone.now()
    client = _active_client(manager)
    InteractionFactory(client=client, occurred_at=now - datetime.timedelta(hours=2))
    InteractionFactory(
        client=client,
        occurred_at=now - datetime.timedelta(hours=1),
        outcome=InteractionOutcome.COMPLAINT,
    )
    ClientRequest.objects.create(
        client=client,
        logged_by=manager,
        topic="Сдать отчёт",
        opened_at=now - datetime.timedelta(days=3),
        due_at=now - datetime.timedelta(days=1),
    )
    ClientRequest.objects.create(
        client=client,
        logged_by=manager,
        topic="Доработка",
        opened_at=now,
        due_at=now + datetime.timedelta(days=2),
        status=RequestStatus.REFUSAL_PENDING,
    )

    assert _risk(manager, client) == (True, 25 + 20 + 15)


def test_a_reached_contact_after_the_complaint_closes_it(manager):
    now = timezone.now()
    client = _active_client(manager)
    InteractionFactory(
        client=client,
        occurred_at=now - datetime.timedelta(hours=2),
        outcome=InteractionOutcome.COMPLAINT,
    )
    InteractionFactory(client=client, occurred_at=now - datetime.timedelta(hours=1))

    assert _risk(manager, client) == (False, 0)


def test_clients_not_served_carry_no_risk(manager):
    prospect = ClientFactory(manager=manager)

    assert _risk(manager, prospect) == (False, 0)


def test_at_risk_filter(manager):
    quiet = _active_client(manager)
    called = _active_client(manager)
    InteractionFactory(client=called, occurred_at=timezone.now())
    client = api_client(manager)

    assert _ids(client.get(CLIENTS, {"at_risk": "true"})) == {quiet.pk}
    assert _ids(client.get(CLIENTS, {"at_risk": "false"})) == {called.pk}


def test_list_takes_a_fixed_number_of_queries(manager, django_assert_max_num_queries):
    long_ago = timezone.now() - datetime.timedelta(days=90)
    for client in ClientFactory.create_batch(30, manager=manager, status=ClientStatus.ACTIVE):
        InteractionFactory(client=client, occurred_at=long_ago)
    api = api_client(manager)

    with django_assert_max_num_queries(6):
        response = api.get(CLIENTS, {"at_risk": "true"})

    assert response.json()["count"] == 30


# --- create ---------------------------------------------------------------------------------


def _new(**overrides) -> dict:
    return {
        "name": "МБОУ СОШ № 42",
        "inn": make_inn(4242),
        "kind": "school",
        "acquisition_channel": "inbound",
        **overrides,
    }


def test_manager_creates_a_client_of_their_own(world):
    response = api_client(world.manager).post(
        CLIENTS, _new(status="active", risk_score=99), format="json"
    )

    assert response.status_code == 201
    body = response.json()
    client = Client.objects.get(pk=body["id"])
    assert (client.manager, client.status) == (world.manager, ClientStatus.PROSPECT)
    assert (body["manager"], body["status"], body["risk_score"]) == (
        world.manager.pk,
        "prospect",
        0,
    )
    assignment = ClientAssignment.objects.get(client=client)
    assert (assignment.manager, assignment.reason) == (world.manager, AssignmentReason.INITIAL)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"inn": "1234567890"}, "inn"),
        ({"kpp": "12"}, "kpp"),
        ({"kind": "zoo"}, "kind"),
        ({"name": ""}, "name"),
        ({"acquisition_channel": "referral"}, "referred_by"),
    ],
)
def test_bad_client_input_names_the_field_and_writes_nothing(world, overrides, field):
    before = Client.objects.count()

    response = api_client(world.manager).post(CLIENTS, _new(**overrides), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Client.objects.count() == before


def test_duplicate_inn_is_400_on_inn(world):
    response = api_client(world.manager).post(CLIENTS, _new(inn=world.acme.inn), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["inn"]


@pytest.mark.parametrize("field", ["referred_by", "parent"])
def test_a_client_outside_the_callers_set_does_not_exist(world, field):
    body = _new(acquisition_channel="referral", referred_by=world.acme.pk)
    body[field] = world.outsider_client.pk

    response = api_client(world.manager).post(CLIENTS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert "does not exist" in str(response.json()[field]) or "не существует" in str(
        response.json()[field]
    )
    assert not Client.objects.filter(inn=body["inn"]).exists()


def test_a_manager_cannot_give_a_new_client_to_someone_else(world):
    response = api_client(world.manager).post(
        CLIENTS, _new(manager=world.colleague.pk), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]


def test_director_must_name_the_manager(world):
    response = api_client(world.director).post(CLIENTS, _new(), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]


# --- edit -----------------------------------------------------------------------------------


def test_patch_edits_details_and_ignores_protected_fields(world):
    response = api_client(world.manager).patch(
        f"{CLIENTS}{world.acme.pk}/",
        {"city": "Ачинск", "status": "closed", "manager": world.colleague.pk},
        format="json",
    )

    assert response.status_code == 200
    world.acme.refresh_from_db()
    assert (world.acme.city, world.acme.status, world.acme.manager) == (
        "Ачинск",
        ClientStatus.ACTIVE,
        world.manager,
    )
    assert response.json()["city"] == "Ачинск"


def test_patch_with_a_bad_kpp_changes_nothing(world):
    response = api_client(world.manager).patch(
        f"{CLIENTS}{world.acme.pk}/", {"kpp": "abc", "city": "Ачинск"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["kpp"]
    world.acme.refresh_from_db()
    assert world.acme.city == "Красноярск"


def test_put_is_not_offered(world):
    response = api_client(world.manager).put(
        f"{CLIENTS}{world.acme.pk}/", {"name": "x"}, format="json"
    )

    assert response.status_code == 405


# --- reassign -------------------------------------------------------------------------------


def test_mentor_reassigns_within_the_group(world):
    response = api_client(world.mentor).post(
        f"{CLIENTS}{world.acme.pk}/reassign/", {"manager": world.colleague.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["manager"] == world.colleague.pk
    current = ClientAssignment.objects.get(client=world.acme, ends_on__isnull=True)
    assert (current.manager, current.starts_on, current.reason) == (
        world.colleague,
        timezone.localdate(),
        AssignmentReason.REASSIGN,
    )
    # The old owner loses the client at once (RELIABILITY R03).
    assert api_client(world.manager).get(f"{CLIENTS}{world.acme.pk}/").status_code == 404


def test_mentor_cannot_hand_a_client_to_another_group(world):
    response = api_client(world.mentor).post(
        f"{CLIENTS}{world.acme.pk}/reassign/", {"manager": world.outsider.pk}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    world.acme.refresh_from_db()
    assert world.acme.manager == world.manager


def test_reassign_in_the_future_is_400_on_effective_on(world):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = api_client(world.director).post(
        f"{CLIENTS}{world.acme.pk}/reassign/",
        {"manager": world.colleague.pk, "effective_on": tomorrow.isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["effective_on"]
    assert ClientAssignment.objects.filter(client=world.acme).count() == 1


def test_sales_manager_hands_a_won_client_over(world):
    won = ClientFactory(manager=world.sales_manager)

    response = api_client(world.sales_manager).post(
        f"{CLIENTS}{won.pk}/reassign/",
        {"manager": world.manager.pk, "reason": "handover"},
        format="json",
    )

    assert response.status_code == 200
    assert ClientAssignment.objects.get(client=won, ends_on__isnull=True).reason == "handover"


# --- no foreign choices leak (RELIABILITY R05.4) --------------------------------------------


def test_options_and_browsable_api_list_no_foreign_people(world):
    client = api_client(world.manager)

    options = client.options(CLIENTS)
    client.force_login(world.manager)
    page = client.get(CLIENTS, HTTP_ACCEPT="text/html")

    assert options.status_code == 200
    post = options.json()["actions"]["POST"]
    assert {"manager", "referred_by", "parent", "inn"} <= set(post)
    assert "choices" not in post["manager"]
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="manager"' in html  # the form is there, with the caller's choices only
    assert world.manager.full_name in html
    for foreign in (world.outsider, world.colleague, world.director):
        assert foreign.full_name not in html
    assert world.outsider_client.name not in html
    assert world.colleague_client.name not in html
