"""A selection of clients reassigned at once (``clients_reassign_many``): to one person or spread
by the SPEC §3.6 rule, all or nothing, each client under ``client_reassign``'s rules."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from clients.services import SPREAD, clients_reassign_many
from staff.models import Role
from tests.factories import ClientFactory, UserFactory

TODAY = datetime.date(2026, 11, 15)
D = datetime.date

pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted as their msgids."""
    with translation.override("en"):
        yield


def active(manager, count: int, prefix: str = "Клиент") -> list[Client]:
    return [
        ClientFactory(manager=manager, name=f"{prefix} {n}", status=ClientStatus.ACTIVE)
        for n in range(count)
    ]


def owners(clients) -> list[str]:
    return [Client.objects.get(pk=c.pk).manager.username for c in clients]


def loads(*people) -> dict[str, int]:
    return {
        p.username: Client.objects.filter(manager=p, status=ClientStatus.ACTIVE).count()
        for p in people
    }


@pytest.fixture
def vika(mentor):
    """A third client manager of ``mentor``'s group, last in name order."""
    return UserFactory(
        username="vika", full_name="Клиент-менеджер Вика", role=Role.CLIENT_MANAGER, mentor=mentor
    )


def test_the_director_gives_a_selection_to_one_person(director, manager, outsider, colleague):
    mine, theirs = active(manager, 2, "Школа"), active(outsider, 1, "Сад")

    assignments = clients_reassign_many(
        actor=director, clients=[*mine, *theirs], target=colleague, effective_on=D(2026, 11, 1)
    )

    assert [(a.client.name, a.manager.username) for a in assignments] == [
        ("Школа 0", "colleague"),
        ("Школа 1", "colleague"),
        ("Сад 0", "colleague"),
    ]
    assert set(
        ClientAssignment.objects.filter(ends_on__isnull=True).values_list(
            "client__name", "manager__username", "starts_on", "reason"
        )
    ) == {
        ("Школа 0", "colleague", D(2026, 11, 1), AssignmentReason.REASSIGN),
        ("Школа 1", "colleague", D(2026, 11, 1), AssignmentReason.REASSIGN),
        ("Сад 0", "colleague", D(2026, 11, 1), AssignmentReason.REASSIGN),
    }
    assert loads(manager, outsider, colleague) == {"manager": 0, "outsider": 0, "colleague": 3}


def test_spread_skips_a_mentor_above_capacity_and_fills_the_managers_with_room(
    director, mentor, manager, colleague, vika
):
    # The case, small: the mentor at 4 of 3, two managers at 2 of 10.
    mentor.capacity = 3
    mentor.save(update_fields=["capacity"])
    for person in (colleague, vika):
        person.capacity = 10
        person.save(update_fields=["capacity"])
    active(mentor, 4, "Наставника")
    active(colleague, 2, "Бориса")
    active(vika, 2, "Вики")
    selection = active(manager, 3, "Анны")

    clients_reassign_many(actor=director, clients=selection, target=SPREAD)

    # Борис and Вика tie at 2 of 10; Борис comes first by name, then they alternate.
    assert owners(selection) == ["colleague", "vika", "colleague"]
    assert loads(mentor, manager, colleague, vika) == {
        "mentor": 4,
        "manager": 0,
        "colleague": 4,
        "vika": 3,
    }


def test_spread_gives_a_trainee_clients_by_their_ramp(director, mentor, manager, colleague):
    # Борис was hired 60 days before ramp_until and is 10 days in: 150 × 10/60 = 25 clients. The
    # mentor (150) takes six for every one of his.
    colleague.hired_on = D(2026, 11, 5)
    colleague.ramp_until = D(2027, 1, 4)
    colleague.save(update_fields=["hired_on", "ramp_until"])
    selection = active(manager, 7)

    clients_reassign_many(actor=director, clients=selection, target=SPREAD)

    assert owners(selection) == ["colleague"] + ["mentor"] * 6


def test_spread_keeps_each_client_in_its_managers_group(
    director, mentor, manager, colleague, other_mentor, outsider
):
    ours, theirs = active(manager, 2, "Наш"), active(outsider, 2, "Чужой")

    clients_reassign_many(actor=director, clients=[*ours, *theirs], target=SPREAD)

    # Our group: Борис then Олег (names, both empty); the other group has only its mentor left.
    assert owners(ours) == ["colleague", "mentor"]
    assert owners(theirs) == ["mentor2", "mentor2"]


def test_spread_moves_clients_off_every_manager_of_the_selection(
    director, mentor, manager, colleague
):
    anna, boris = active(manager, 1, "Анны"), active(colleague, 1, "Бориса")

    clients_reassign_many(actor=director, clients=[*anna, *boris], target=SPREAD)

    assert owners(anna + boris) == ["mentor", "mentor"]


def test_a_mentor_reassigns_inside_the_group(mentor, manager, colleague):
    selection = active(manager, 2)

    clients_reassign_many(actor=mentor, clients=selection, target=colleague)

    assert owners(selection) == ["colleague", "colleague"]


def assert_nothing_written(clients, owner_usernames, rows_before):
    assert owners(clients) == owner_usernames
    assert ClientAssignment.objects.count() == rows_before


def test_a_client_of_another_group_refuses_the_mentors_whole_batch(
    mentor, manager, colleague, outsider
):
    ours, foreign = active(manager, 2, "Наш"), active(outsider, 1, "Чужой")
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(actor=mentor, clients=[*ours, *foreign], target=colleague)

    assert exc.value.message_dict == {"clients": ["You cannot reassign: Чужой 0."]}
    assert_nothing_written([*ours, *foreign], ["manager", "manager", "outsider"], rows)


def test_a_mentor_cannot_give_a_selection_outside_the_group(mentor, manager, outsider):
    selection = active(manager, 2)
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(actor=mentor, clients=selection, target=outsider)

    assert exc.value.message_dict == {"target": ["Клиент 0: Choose a member of your group."]}
    assert_nothing_written(selection, ["manager", "manager"], rows)


def test_a_client_already_with_the_target_refuses_the_batch_and_rolls_back_the_rest(
    director, manager, colleague
):
    first, already = active(manager, 1, "Первый")[0], active(colleague, 1, "Уже")[0]
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(actor=director, clients=[first, already], target=colleague)

    assert exc.value.message_dict == {"target": ["Уже 0: The client is already with this manager."]}
    assert_nothing_written([first, already], ["manager", "colleague"], rows)


def test_a_future_date_is_refused_before_anything_moves(director, manager, colleague):
    selection = active(manager, 2)
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(
            actor=director,
            clients=selection,
            target=colleague,
            effective_on=TODAY + datetime.timedelta(days=1),
        )

    assert set(exc.value.message_dict) == {"effective_on"}
    assert_nothing_written(selection, ["manager", "manager"], rows)


def test_an_empty_selection_is_refused(director, colleague):
    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(actor=director, clients=[], target=colleague)

    assert exc.value.message_dict == {"clients": ["Choose at least one client."]}


@pytest.mark.parametrize("role_fixture", ["colleague", "return_manager"])
def test_roles_without_the_capability_are_refused(request, role_fixture, manager, mentor):
    actor = request.getfixturevalue(role_fixture)
    selection = active(manager, 1)

    with pytest.raises(PermissionDenied):
        clients_reassign_many(actor=actor, clients=selection, target=mentor)

    assert owners(selection) == ["manager"]


def test_spread_with_nobody_to_take_the_clients_is_refused(director):
    lone = UserFactory(username="lone", full_name="Наставник Юрий", role=Role.MENTOR)
    selection = active(lone, 1)

    with pytest.raises(ValidationError) as exc:
        clients_reassign_many(actor=director, clients=selection, target=SPREAD)

    assert exc.value.message_dict == {"target": ["There is nobody to give the clients to."]}
    assert owners(selection) == ["lone"]
