"""Rule tests for the client services (SPEC §3.1, §10): creating clients, editing them, contacts,
interactions, referrals and tasks. Bad input names its field and writes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientKind,
    Contact,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    Referral,
    ReferralStatus,
    Task,
    TaskKind,
)
from clients.services import (
    client_create,
    client_update,
    contact_create,
    interaction_log,
    referral_create,
    task_complete,
    task_open_system,
)
from tests.factories import ClientFactory, make_inn

TODAY = datetime.date(2026, 11, 15)
SBERBANK_INN = "7707083893"


# 03:00 UTC is 10:00 in Krasnoyarsk (the project's time zone): the business date is TODAY.
pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


def create(actor, **overrides):
    values = {
        "actor": actor,
        "name": "  МБОУ СОШ № 7  ",
        "inn": SBERBANK_INN,
        "kind": ClientKind.SCHOOL,
        "acquisition_channel": AcquisitionChannel.INBOUND,
    }
    values.update(overrides)
    return client_create(**values)


def counts():
    return Client.objects.count(), ClientAssignment.objects.count()


def error_fields(exc_info) -> set[str]:
    return set(exc_info.value.message_dict)


# --- client_create -----------------------------------------------------------------------------


def test_client_create_writes_client_and_first_assignment_open_to_the_past(manager):
    client = create(manager, kpp="770701001", region=" Красноярский край ", city="Ачинск")

    client.refresh_from_db()
    assert client.name == "МБОУ СОШ № 7"
    assert client.inn == SBERBANK_INN
    assert client.kpp == "770701001"
    assert client.region == "Красноярский край"
    assert client.city == "Ачинск"
    assert client.status == "prospect"
    assert client.manager == manager
    assignment = ClientAssignment.objects.get(client=client)
    assert assignment.manager == manager
    assert assignment.starts_on is None
    assert assignment.ends_on is None
    assert assignment.reason == AssignmentReason.INITIAL
    assert assignment.created_by == manager


@pytest.mark.parametrize("role_fixture", ["manager", "mentor", "sales_manager"])
def test_client_create_defaults_the_manager_to_an_actor_who_keeps_a_book(role_fixture, request):
    actor = request.getfixturevalue(role_fixture)

    client = create(actor)

    assert client.manager == actor
    assert ClientAssignment.objects.get(client=client).manager == actor


def test_client_create_by_a_director_gives_the_client_to_the_chosen_manager(director, manager):
    client = create(director, manager=manager)

    assert client.manager == manager
    assignment = ClientAssignment.objects.get(client=client)
    assert (assignment.manager, assignment.created_by) == (manager, director)


def test_client_create_by_a_director_without_a_manager_is_refused(director):
    with pytest.raises(ValidationError) as exc:
        create(director)

    assert error_fields(exc) == {"manager"}
    assert counts() == (0, 0)


def test_client_create_refuses_a_return_manager_as_the_manager(director, return_manager):
    with pytest.raises(ValidationError) as exc:
        create(director, manager=return_manager)

    assert error_fields(exc) == {"manager"}
    assert counts() == (0, 0)


def test_client_create_refuses_a_dismissed_manager(director, manager):
    manager.is_active = False
    manager.save(update_fields=["is_active"])

    with pytest.raises(ValidationError) as exc:
        create(director, manager=manager)

    assert error_fields(exc) == {"manager"}
    assert counts() == (0, 0)


def test_a_return_manager_cannot_create_clients(return_manager):
    with pytest.raises(PermissionDenied):
        create(return_manager)

    assert counts() == (0, 0)


def test_referral_client_names_its_referrer(manager):
    referrer = ClientFactory(manager=manager)

    client = create(manager, acquisition_channel=AcquisitionChannel.REFERRAL, referred_by=referrer)

    assert client.referred_by == referrer
    assert client.acquisition_channel == "referral"


def test_referral_channel_without_a_referrer_is_refused_on_referred_by(manager):
    with pytest.raises(ValidationError) as exc:
        create(manager, acquisition_channel=AcquisitionChannel.REFERRAL)

    assert error_fields(exc) == {"referred_by"}
    assert counts() == (0, 0)


@pytest.mark.parametrize("channel", [AcquisitionChannel.INBOUND, AcquisitionChannel.ACTIVE_SALES])
def test_non_referral_channel_with_a_referrer_is_refused_on_referred_by(manager, channel):
    referrer = ClientFactory(manager=manager)
    before = counts()

    with pytest.raises(ValidationError) as exc:
        create(manager, acquisition_channel=channel, referred_by=referrer)

    assert error_fields(exc) == {"referred_by"}
    assert counts() == before


def test_duplicate_inn_is_refused_on_inn(manager, colleague):
    create(manager)
    before = counts()

    with pytest.raises(ValidationError) as exc:
        create(colleague, name="Другая школа")

    assert error_fields(exc) == {"inn"}
    assert counts() == before


@pytest.mark.parametrize(
    "inn", ["7707083894", "770708389", "77070838AB", "500100732258", "1234567890123"]
)
def test_invalid_inn_is_refused_on_inn_and_writes_nothing(manager, inn):
    with pytest.raises(ValidationError) as exc:
        create(manager, inn=inn)

    assert error_fields(exc) == {"inn"}
    assert counts() == (0, 0)


def test_twelve_digit_inn_of_an_entrepreneur_is_accepted(manager):
    client = create(manager, inn=" 500100732259 ", kind=ClientKind.OTHER)

    assert client.inn == "500100732259"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kpp": "77070100"}, "kpp"),
        ({"kpp": "7707ab001"}, "kpp"),
        ({"kind": "zoo"}, "kind"),
        ({"acquisition_channel": "cold_call"}, "acquisition_channel"),
        ({"name": "   "}, "name"),
    ],
)
def test_bad_fields_are_refused_by_name(manager, overrides, field):
    with pytest.raises(ValidationError) as exc:
        create(manager, **overrides)

    assert field in error_fields(exc)
    assert counts() == (0, 0)


def test_matching_open_referral_becomes_won(manager):
    referrer = ClientFactory(manager=manager)
    matching = Referral.objects.create(
        referrer=referrer, recorded_by=manager, organisation="Школа 7", inn=SBERBANK_INN
    )
    in_progress = Referral.objects.create(
        referrer=referrer,
        recorded_by=manager,
        organisation="Школа 7 (дубль)",
        inn=SBERBANK_INN,
        status=ReferralStatus.CONTACTED,
    )
    other_inn = Referral.objects.create(
        referrer=referrer, recorded_by=manager, organisation="Сад 3", inn=make_inn(900)
    )
    already_lost = Referral.objects.create(
        referrer=referrer,
        recorded_by=manager,
        organisation="Школа 7 (старая)",
        inn=SBERBANK_INN,
        status=ReferralStatus.LOST,
        lost_reason="Закрыли филиал",
        closed_on=datetime.date(2026, 1, 10),
    )

    client = create(manager, acquisition_channel=AcquisitionChannel.REFERRAL, referred_by=referrer)

    for referral in (matching, in_progress, other_inn, already_lost):
        referral.refresh_from_db()
    assert (matching.status, matching.client) == (ReferralStatus.WON, client)
    assert (in_progress.status, in_progress.client) == (ReferralStatus.WON, client)
    assert (other_inn.status, other_inn.client) == (ReferralStatus.NEW, None)
    assert (already_lost.status, already_lost.client) == (ReferralStatus.LOST, None)


def test_referral_of_another_referrer_is_not_won(manager):
    referrer = ClientFactory(manager=manager)
    someone_else = ClientFactory(manager=manager)
    referral = Referral.objects.create(
        referrer=someone_else, recorded_by=manager, organisation="Школа 7", inn=SBERBANK_INN
    )

    create(manager, acquisition_channel=AcquisitionChannel.REFERRAL, referred_by=referrer)

    referral.refresh_from_db()
    assert (referral.status, referral.client) == (ReferralStatus.NEW, None)


# --- client_update -----------------------------------------------------------------------------


def test_client_update_changes_the_editable_fields(manager):
    client = ClientFactory(manager=manager)

    client_update(actor=manager, client=client, name=" Гимназия № 1 ", city="Канск")

    client.refresh_from_db()
    assert (client.name, client.city) == ("Гимназия № 1", "Канск")


def test_client_update_refuses_the_manager_and_the_status(manager, colleague):
    client = ClientFactory(manager=manager)

    with pytest.raises(ValidationError) as exc:
        client_update(actor=manager, client=client, manager=colleague, status="active")

    assert error_fields(exc) == {"manager", "status"}
    client.refresh_from_db()
    assert (client.manager, client.status) == (manager, "prospect")


def test_client_update_refuses_a_bad_inn_and_keeps_the_old_one(manager):
    client = ClientFactory(manager=manager)
    old_inn = client.inn

    with pytest.raises(ValidationError) as exc:
        client_update(actor=manager, client=client, inn="7707083894")

    assert error_fields(exc) == {"inn"}
    client.refresh_from_db()
    assert client.inn == old_inn


def test_client_update_refuses_merging_a_client_into_itself(manager):
    client = ClientFactory(manager=manager)

    with pytest.raises(ValidationError) as exc:
        client_update(actor=manager, client=client, parent=client)

    assert error_fields(exc) == {"parent"}
    client.refresh_from_db()
    assert client.parent is None


# --- contacts, interactions, referrals, tasks --------------------------------------------------


def test_contact_create_strips_and_saves(manager):
    client = ClientFactory(manager=manager)

    contact = contact_create(
        actor=manager,
        client=client,
        name=" Петрова Мария ",
        position="главный бухгалтер",
        email="buh@school7.ru",
        is_decision_maker=True,
    )

    assert Contact.objects.get() == contact
    assert (contact.name, contact.is_decision_maker) == ("Петрова Мария", True)


def test_contact_create_refuses_a_bad_email(manager):
    client = ClientFactory(manager=manager)

    with pytest.raises(ValidationError) as exc:
        contact_create(actor=manager, client=client, name="Петрова", email="not-an-email")

    assert error_fields(exc) == {"email"}
    assert Contact.objects.count() == 0


def test_reached_interaction_completes_the_open_follow_up_task(manager):
    client = ClientFactory(manager=manager)
    follow_up = Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY
    )
    at_risk = Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.AT_RISK, due_on=TODAY
    )

    interaction = interaction_log(
        actor=manager,
        client=client,
        kind=InteractionKind.CALL_OUT,
        outcome=InteractionOutcome.REACHED,
        duration_min=12,
        summary=" Обсудили обновление ",
        next_contact_on=TODAY + datetime.timedelta(days=30),
    )

    assert interaction.staff == manager
    assert interaction.summary == "Обсудили обновление"
    follow_up.refresh_from_db()
    at_risk.refresh_from_db()
    assert follow_up.done_at is not None
    assert at_risk.done_at is None


def test_unanswered_call_leaves_the_follow_up_open(manager):
    client = ClientFactory(manager=manager)
    follow_up = Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY
    )

    interaction_log(
        actor=manager, client=client, kind=InteractionKind.CALL_OUT, outcome="no_answer"
    )

    follow_up.refresh_from_db()
    assert follow_up.done_at is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"occurred_at": datetime.datetime(2026, 11, 16, 3, 0, tzinfo=datetime.UTC)},
            "occurred_at",
        ),
        ({"next_contact_on": TODAY - datetime.timedelta(days=1)}, "next_contact_on"),
        ({"kind": "telegram"}, "kind"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_interaction_log_refuses_bad_input(manager, overrides, field):
    client = ClientFactory(manager=manager)
    values = {"kind": InteractionKind.CALL_OUT, "outcome": InteractionOutcome.REACHED}
    values.update(overrides)

    with pytest.raises(ValidationError) as exc:
        interaction_log(actor=manager, client=client, **values)

    assert field in error_fields(exc)
    assert Interaction.objects.count() == 0


def test_referral_create_records_a_new_lead(manager):
    referrer = ClientFactory(manager=manager)

    referral = referral_create(
        actor=manager, referrer=referrer, organisation=" Детский сад № 5 ", inn=SBERBANK_INN
    )

    assert Referral.objects.get() == referral
    assert (referral.organisation, referral.status, referral.recorded_by) == (
        "Детский сад № 5",
        ReferralStatus.NEW,
        manager,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"organisation": "  "}, "organisation"), ({"inn": "7707083894"}, "inn")],
)
def test_referral_create_refuses_bad_input(manager, overrides, field):
    referrer = ClientFactory(manager=manager)
    values = {"organisation": "Детский сад № 5"}
    values.update(overrides)

    with pytest.raises(ValidationError) as exc:
        referral_create(actor=manager, referrer=referrer, **values)

    assert error_fields(exc) == {field}
    assert Referral.objects.count() == 0


def test_task_open_system_is_idempotent_per_client_and_kind(manager):
    client = ClientFactory(manager=manager)

    first = task_open_system(assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY)
    second = task_open_system(
        assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY
    )
    other_kind = task_open_system(
        assignee=manager, client=client, kind=TaskKind.AT_RISK, due_on=TODAY
    )

    assert first is not None
    assert second is None
    assert other_kind is not None
    assert Task.objects.filter(client=client).count() == 2


def test_task_open_system_opens_a_new_task_once_the_old_one_is_done(manager):
    client = ClientFactory(manager=manager)
    first = task_open_system(assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY)
    task_complete(actor=manager, task=first)

    again = task_open_system(assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=TODAY)

    assert again is not None
    assert again.pk != first.pk


def test_task_complete_by_the_assignee_or_the_director(manager, director):
    client = ClientFactory(manager=manager)
    mine = Task.objects.create(assignee=manager, client=client, kind=TaskKind.MANUAL, due_on=TODAY)
    other = Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.MANUAL, due_on=TODAY, created_by=director
    )

    assert task_complete(actor=manager, task=mine).done_at is not None
    assert task_complete(actor=director, task=other).done_at is not None


def test_task_complete_refuses_someone_elses_task_and_a_done_task(manager, colleague):
    client = ClientFactory(manager=manager)
    task = Task.objects.create(assignee=manager, client=client, kind=TaskKind.MANUAL, due_on=TODAY)

    with pytest.raises(PermissionDenied):
        task_complete(actor=colleague, task=task)
    task.refresh_from_db()
    assert task.done_at is None

    done_at = task_complete(actor=manager, task=task).done_at
    with pytest.raises(ValidationError) as exc:
        task_complete(actor=manager, task=task)
    assert error_fields(exc) == {"task"}
    task.refresh_from_db()
    assert task.done_at == done_at
