"""Every service leaves a history row saying who did what (SPEC §3.7), including the race-free
conditional updates that bypass ``save()``."""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from clients.models import AcquisitionChannel, ClientKind, TerminationReason
from clients.services import client_create, client_reassign
from core.audit import record_update, save_audited
from retention.models import CaseStatus, LostCase
from retention.services import (
    contract_change_fee,
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_decline,
    lost_case_return,
    lost_case_start_free_month,
    lost_cases_close_expired,
)
from team.services import staff_dismiss
from tests.factories import ClientFactory

D = datetime.date


pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


@pytest.fixture(autouse=True)
def _in_english():
    # Change reasons are stored as the actor's language renders them; English shows the msgids.
    with translation.override("en"):
        yield


def trail(obj) -> list[tuple]:
    """History of ``obj``, oldest first: (type, user, reason)."""
    return [
        (h.history_type, h.history_user, h.history_change_reason)
        for h in obj.history.order_by("history_id")
    ]


def lost_case(manager) -> LostCase:
    client = ClientFactory(manager=manager)
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee="7500"
    )
    return contract_terminate(
        actor=manager, contract=contract, ends_on=D(2026, 9, 30), reason=TerminationReason.PRICE
    )[1]


def test_client_created(manager):
    client = client_create(
        actor=manager,
        name="МБОУ СОШ № 7",
        inn="7707083893",
        kind=ClientKind.SCHOOL,
        acquisition_channel=AcquisitionChannel.INBOUND,
    )

    assert trail(client) == [("+", manager, "client created")]
    assert trail(client.assignments.get()) == [("+", manager, "first manager")]


def test_manager_changed(director, manager, colleague):
    client = ClientFactory(manager=manager)
    first = client.assignments.get()

    new = client_reassign(
        actor=director, client=client, manager=colleague, effective_on=D(2026, 6, 1)
    )

    assert trail(client)[-1] == ("~", director, "manager changed to Клиент-менеджер Борис")
    assert trail(first)[-1] == ("~", director, "handed to Клиент-менеджер Борис")
    assert trail(new) == [("+", director, "taken from Клиент-менеджер Анна")]
    last = client.history.order_by("history_id").last()
    assert last.manager_id == colleague.pk


def test_dismissal(director, manager, colleague):
    client = ClientFactory(manager=manager)

    staff_dismiss(actor=director, user=manager, handover={client.pk: colleague})

    assert trail(manager)[-1] == ("~", director, "dismissed")
    assert trail(client)[-1] == ("~", director, "manager changed to Клиент-менеджер Борис")


def test_contract_added_fee_changed_and_terminated(manager):
    client = ClientFactory(manager=manager)
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee="5000"
    )
    new = contract_change_fee(
        actor=manager, contract=contract, effective_on=D(2026, 1, 1), monthly_fee="6000"
    )

    _contract, case = contract_terminate(
        actor=manager, contract=new, ends_on=D(2026, 9, 30), reason=TerminationReason.COMPETITOR
    )

    assert trail(contract) == [
        ("+", manager, "contract added"),
        ("~", manager, "fee changed from 2026-01-01"),
    ]
    assert trail(new) == [
        ("+", manager, "new fee"),
        ("~", manager, "terminated: Went to a competitor"),
    ]
    row = new.history.order_by("history_id").last()
    assert (row.ends_on, row.termination_reason) == (D(2026, 9, 30), "competitor")
    assert trail(case) == [("+", manager, "client lost")]


def test_case_claimed_through_a_conditional_update(manager, return_manager):
    case = lost_case(manager)

    lost_case_claim(actor=return_manager, case=case)

    assert trail(case) == [("+", manager, "client lost"), ("~", return_manager, "claimed")]
    row = case.history.order_by("history_id").last()
    assert (row.status, row.return_manager_id, row.id, row.client_id) == (
        CaseStatus.CLAIMED,
        return_manager.pk,
        case.pk,
        case.client_id,
    )


def test_case_returned(manager, return_manager, colleague):
    case = lost_case(manager)
    lost_case_claim(actor=return_manager, case=case)
    case = lost_case_start_free_month(actor=return_manager, case=case, starts_on=D(2026, 10, 15))

    lost_case_return(
        actor=return_manager,
        case=case,
        manager=colleague,
        starts_on=D(2026, 11, 15),
        monthly_fee="6000",
    )

    assert [reason for _type, _user, reason in trail(case)] == [
        "client lost",
        "claimed",
        "free month started",
        "returned to Клиент-менеджер Борис",
    ]
    assert trail(case.free_month_contract) == [("+", return_manager, "free month")]
    assert trail(case.client)[-1] == (
        "~",
        return_manager,
        "manager changed to Клиент-менеджер Борис",
    )


def test_case_declined_by_hand_and_by_the_window(manager, return_manager):
    by_hand = lost_case(manager)
    lost_case_claim(actor=return_manager, case=by_hand)
    lost_case_decline(actor=return_manager, case=by_hand, reason="Бюджет")
    by_window = lost_case(manager)

    lost_cases_close_expired(today=D(2027, 3, 1))

    assert trail(by_hand)[-1] == ("~", return_manager, "declined")
    assert trail(by_window)[-1] == ("~", None, "return window ran out")
    assert by_window.history.order_by("history_id").last().status == CaseStatus.DECLINED


def test_record_update_copies_the_row_as_it_is_now(manager, director):
    client = ClientFactory(manager=manager)
    save_audited(client, actor=director, reason="renamed", update_fields=None)
    client.name = "Гимназия № 1"
    client.__class__.objects.filter(pk=client.pk).update(name=client.name)

    record_update(client, actor=director, reason="renamed in bulk")

    row = client.history.order_by("history_id").last()
    assert (row.history_type, row.history_user, row.history_change_reason, row.name) == (
        "~",
        director,
        "renamed in bulk",
        "Гимназия № 1",
    )
