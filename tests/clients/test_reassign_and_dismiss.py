"""Reassignment (SPEC §2 ClientAssignment) and dismissal with a handover of the whole book
(SPEC §3.6). A refused action leaves the assignment history exactly as it was."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clients.models import AssignmentReason, Client, ClientAssignment, ClientStatus
from clients.services import SPREAD, client_reassign
from staff.models import Role
from team.services import staff_dismiss
from tests.factories import ClientFactory, UserFactory

TODAY = datetime.date(2026, 11, 15)
D = datetime.date


pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


def history(client) -> list[tuple]:
    return list(
        ClientAssignment.objects.filter(client=client)
        .order_by("pk")
        .values_list("manager__username", "starts_on", "ends_on", "reason")
    )


def error_fields(exc_info) -> set[str]:
    return set(exc_info.value.message_dict)


# --- client_reassign ---------------------------------------------------------------------------


def test_reassign_closes_the_current_row_on_the_eve_and_opens_one_on_the_day(
    director, manager, colleague
):
    client = ClientFactory(manager=manager)

    new = client_reassign(
        actor=director, client=client, manager=colleague, effective_on=D(2026, 6, 1)
    )

    assert history(client) == [
        ("manager", None, D(2026, 5, 31), AssignmentReason.INITIAL),
        ("colleague", D(2026, 6, 1), None, AssignmentReason.REASSIGN),
    ]
    assert new.created_by == director
    client.refresh_from_db()
    assert client.manager == colleague


def test_reassign_defaults_to_today(director, manager, colleague):
    client = ClientFactory(manager=manager)

    client_reassign(actor=director, client=client, manager=colleague)

    assert history(client)[-1] == ("colleague", TODAY, None, AssignmentReason.REASSIGN)
    assert history(client)[0][2] == TODAY - datetime.timedelta(days=1)


def test_second_reassignment_chains_without_gaps(director, manager, colleague, mentor):
    client = ClientFactory(manager=manager)
    client_reassign(actor=director, client=client, manager=colleague, effective_on=D(2026, 3, 1))

    client_reassign(actor=director, client=client, manager=mentor, effective_on=D(2026, 9, 15))

    assert history(client) == [
        ("manager", None, D(2026, 2, 28), AssignmentReason.INITIAL),
        ("colleague", D(2026, 3, 1), D(2026, 9, 14), AssignmentReason.REASSIGN),
        ("mentor", D(2026, 9, 15), None, AssignmentReason.REASSIGN),
    ]


def assert_refused(client, keeper, field, **kwargs):
    """The reassignment is refused on ``field``; ``keeper`` still has the client."""
    before = history(client)
    with pytest.raises(ValidationError) as exc:
        client_reassign(client=client, **kwargs)
    assert error_fields(exc) == {field}
    assert history(client) == before
    client.refresh_from_db()
    assert client.manager == keeper


def test_reassign_to_the_same_manager_is_refused(director, manager):
    client = ClientFactory(manager=manager)

    assert_refused(client, manager, "manager", actor=director, manager=manager)


def test_reassign_to_a_future_date_is_refused(director, manager, colleague):
    client = ClientFactory(manager=manager)

    assert_refused(
        client,
        manager,
        "effective_on",
        actor=director,
        manager=colleague,
        effective_on=TODAY + datetime.timedelta(days=1),
    )


@pytest.mark.parametrize("day", [D(2026, 3, 1), D(2026, 2, 1)])
def test_reassign_on_or_before_the_current_start_is_refused(
    director, manager, colleague, mentor, day
):
    client = ClientFactory(manager=manager)
    client_reassign(actor=director, client=client, manager=colleague, effective_on=D(2026, 3, 1))

    assert_refused(
        client, colleague, "effective_on", actor=director, manager=mentor, effective_on=day
    )


def test_reassign_the_day_after_the_current_start_is_allowed(director, manager, colleague, mentor):
    client = ClientFactory(manager=manager)
    client_reassign(actor=director, client=client, manager=colleague, effective_on=D(2026, 3, 1))

    client_reassign(actor=director, client=client, manager=mentor, effective_on=D(2026, 3, 2))

    assert history(client)[1:] == [
        ("colleague", D(2026, 3, 1), D(2026, 3, 1), AssignmentReason.REASSIGN),
        ("mentor", D(2026, 3, 2), None, AssignmentReason.REASSIGN),
    ]


@pytest.mark.parametrize("reason", [AssignmentReason.INITIAL, "whim"])
def test_reassign_needs_a_real_reason(director, manager, colleague, reason):
    client = ClientFactory(manager=manager)

    assert_refused(client, manager, "reason", actor=director, manager=colleague, reason=reason)


def test_a_client_manager_cannot_reassign_even_their_own_client(manager, colleague):
    client = ClientFactory(manager=manager)
    before = history(client)

    with pytest.raises(PermissionDenied):
        client_reassign(actor=manager, client=client, manager=colleague)

    assert history(client) == before


def test_the_clients_mentor_can_reassign_within_the_group(mentor, manager, colleague):
    client = ClientFactory(manager=manager)

    client_reassign(actor=mentor, client=client, manager=colleague, effective_on=D(2026, 10, 1))

    client.refresh_from_db()
    assert client.manager == colleague


def test_a_mentor_cannot_move_a_client_out_of_the_group(mentor, manager, outsider):
    client = ClientFactory(manager=manager)
    before = history(client)

    with pytest.raises(ValidationError) as exc_info:
        client_reassign(actor=mentor, client=client, manager=outsider)

    assert error_fields(exc_info) == {"manager"}
    assert history(client) == before


def test_a_mentor_of_another_group_cannot_reassign(other_mentor, manager, colleague):
    client = ClientFactory(manager=manager)
    before = history(client)

    with pytest.raises(PermissionDenied):
        client_reassign(actor=other_mentor, client=client, manager=colleague)

    assert history(client) == before


@pytest.mark.parametrize("role_fixture", ["return_manager", "outsider"])
def test_other_roles_cannot_reassign(role_fixture, request, manager, colleague):
    actor = request.getfixturevalue(role_fixture)
    client = ClientFactory(manager=manager)

    with pytest.raises(PermissionDenied):
        client_reassign(actor=actor, client=client, manager=colleague)

    assert len(history(client)) == 1


def test_a_sales_manager_hands_their_won_client_over(sales_manager, manager):
    client = ClientFactory(manager=sales_manager)

    client_reassign(
        actor=sales_manager, client=client, manager=manager, reason=AssignmentReason.HANDOVER
    )

    assert history(client)[-1] == ("manager", TODAY, None, AssignmentReason.HANDOVER)


@pytest.mark.parametrize("target_fixture", ["return_manager", "sales_manager", "director"])
def test_the_target_must_keep_a_book(director, manager, target_fixture, request):
    client = ClientFactory(manager=manager)
    target = request.getfixturevalue(target_fixture)

    assert_refused(client, manager, "manager", actor=director, manager=target)


def test_the_target_must_be_active(director, manager, colleague):
    client = ClientFactory(manager=manager)
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])

    assert_refused(client, manager, "manager", actor=director, manager=colleague)


def test_a_mentor_is_a_valid_target(director, manager, other_mentor):
    client = ClientFactory(manager=manager)

    client_reassign(actor=director, client=client, manager=other_mentor)

    client.refresh_from_db()
    assert client.manager == other_mentor


# --- staff_dismiss -----------------------------------------------------------------------------


def book_of(user) -> set[int]:
    return set(Client.objects.filter(manager=user).values_list("pk", flat=True))


def assert_nobody_left_with(user):
    assert not Client.objects.filter(manager=user).exists()
    assert not ClientAssignment.objects.filter(manager=user, ends_on__isnull=True).exists()


def test_dismiss_with_an_explicit_handover_map(director, manager, colleague, outsider):
    first, second = ClientFactory(manager=manager), ClientFactory(manager=manager)
    untouched = ClientFactory(manager=colleague)

    assignments = staff_dismiss(
        actor=director,
        user=manager,
        dismissed_on=D(2026, 11, 1),
        handover={first.pk: colleague, second.pk: outsider},
    )

    assert len(assignments) == 2
    assert history(first) == [
        ("manager", None, D(2026, 10, 31), AssignmentReason.INITIAL),
        ("colleague", D(2026, 11, 1), None, AssignmentReason.DISMISSAL),
    ]
    assert history(second)[-1] == ("outsider", D(2026, 11, 1), None, AssignmentReason.DISMISSAL)
    assert len(history(untouched)) == 1
    assert_nobody_left_with(manager)
    manager.refresh_from_db()
    assert (manager.is_active, manager.dismissed_on) == (False, D(2026, 11, 1))


def test_dismiss_spreads_evenly_to_the_least_loaded_of_the_group_mentor_included(
    director, mentor, manager, colleague, outsider
):
    book = [ClientFactory(manager=manager) for _ in range(3)]
    ClientFactory(manager=colleague, status=ClientStatus.ACTIVE)
    # Another group's manager with no load is not a candidate.
    assert book_of(outsider) == set()

    staff_dismiss(actor=director, user=manager, handover=SPREAD)

    # Loads start at mentor 0, colleague 1; ties go by name ("Клиент-менеджер Борис" first).
    managers = [Client.objects.get(pk=c.pk).manager for c in book]
    assert managers == [mentor, colleague, mentor]
    assert [history(c)[-1][1:] for c in book] == [(TODAY, None, AssignmentReason.DISMISSAL)] * 3
    assert_nobody_left_with(manager)
    manager.refresh_from_db()
    assert (manager.is_active, manager.dismissed_on) == (False, TODAY)


def test_dismiss_spread_skips_dismissed_group_members(director, mentor, manager, colleague):
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    book = [ClientFactory(manager=manager) for _ in range(2)]

    staff_dismiss(actor=director, user=manager)

    assert [Client.objects.get(pk=c.pk).manager for c in book] == [mentor, mentor]


def test_dismiss_with_a_client_missing_from_the_map_changes_nothing(director, manager, colleague):
    first, second = ClientFactory(manager=manager), ClientFactory(manager=manager)
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        staff_dismiss(actor=director, user=manager, handover={first.pk: colleague})

    assert error_fields(exc) == {"handover"}
    assert second.name in exc.value.message_dict["handover"][0]
    assert ClientAssignment.objects.count() == rows
    assert book_of(manager) == {first.pk, second.pk}
    manager.refresh_from_db()
    assert (manager.is_active, manager.dismissed_on) == (True, None)


def test_dismiss_with_a_bad_target_rolls_back_the_earlier_handovers(
    director, manager, colleague, return_manager
):
    first, second = ClientFactory(manager=manager), ClientFactory(manager=manager)
    rows = ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        staff_dismiss(
            actor=director, user=manager, handover={first.pk: colleague, second.pk: return_manager}
        )

    assert error_fields(exc) == {"manager"}
    assert ClientAssignment.objects.count() == rows
    assert book_of(manager) == {first.pk, second.pk}
    manager.refresh_from_db()
    assert manager.is_active is True


def test_dismiss_refuses_clients_outside_the_book(director, manager, colleague):
    mine = ClientFactory(manager=manager)
    not_mine = ClientFactory(manager=colleague)

    with pytest.raises(ValidationError) as exc:
        staff_dismiss(
            actor=director, user=manager, handover={mine.pk: colleague, not_mine.pk: manager}
        )

    assert error_fields(exc) == {"handover"}
    assert len(history(mine)) == 1
    manager.refresh_from_db()
    assert manager.is_active is True


def test_a_mentor_with_active_mentees_cannot_be_dismissed(director, mentor, manager):
    ClientFactory(manager=mentor)

    with pytest.raises(ValidationError) as exc:
        staff_dismiss(actor=director, user=mentor)

    assert error_fields(exc) == {"user"}
    mentor.refresh_from_db()
    assert (mentor.is_active, mentor.dismissed_on) == (True, None)
    assert len(book_of(mentor)) == 1


@pytest.mark.parametrize("actor_fixture", ["mentor", "colleague", "return_manager"])
def test_only_the_director_dismisses(actor_fixture, request, manager):
    actor = request.getfixturevalue(actor_fixture)
    ClientFactory(manager=manager)

    with pytest.raises(PermissionDenied):
        staff_dismiss(actor=actor, user=manager)

    manager.refresh_from_db()
    assert manager.is_active is True
    assert len(book_of(manager)) == 1


def test_dismiss_refuses_a_future_date_and_an_already_dismissed_person(director, manager):
    with pytest.raises(ValidationError) as exc:
        staff_dismiss(actor=director, user=manager, dismissed_on=TODAY + datetime.timedelta(days=1))
    assert error_fields(exc) == {"dismissed_on"}

    staff_dismiss(actor=director, user=manager)
    with pytest.raises(ValidationError) as exc:
        staff_dismiss(actor=director, user=manager)
    assert error_fields(exc) == {"user"}


def test_dismiss_of_a_mentor_without_a_group_spreads_to_every_book_keeper(director):
    lone_mentor = UserFactory(username="lone", full_name="Наставник Юрий", role=Role.MENTOR)
    keeper = UserFactory(
        username="keeper", full_name="Клиент-менеджер Ян", role=Role.CLIENT_MANAGER
    )
    client = ClientFactory(manager=lone_mentor)

    staff_dismiss(actor=director, user=lone_mentor)

    assert Client.objects.get(pk=client.pk).manager == keeper


def active_clients(manager, count: int, prefix: str) -> list:
    return [
        ClientFactory(manager=manager, name=f"{prefix} {n}", status=ClientStatus.ACTIVE)
        for n in range(count)
    ]


def served_by(user) -> int:
    return Client.objects.filter(manager=user, status=ClientStatus.ACTIVE).count()


def test_dismiss_spread_gives_nothing_to_a_mentor_above_capacity(
    director, mentor, manager, colleague
):
    # The case of the issue, small: the mentor at 4 of 3 took clients because 4 < 5; a manager
    # at 5 of 10 has room and gets them all.
    mentor.capacity = 3
    mentor.save(update_fields=["capacity"])
    colleague.capacity = 10
    colleague.save(update_fields=["capacity"])
    active_clients(mentor, 4, "Наставника")
    active_clients(colleague, 5, "Бориса")
    book = active_clients(manager, 4, "Анны")

    staff_dismiss(actor=director, user=manager)

    assert [Client.objects.get(pk=c.pk).manager for c in book] == [colleague] * 4
    assert (served_by(mentor), served_by(colleague)) == (4, 9)


def test_dismiss_spread_goes_above_capacity_only_when_everyone_is_full(
    director, mentor, manager, colleague
):
    # Both full: the mentor at 3 of 3 (100 %), Борис at 11 of 10 (110 %). The least relative
    # overload first: the mentor takes the first (4 of 3 is 133 %), then Борис (12 of 10, 120 %).
    mentor.capacity = 3
    mentor.save(update_fields=["capacity"])
    colleague.capacity = 10
    colleague.save(update_fields=["capacity"])
    active_clients(mentor, 3, "Наставника")
    active_clients(colleague, 11, "Бориса")
    book = active_clients(manager, 2, "Анны")

    staff_dismiss(actor=director, user=manager)

    assert [Client.objects.get(pk=c.pk).manager for c in book] == [mentor, colleague]


def test_dismiss_spread_gives_a_trainee_clients_by_their_ramp(director, mentor, manager, colleague):
    # Борис is 10 days into a 60-day ramp: 150 × 1/6 = 25 against the mentor's 150.
    colleague.hired_on = D(2026, 11, 5)
    colleague.ramp_until = D(2027, 1, 4)
    colleague.save(update_fields=["hired_on", "ramp_until"])
    book = active_clients(manager, 7, "Анны")

    staff_dismiss(actor=director, user=manager)

    assert [Client.objects.get(pk=c.pk).manager for c in book] == [colleague] + [mentor] * 6


def test_dismiss_with_some_clients_chosen_and_the_rest_spread(
    director, mentor, manager, colleague, outsider
):
    first, second, third, fourth = active_clients(manager, 4, "Анны")

    staff_dismiss(
        actor=director,
        user=manager,
        handover={first.pk: outsider, second.pk: colleague, third.pk: SPREAD, fourth.pk: SPREAD},
    )

    # Борис already took one by name, so the spread starts with the mentor, then the tie at
    # one each goes to Борис by name.
    owners = [Client.objects.get(pk=c.pk).manager for c in (first, second, third, fourth)]
    assert owners == [outsider, colleague, mentor, colleague]
    assert [history(c)[-1][1:] for c in (first, third)] == [
        (TODAY, None, AssignmentReason.DISMISSAL)
    ] * 2
    assert_nobody_left_with(manager)


def test_dismiss_refuses_a_handover_value_that_is_neither_a_person_nor_spread(director, manager):
    client = ClientFactory(manager=manager)

    with pytest.raises(ValidationError) as exc:
        staff_dismiss(actor=director, user=manager, handover={client.pk: "everyone"})

    assert error_fields(exc) == {"handover"}
    assert len(history(client)) == 1
    manager.refresh_from_db()
    assert manager.is_active is True
