"""The contract lifecycle (SPEC §2 Contract, §3.2, §10): adding, changing the fee, terminating, and
the lost case that a controllable termination opens in the same transaction."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clients.models import ClientStatus, Contract, ContractKind, TerminationReason
from clients.services import client_reassign
from core.errors import Conflict
from retention.models import CaseStatus, LostCase
from retention.services import (
    clients_refresh_statuses,
    contract_change_fee,
    contract_create,
    contract_terminate,
)
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory

TODAY = datetime.date(2026, 11, 15)
D = datetime.date


pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


@pytest.fixture
def client(manager):
    return ClientFactory(manager=manager)


def error_fields(exc_info) -> set[str]:
    return set(exc_info.value.message_dict)


def rows(client) -> list[tuple]:
    return list(
        Contract.objects.filter(client=client)
        .order_by("starts_on", "pk")
        .values_list("kind", "starts_on", "ends_on", "monthly_fee", "termination_reason")
    )


def add(client, actor, starts_on, ends_on=None, fee="5000.00", number="АО-1"):
    return contract_create(
        actor=actor,
        client=client,
        number=number,
        starts_on=starts_on,
        ends_on=ends_on,
        monthly_fee=fee,
    )


# --- contract_create ---------------------------------------------------------------------------


def test_contract_create_adds_a_paid_contract_and_makes_the_client_active(client, manager):
    contract = add(client, manager, D(2025, 1, 1), fee="7500.50", number=" АО-77 ")

    contract.refresh_from_db()
    assert (contract.number, contract.kind, contract.monthly_fee) == (
        "АО-77",
        ContractKind.PAID,
        Decimal("7500.50"),
    )
    assert (contract.starts_on, contract.ends_on, contract.termination_reason) == (
        D(2025, 1, 1),
        None,
        "",
    )
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE


def test_contract_starting_in_the_future_keeps_a_prospect(client, manager):
    add(client, manager, TODAY + datetime.timedelta(days=1))

    client.refresh_from_db()
    assert client.status == ClientStatus.PROSPECT


def test_adjacent_paid_contracts_are_allowed(client, manager):
    add(client, manager, D(2025, 1, 1), D(2025, 12, 31), number="АО-1")

    add(client, manager, D(2026, 1, 1), number="АО-2")

    assert [r[1:3] for r in rows(client)] == [
        (D(2025, 1, 1), D(2025, 12, 31)),
        (D(2026, 1, 1), None),
    ]


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (D(2025, 3, 1), D(2025, 4, 30)),  # inside
        (D(2024, 12, 1), D(2025, 1, 15)),  # straddles the start
        (D(2025, 12, 15), D(2026, 2, 1)),  # straddles the end
        (D(2024, 6, 1), D(2026, 6, 1)),  # encloses
        (D(2025, 6, 1), None),  # open-ended, starting inside
        (D(2024, 6, 1), None),  # open-ended, starting before
        (D(2025, 12, 31), D(2025, 12, 31)),  # one day, on the last day
        (D(2025, 1, 1), D(2025, 1, 1)),  # one day, on the first day
    ],
)
def test_overlapping_paid_contract_is_refused_on_starts_on(client, manager, starts_on, ends_on):
    add(client, manager, D(2025, 1, 1), D(2025, 12, 31), number="АО-1")
    before = rows(client)

    with pytest.raises(ValidationError) as exc:
        add(client, manager, starts_on, ends_on, number="АО-2")

    assert error_fields(exc) == {"starts_on"}
    assert "АО-1" in exc.value.message_dict["starts_on"][0]
    assert rows(client) == before


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [(D(2027, 1, 1), None), (D(2027, 1, 1), D(2027, 12, 31)), (D(2025, 6, 1), D(2025, 6, 30))],
)
def test_any_contract_after_an_open_ended_one_is_refused(client, manager, starts_on, ends_on):
    add(client, manager, D(2025, 1, 1), number="АО-1")

    with pytest.raises(ValidationError) as exc:
        add(client, manager, starts_on, ends_on, number="АО-2")

    assert error_fields(exc) == {"starts_on"}
    assert len(rows(client)) == 1


def test_another_clients_contracts_do_not_overlap(client, manager):
    other = ClientFactory(manager=manager)
    add(other, manager, D(2025, 1, 1))

    add(client, manager, D(2025, 1, 1))

    assert len(rows(client)) == 1


def test_a_free_month_does_not_block_a_paid_contract(client, manager):
    ContractFactory(
        client=client,
        kind=ContractKind.FREE_MONTH,
        starts_on=D(2026, 10, 1),
        ends_on=D(2026, 10, 31),
        monthly_fee=0,
    )

    add(client, manager, D(2026, 10, 15))

    assert len(rows(client)) == 2


def test_ends_on_before_starts_on_is_refused_on_ends_on(client, manager):
    with pytest.raises(ValidationError) as exc:
        add(client, manager, D(2025, 6, 1), D(2025, 5, 31))

    assert error_fields(exc) == {"ends_on"}
    assert rows(client) == []


@pytest.mark.parametrize("fee", ["-1", "-0.01", "abc", None, "NaN", "Infinity", "100.555"])
def test_bad_fees_are_refused_on_monthly_fee(client, manager, fee):
    with pytest.raises(ValidationError) as exc:
        add(client, manager, D(2025, 1, 1), fee=fee)

    assert error_fields(exc) == {"monthly_fee"}
    assert rows(client) == []


def test_a_zero_fee_paid_contract_is_allowed(client, manager):
    add(client, manager, D(2025, 1, 1), fee="0")

    assert rows(client)[0][3] == Decimal("0.00")


def test_a_new_paid_contract_closes_an_open_case_as_returned(client, manager):
    add(client, manager, D(2025, 1, 1))
    _contract, case = contract_terminate(
        actor=manager,
        contract=Contract.objects.get(client=client),
        ends_on=D(2026, 9, 30),
        reason=TerminationReason.PRICE,
    )

    add(client, manager, D(2026, 11, 1), fee="4000", number="АО-2")

    case.refresh_from_db()
    assert (case.status, case.returned_on, case.closed_on, case.new_manager) == (
        CaseStatus.RETURNED,
        D(2026, 11, 1),
        D(2026, 11, 1),
        None,
    )
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE


def test_an_old_contract_entered_late_leaves_the_case_open(client, manager):
    add(client, manager, D(2025, 1, 1))
    _contract, case = contract_terminate(
        actor=manager,
        contract=Contract.objects.get(client=client),
        ends_on=D(2026, 9, 30),
        reason=TerminationReason.PRICE,
    )

    add(client, manager, D(2023, 1, 1), D(2023, 12, 31), number="АО-0")

    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


# --- contract_change_fee -----------------------------------------------------------------------


def test_fee_change_ends_the_contract_on_the_eve_and_starts_a_new_one(client, manager):
    old = add(client, manager, D(2025, 1, 1), fee="5000", number="АО-1")

    new = contract_change_fee(
        actor=manager, contract=old, effective_on=D(2026, 7, 1), monthly_fee="6500.00"
    )

    assert rows(client) == [
        (ContractKind.PAID, D(2025, 1, 1), D(2026, 6, 30), Decimal("5000.00"), ""),
        (ContractKind.PAID, D(2026, 7, 1), None, Decimal("6500.00"), ""),
    ]
    assert new.client_id == client.pk
    assert new.number == "АО-1/202607"
    assert not LostCase.objects.exists()
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE
    assert clients_refresh_statuses(today=TODAY) == 0


def test_fee_change_keeps_a_planned_end_on_the_new_contract(client, manager):
    old = add(client, manager, D(2025, 1, 1), D(2026, 12, 31), fee="5000")

    new = contract_change_fee(
        actor=manager, contract=old, effective_on=D(2026, 3, 1), monthly_fee="4500", number="ДС-2"
    )

    assert (new.number, new.starts_on, new.ends_on) == ("ДС-2", D(2026, 3, 1), D(2026, 12, 31))
    old.refresh_from_db()
    assert (old.ends_on, old.termination_reason) == (D(2026, 2, 28), "")


def test_fee_change_on_the_last_day_is_allowed(client, manager):
    old = add(client, manager, D(2025, 1, 1), D(2026, 12, 31), fee="5000")

    new = contract_change_fee(
        actor=manager, contract=old, effective_on=D(2026, 12, 31), monthly_fee="4500"
    )

    assert (new.starts_on, new.ends_on) == (D(2026, 12, 31), D(2026, 12, 31))


@pytest.mark.parametrize(
    ("effective_on", "fee", "field"),
    [
        (D(2025, 1, 1), "6000", "effective_on"),  # the first day
        (D(2024, 12, 1), "6000", "effective_on"),  # before the start
        (D(2027, 1, 1), "6000", "effective_on"),  # after the planned end
        (D(2026, 7, 1), "5000", "monthly_fee"),  # the same fee
        (D(2026, 7, 1), "-1", "monthly_fee"),
        (D(2026, 7, 1), "много", "monthly_fee"),
    ],
)
def test_bad_fee_changes_are_refused_and_write_nothing(client, manager, effective_on, fee, field):
    old = add(client, manager, D(2025, 1, 1), D(2026, 12, 31), fee="5000")
    before = rows(client)

    with pytest.raises(ValidationError) as exc:
        contract_change_fee(actor=manager, contract=old, effective_on=effective_on, monthly_fee=fee)

    assert error_fields(exc) == {field}
    assert rows(client) == before


def test_fee_change_of_a_free_month_is_refused(client, manager):
    free = ContractFactory(
        client=client,
        kind=ContractKind.FREE_MONTH,
        starts_on=D(2026, 10, 1),
        ends_on=D(2026, 10, 31),
        monthly_fee=0,
    )

    with pytest.raises(ValidationError) as exc:
        contract_change_fee(
            actor=manager, contract=free, effective_on=D(2026, 10, 15), monthly_fee="100"
        )

    assert error_fields(exc) == {"contract"}
    assert len(rows(client)) == 1


# --- contract_terminate ------------------------------------------------------------------------


def test_controllable_termination_opens_one_case(client, manager):
    contract = add(client, manager, D(2025, 1, 1), fee="7500")

    terminated, case = contract_terminate(
        actor=manager,
        contract=contract,
        ends_on=D(2026, 9, 30),
        reason=TerminationReason.COMPETITOR,
        comment=" ушли к конкуренту ",
    )

    assert (terminated.ends_on, terminated.termination_reason, terminated.comment) == (
        D(2026, 9, 30),
        TerminationReason.COMPETITOR,
        "ушли к конкуренту",
    )
    assert LostCase.objects.get() == case
    case.refresh_from_db()
    assert (case.client, case.lost_on, case.lost_by, case.reason, case.lost_fee, case.status) == (
        client,
        D(2026, 10, 1),
        manager,
        TerminationReason.COMPETITOR,
        Decimal("7500.00"),
        CaseStatus.OPEN,
    )
    client.refresh_from_db()
    assert client.status == ClientStatus.LOST


def test_lost_by_is_the_manager_assigned_on_the_last_day(client, manager, colleague, director):
    contract = add(client, manager, D(2025, 1, 1))
    client_reassign(actor=director, client=client, manager=colleague, effective_on=D(2026, 6, 1))

    _contract, case = contract_terminate(
        actor=colleague, contract=contract, ends_on=D(2026, 9, 30), reason=TerminationReason.PRICE
    )

    assert case.lost_by == colleague


def test_lost_by_ignores_a_reassignment_after_the_last_day(client, manager, colleague, director):
    contract = add(client, manager, D(2025, 1, 1))
    client_reassign(actor=director, client=client, manager=colleague, effective_on=D(2026, 6, 1))

    _contract, case = contract_terminate(
        actor=director,
        contract=contract,
        ends_on=D(2026, 5, 31),
        reason=TerminationReason.NO_CONTACT,
    )

    assert (case.lost_by, case.lost_on) == (manager, D(2026, 6, 1))


@pytest.mark.parametrize("reason", [TerminationReason.MERGER, TerminationReason.LIQUIDATION])
def test_natural_termination_opens_no_case_and_closes_the_client(client, manager, reason):
    contract = add(client, manager, D(2025, 1, 1))

    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=D(2026, 9, 30), reason=reason
    )

    assert case is None
    assert not LostCase.objects.exists()
    client.refresh_from_db()
    assert client.status == ClientStatus.CLOSED


def test_termination_when_another_paid_contract_continues_opens_no_case(client, manager):
    first = add(client, manager, D(2025, 1, 1), D(2025, 12, 31), number="АО-1")
    add(client, manager, D(2026, 1, 1), number="АО-2")

    _contract, case = contract_terminate(
        actor=manager, contract=first, ends_on=D(2025, 12, 31), reason=TerminationReason.PRICE
    )

    assert case is None
    assert not LostCase.objects.exists()
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE


def test_future_termination_opens_the_case_but_keeps_the_client_active(client, manager):
    contract = add(client, manager, D(2025, 1, 1))

    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=D(2026, 11, 30), reason=TerminationReason.BUDGET
    )

    assert case.lost_on == D(2026, 12, 1)
    client.refresh_from_db()
    assert client.status == ClientStatus.ACTIVE


@pytest.mark.parametrize(
    ("ends_on", "reason", "field"),
    [
        (D(2024, 12, 31), TerminationReason.PRICE, "ends_on"),  # before the start
        (D(2027, 1, 1), TerminationReason.PRICE, "ends_on"),  # after the planned end
        (D(2026, 9, 30), "bored", "reason"),
        (D(2026, 9, 30), "", "reason"),
    ],
)
def test_bad_terminations_are_refused_and_write_nothing(client, manager, ends_on, reason, field):
    contract = add(client, manager, D(2025, 1, 1), D(2026, 12, 31))
    before = rows(client)

    with pytest.raises(ValidationError) as exc:
        contract_terminate(actor=manager, contract=contract, ends_on=ends_on, reason=reason)

    assert error_fields(exc) == {field}
    assert rows(client) == before
    assert not LostCase.objects.exists()


def test_terminating_twice_is_refused(client, manager):
    contract = add(client, manager, D(2025, 1, 1))
    contract_terminate(
        actor=manager, contract=contract, ends_on=D(2026, 9, 30), reason=TerminationReason.PRICE
    )
    before = rows(client)

    with pytest.raises(ValidationError) as exc:
        contract_terminate(
            actor=manager, contract=contract, ends_on=D(2026, 8, 31), reason=TerminationReason.OTHER
        )

    assert error_fields(exc) == {"contract"}
    assert rows(client) == before
    assert LostCase.objects.count() == 1


def test_a_free_month_cannot_be_terminated(client, manager):
    free = ContractFactory(
        client=client,
        kind=ContractKind.FREE_MONTH,
        starts_on=D(2026, 10, 1),
        ends_on=D(2026, 10, 31),
        monthly_fee=0,
    )

    with pytest.raises(ValidationError) as exc:
        contract_terminate(
            actor=manager, contract=free, ends_on=D(2026, 10, 15), reason=TerminationReason.PRICE
        )

    assert error_fields(exc) == {"contract"}


def test_termination_rolls_back_when_the_case_cannot_be_opened(client, manager):
    """The case opens in the same transaction: when it cannot (the client already has a case
    being worked), the contract keeps its old end."""
    contract = add(client, manager, D(2025, 1, 1))
    LostCaseFactory(client=client, lost_on=D(2024, 6, 1))
    before = rows(client)

    with pytest.raises(Conflict):
        contract_terminate(
            actor=manager, contract=contract, ends_on=D(2026, 9, 30), reason=TerminationReason.PRICE
        )

    assert rows(client) == before
    assert LostCase.objects.count() == 1
