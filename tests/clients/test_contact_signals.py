"""The contact signals kept on each client row (clients.contact_signals): what they say, and that
every way an interaction is written keeps them true."""

from __future__ import annotations

import datetime

from django.utils import timezone

from clients.contact_signals import contact_signals_refresh
from clients.models import Client, Interaction, InteractionKind, InteractionOutcome
from clients.services import interaction_log
from crm.nightly import nightly_chain_run
from tests.factories import ClientFactory, InteractionFactory

UTC = datetime.UTC


def at(day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def signals(client: Client) -> tuple:
    client.refresh_from_db()
    return (
        client.last_contact_at,
        client.last_reached_at,
        client.last_complaint_at,
        client.next_contact_on,
    )


def test_a_client_never_contacted_has_no_signals(manager):
    client = ClientFactory(manager=manager)

    assert signals(client) == (None, None, None, None)


def test_the_signals_follow_the_latest_contact_of_each_outcome(manager):
    client = ClientFactory(manager=manager)
    InteractionFactory(client=client, occurred_at=at(3), outcome=InteractionOutcome.REACHED)
    InteractionFactory(client=client, occurred_at=at(5), outcome=InteractionOutcome.COMPLAINT)
    InteractionFactory(
        client=client,
        occurred_at=at(7),
        outcome=InteractionOutcome.NO_ANSWER,
        next_contact_on=datetime.date(2026, 11, 9),
    )
    # Logged late: an older contact does not move the signals back.
    InteractionFactory(client=client, occurred_at=at(1), outcome=InteractionOutcome.REACHED)

    assert signals(client) == (at(7), at(3), at(5), datetime.date(2026, 11, 9))


def test_the_next_contact_is_the_one_planned_at_the_latest_contact(manager):
    client = ClientFactory(manager=manager)
    InteractionFactory(
        client=client, occurred_at=at(3), next_contact_on=datetime.date(2026, 11, 20)
    )
    InteractionFactory(client=client, occurred_at=at(8), next_contact_on=None)

    # The latest contact planned nothing: the earlier plan is no longer the plan.
    assert signals(client)[3] is None


def test_logging_a_call_through_the_service_updates_the_client_at_once(manager):
    client = ClientFactory(manager=manager)

    interaction_log(
        actor=manager,
        client=client,
        kind=InteractionKind.CALL_OUT,
        outcome=InteractionOutcome.REACHED,
        occurred_at=timezone.now() - datetime.timedelta(hours=1),
        next_contact_on=timezone.localdate() + datetime.timedelta(days=30),
    )

    contact, reached, complaint, planned = signals(client)
    assert contact == reached
    assert complaint is None
    assert planned == timezone.localdate() + datetime.timedelta(days=30)


def test_an_edited_contact_moves_the_signals(manager):
    client = ClientFactory(manager=manager)
    call = InteractionFactory(client=client, occurred_at=at(3))

    call.occurred_at = at(6)
    call.save()

    assert signals(client)[:2] == (at(6), at(6))


def test_moving_a_contact_to_another_client_refreshes_both(manager, colleague):
    first, second = ClientFactory(manager=manager), ClientFactory(manager=colleague)
    call = InteractionFactory(client=first, occurred_at=at(3))

    call.client = second
    call.save()

    assert signals(first) == (None, None, None, None)
    assert signals(second)[:2] == (at(3), at(3))


def test_the_refresh_heals_rows_written_around_the_orm(manager, colleague):
    mine, theirs = ClientFactory(manager=manager), ClientFactory(manager=colleague)
    Interaction.objects.bulk_create(
        [
            Interaction(
                client=mine,
                staff=manager,
                kind=InteractionKind.CALL_OUT,
                outcome=InteractionOutcome.REACHED,
                occurred_at=at(4),
            )
        ]
    )
    assert signals(mine)[0] is None  # bulk_create sends no signal

    assert contact_signals_refresh(Client.objects.filter(pk=mine.pk)) == 1
    assert signals(mine)[:2] == (at(4), at(4))
    assert signals(theirs) == (None, None, None, None)


def test_the_nightly_chain_rederives_every_client(manager):
    client = ClientFactory(manager=manager)
    InteractionFactory(client=client, occurred_at=at(2))
    Client.objects.filter(pk=client.pk).update(last_contact_at=None, last_reached_at=None)

    nightly_chain_run(today=datetime.date(2026, 11, 20), now=at(20, 2))

    assert signals(client)[:2] == (at(2), at(2))
