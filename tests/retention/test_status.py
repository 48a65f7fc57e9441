"""The derived client status (SPEC §2 "Client status"): the pure rule, and the one-query refresh
over the database that must agree with it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from clients.models import Client, ClientStatus, ContractKind, TerminationReason
from retention.models import CaseStatus
from retention.services import (
    client_refresh_status,
    clients_refresh_statuses,
    contract_create,
    contract_terminate,
    derive_client_status,
)
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory

TODAY = datetime.date(2026, 11, 15)
D = datetime.date


pytestmark = pytest.mark.frozen_clock("2026-11-15 03:00:00")


@pytest.mark.parametrize(
    ("paid_periods", "case", "in_free_month", "expected"),
    [
        ([], None, False, ClientStatus.PROSPECT),
        ([(D(2026, 11, 16), None)], None, False, ClientStatus.PROSPECT),  # starts tomorrow
        ([(D(2025, 1, 1), None)], None, False, ClientStatus.ACTIVE),
        ([(TODAY, TODAY)], None, False, ClientStatus.ACTIVE),  # a one-day contract today
        ([(D(2025, 1, 1), TODAY)], CaseStatus.OPEN, False, ClientStatus.ACTIVE),  # last day
        ([(D(2025, 1, 1), D(2026, 11, 14))], CaseStatus.OPEN, False, ClientStatus.LOST),
        ([(D(2025, 1, 1), D(2026, 9, 30))], CaseStatus.CLAIMED, False, ClientStatus.LOST),
        ([(D(2025, 1, 1), D(2026, 9, 30))], CaseStatus.FREE_MONTH, True, ClientStatus.FREE_MONTH),
        # The free month has run out and the case is still being worked: lost again.
        ([(D(2025, 1, 1), D(2026, 9, 30))], CaseStatus.FREE_MONTH, False, ClientStatus.LOST),
        # A free month without a case being worked does not count.
        ([(D(2025, 1, 1), D(2026, 9, 30))], None, True, ClientStatus.CLOSED),
        ([(D(2025, 1, 1), D(2026, 9, 30))], None, False, ClientStatus.CLOSED),
        # Paid coverage wins over everything else.
        (
            [(D(2025, 1, 1), D(2026, 9, 30)), (D(2026, 11, 1), None)],
            None,
            False,
            ClientStatus.ACTIVE,
        ),
        ([(D(2026, 11, 1), None)], CaseStatus.FREE_MONTH, True, ClientStatus.ACTIVE),
        # Between two contracts with no case: the client had service, has none today.
        (
            [(D(2025, 1, 1), D(2026, 9, 30)), (D(2027, 1, 1), None)],
            None,
            False,
            ClientStatus.CLOSED,
        ),
    ],
)
def test_derive_client_status(paid_periods, case, in_free_month, expected):
    status = derive_client_status(
        paid_periods=paid_periods, active_case_status=case, in_free_month=in_free_month, today=TODAY
    )

    assert status == expected


def test_every_status_is_reachable_by_the_rule():
    reached = {
        derive_client_status(paid_periods=p, active_case_status=c, in_free_month=f, today=TODAY)
        for p in ([], [(D(2025, 1, 1), None)], [(D(2025, 1, 1), D(2026, 9, 30))])
        for c in (None, CaseStatus.OPEN)
        for f in (False, True)
    }

    assert reached == set(ClientStatus.values)


def build_one_of_each(manager) -> dict[str, Client]:
    """Rows written directly (factories), so every stored status is still the default."""

    def paid(client, starts_on, ends_on=None, reason=""):
        ContractFactory(
            client=client, starts_on=starts_on, ends_on=ends_on, termination_reason=reason
        )

    clients = {name: ClientFactory(manager=manager, name=name) for name in (
        "prospect", "future", "active", "lost", "claimed", "free_month", "free_month_over",
        "closed_merger", "closed_declined", "terminating",
    )}  # fmt: skip
    paid(clients["future"], D(2026, 12, 1))
    paid(clients["active"], D(2025, 1, 1))
    for name in ("lost", "claimed", "free_month", "free_month_over", "closed_declined"):
        paid(clients[name], D(2025, 1, 1), D(2026, 9, 30), TerminationReason.PRICE)
    LostCaseFactory(client=clients["lost"])
    LostCaseFactory(client=clients["claimed"], status=CaseStatus.CLAIMED, return_manager=manager)
    for name, (start, end) in {
        "free_month": (D(2026, 11, 1), D(2026, 11, 30)),
        "free_month_over": (D(2026, 10, 1), D(2026, 10, 31)),
    }.items():
        free = ContractFactory(
            client=clients[name],
            kind=ContractKind.FREE_MONTH,
            starts_on=start,
            ends_on=end,
            monthly_fee=Decimal("0"),
        )
        LostCaseFactory(
            client=clients[name],
            status=CaseStatus.FREE_MONTH,
            return_manager=manager,
            free_month_contract=free,
        )
    LostCaseFactory(
        client=clients["closed_declined"], status=CaseStatus.DECLINED, closed_on=D(2026, 11, 1)
    )
    paid(clients["closed_merger"], D(2025, 1, 1), D(2026, 9, 30), TerminationReason.MERGER)
    paid(clients["terminating"], D(2025, 1, 1), D(2026, 11, 30), TerminationReason.PRICE)
    LostCaseFactory(client=clients["terminating"], lost_on=D(2026, 12, 1))
    return clients


EXPECTED_TODAY = {
    "prospect": ClientStatus.PROSPECT,
    "future": ClientStatus.PROSPECT,
    "active": ClientStatus.ACTIVE,
    "lost": ClientStatus.LOST,
    "claimed": ClientStatus.LOST,
    "free_month": ClientStatus.FREE_MONTH,
    "free_month_over": ClientStatus.LOST,
    "closed_merger": ClientStatus.CLOSED,
    "closed_declined": ClientStatus.CLOSED,
    "terminating": ClientStatus.ACTIVE,
}


def stored() -> dict[str, str]:
    return dict(Client.objects.values_list("name", "status"))


def derived_in_python(client: Client, today: datetime.date) -> str:
    paid = client.contracts.filter(kind=ContractKind.PAID).values_list("starts_on", "ends_on")
    case = client.lost_cases.exclude(status__in=[CaseStatus.RETURNED, CaseStatus.DECLINED]).first()
    in_free_month = client.contracts.filter(
        kind=ContractKind.FREE_MONTH, starts_on__lte=today, ends_on__gte=today
    ).exists()
    return derive_client_status(
        paid_periods=list(paid),
        active_case_status=case.status if case else None,
        in_free_month=in_free_month,
        today=today,
    )


def test_refresh_stores_every_status(manager):
    clients = build_one_of_each(manager)

    changed = clients_refresh_statuses(today=TODAY)

    assert stored() == EXPECTED_TODAY
    assert changed == sum(status != ClientStatus.PROSPECT for status in EXPECTED_TODAY.values())
    for client in clients.values():
        assert derived_in_python(client, TODAY) == EXPECTED_TODAY[client.name]


@pytest.mark.parametrize(
    "today", [D(2026, 9, 30), D(2026, 10, 1), D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 31)]
)
def test_refresh_agrees_with_the_pure_rule_on_any_day(manager, today):
    clients = build_one_of_each(manager)

    clients_refresh_statuses(today=today)

    assert stored() == {name: derived_in_python(c, today) for name, c in clients.items()}


def test_refresh_is_idempotent(manager):
    build_one_of_each(manager)
    clients_refresh_statuses(today=TODAY)

    assert clients_refresh_statuses(today=TODAY) == 0
    assert stored() == EXPECTED_TODAY


def test_refresh_of_some_clients_leaves_the_others(manager):
    clients = build_one_of_each(manager)

    changed = clients_refresh_statuses(today=TODAY, client_ids=[clients["active"].pk])

    assert changed == 1
    assert stored()["active"] == ClientStatus.ACTIVE
    assert stored()["lost"] == ClientStatus.PROSPECT


def test_refresh_defaults_to_the_local_business_date(manager):
    clients = build_one_of_each(manager)

    clients_refresh_statuses()

    assert stored() == EXPECTED_TODAY
    assert client_refresh_status(clients["lost"]).status == ClientStatus.LOST


def test_future_termination_keeps_the_client_active_until_its_last_day(manager):
    client = ClientFactory(manager=manager)
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee="5000"
    )
    contract_terminate(
        actor=manager, contract=contract, ends_on=D(2026, 11, 30), reason=TerminationReason.PRICE
    )

    assert client_refresh_status(client).status == ClientStatus.ACTIVE
    assert client_refresh_status(client, today=D(2026, 11, 30)).status == ClientStatus.ACTIVE
    assert client_refresh_status(client, today=D(2026, 12, 1)).status == ClientStatus.LOST
