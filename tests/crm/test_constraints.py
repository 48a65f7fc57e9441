"""The database holds the hard rules even when the services are bypassed (SPEC §2, STYLE "Models
hold data and invariants"). Every write here goes straight to the ORM."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ContractKind,
    Task,
    TaskKind,
)
from retention.models import CaseStatus, LostCase
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory, make_inn

D = datetime.date
pytestmark = pytest.mark.django_db


def refused(make) -> None:
    """``make()`` must fail in the database and leave the transaction usable."""
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# --- clients -----------------------------------------------------------------------------------


def test_one_current_assignment_per_client(manager, colleague):
    client = ClientFactory(manager=manager)

    refused(
        lambda: ClientAssignment.objects.create(
            client=client,
            manager=colleague,
            starts_on=D(2026, 1, 1),
            reason=AssignmentReason.REASSIGN,
        )
    )
    assert ClientAssignment.objects.filter(client=client).count() == 1


def test_closed_assignments_may_repeat(manager, colleague):
    client = ClientFactory(manager=manager)

    ClientAssignment.objects.create(
        client=client,
        manager=colleague,
        starts_on=D(2025, 1, 1),
        ends_on=D(2025, 6, 30),
        reason=AssignmentReason.REASSIGN,
    )
    ClientAssignment.objects.create(
        client=client,
        manager=colleague,
        starts_on=D(2025, 7, 1),
        ends_on=D(2025, 12, 31),
        reason=AssignmentReason.REASSIGN,
    )

    assert ClientAssignment.objects.filter(client=client).count() == 3


def test_assignment_ends_after_it_starts(manager):
    client = ClientFactory(manager=None)

    refused(
        lambda: ClientAssignment.objects.create(
            client=client,
            manager=manager,
            starts_on=D(2026, 2, 1),
            ends_on=D(2026, 1, 31),
            reason=AssignmentReason.REASSIGN,
        )
    )


def test_referral_channel_needs_a_referrer(manager):
    refused(
        lambda: Client.objects.create(
            name="Школа",
            inn=make_inn(1),
            kind="school",
            acquisition_channel=AcquisitionChannel.REFERRAL,
        )
    )
    assert not Client.objects.exists()


def test_only_a_referral_has_a_referrer(manager):
    referrer = ClientFactory(manager=manager)

    refused(
        lambda: Client.objects.create(
            name="Школа",
            inn=make_inn(2),
            kind="school",
            acquisition_channel=AcquisitionChannel.INBOUND,
            referred_by=referrer,
        )
    )
    assert Client.objects.count() == 1


def test_a_referral_with_its_referrer_is_stored(manager):
    referrer = ClientFactory(manager=manager)

    Client.objects.create(
        name="Школа",
        inn=make_inn(3),
        kind="school",
        acquisition_channel=AcquisitionChannel.REFERRAL,
        referred_by=referrer,
    )

    assert Client.objects.count() == 2


@pytest.mark.parametrize("inn", ["770708389", "77070838AB", "77070838931", "７７０７０８３８９３"])
def test_inn_shape_is_checked_by_the_database(inn):
    refused(
        lambda: Client.objects.create(
            name="Школа", inn=inn, kind="school", acquisition_channel="inbound"
        )
    )


def test_inn_is_unique(manager):
    client = ClientFactory(manager=manager)

    refused(
        lambda: Client.objects.create(
            name="Дубль", inn=client.inn, kind="school", acquisition_channel="inbound"
        )
    )


@pytest.mark.parametrize(
    ("field", "value"), [("status", "gone"), ("kind", "zoo"), ("acquisition_channel", "cold")]
)
def test_client_choices_are_checked_by_the_database(field, value):
    values = {
        "name": "Школа",
        "inn": make_inn(4),
        "kind": "school",
        "acquisition_channel": "inbound",
    }
    values[field] = value

    refused(lambda: Client.objects.create(**values))


# --- contracts ---------------------------------------------------------------------------------


def test_fee_is_not_negative(manager):
    client = ClientFactory(manager=manager)

    refused(lambda: ContractFactory(client=client, monthly_fee=Decimal("-0.01")))
    assert not client.contracts.exists()


def test_contract_ends_on_or_after_its_start(manager):
    client = ClientFactory(manager=manager)

    refused(lambda: ContractFactory(client=client, starts_on=D(2026, 2, 1), ends_on=D(2026, 1, 31)))
    ContractFactory(client=client, starts_on=D(2026, 2, 1), ends_on=D(2026, 2, 1))

    assert client.contracts.count() == 1


def test_free_month_is_free(manager):
    client = ClientFactory(manager=manager)

    refused(
        lambda: ContractFactory(
            client=client,
            kind=ContractKind.FREE_MONTH,
            ends_on=D(2024, 1, 31),
            monthly_fee=Decimal("1"),
        )
    )


def test_termination_reason_needs_an_end(manager):
    client = ClientFactory(manager=manager)

    refused(lambda: ContractFactory(client=client, ends_on=None, termination_reason="price"))


@requires_postgres
def test_postgres_refuses_overlapping_paid_contracts(manager):
    client = ClientFactory(manager=manager)
    ContractFactory(client=client, starts_on=D(2025, 1, 1), ends_on=D(2025, 12, 31))

    for starts_on, ends_on in [
        (D(2025, 3, 1), D(2025, 4, 30)),
        (D(2025, 12, 31), None),
        (D(2024, 1, 1), D(2025, 1, 1)),
    ]:
        refused(
            lambda s=starts_on, e=ends_on: ContractFactory(client=client, starts_on=s, ends_on=e)
        )

    ContractFactory(client=client, starts_on=D(2026, 1, 1), ends_on=None)
    assert client.contracts.count() == 2


@requires_postgres
def test_postgres_lets_a_free_month_overlap_a_paid_contract(manager):
    client = ClientFactory(manager=manager)
    other = ClientFactory(manager=manager)
    ContractFactory(client=client, starts_on=D(2025, 1, 1), ends_on=None)

    ContractFactory(
        client=client,
        kind=ContractKind.FREE_MONTH,
        starts_on=D(2025, 6, 1),
        ends_on=D(2025, 6, 30),
        monthly_fee=Decimal("0"),
    )
    ContractFactory(client=other, starts_on=D(2025, 1, 1), ends_on=None)

    assert client.contracts.count() == 2


# --- lost cases --------------------------------------------------------------------------------


def test_new_manager_is_never_lost_by(manager, return_manager):
    case = LostCaseFactory(
        client=ClientFactory(manager=manager),
        status=CaseStatus.CLAIMED,
        return_manager=return_manager,
    )

    refused(
        lambda: LostCase.objects.filter(pk=case.pk).update(
            status=CaseStatus.RETURNED, new_manager=manager, closed_on=D(2026, 11, 1)
        )
    )
    case.refresh_from_db()
    assert (case.status, case.new_manager) == (CaseStatus.CLAIMED, None)


def test_one_active_case_per_client(manager):
    client = ClientFactory(manager=manager)
    LostCaseFactory(
        client=client, lost_on=D(2025, 1, 1), status=CaseStatus.DECLINED, closed_on=D(2025, 4, 1)
    )
    LostCaseFactory(client=client, lost_on=D(2026, 1, 1))

    refused(lambda: LostCaseFactory(client=client, lost_on=D(2026, 10, 1)))
    assert client.lost_cases.count() == 2


def test_a_closed_case_has_a_closing_day(manager):
    refused(
        lambda: LostCaseFactory(client=ClientFactory(manager=manager), status=CaseStatus.DECLINED)
    )


def test_a_claimed_case_has_a_return_manager(manager):
    refused(
        lambda: LostCaseFactory(client=ClientFactory(manager=manager), status=CaseStatus.CLAIMED)
    )


# --- tasks -------------------------------------------------------------------------------------


def test_one_open_system_task_per_client_and_kind(manager):
    client = ClientFactory(manager=manager)
    Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=D(2026, 11, 1)
    )

    refused(
        lambda: Task.objects.create(
            assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=D(2026, 11, 2)
        )
    )
    Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.AT_RISK, due_on=D(2026, 11, 2)
    )
    assert Task.objects.filter(client=client).count() == 2


def test_a_done_system_task_does_not_block_a_new_one(manager):
    client = ClientFactory(manager=manager)
    Task.objects.create(
        assignee=manager,
        client=client,
        kind=TaskKind.FOLLOW_UP,
        due_on=D(2026, 10, 1),
        done_at=datetime.datetime(2026, 10, 1, 9, 0, tzinfo=datetime.UTC),
    )

    Task.objects.create(
        assignee=manager, client=client, kind=TaskKind.FOLLOW_UP, due_on=D(2026, 11, 1)
    )

    assert Task.objects.filter(client=client).count() == 2


def test_manual_tasks_may_repeat(manager, mentor):
    client = ClientFactory(manager=manager)

    for _ in range(3):
        Task.objects.create(
            assignee=manager,
            client=client,
            kind=TaskKind.MANUAL,
            due_on=D(2026, 11, 1),
            created_by=mentor,
        )

    assert Task.objects.filter(client=client, kind=TaskKind.MANUAL).count() == 3
