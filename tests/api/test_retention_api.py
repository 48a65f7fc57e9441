"""contracts/ and lost-cases/ endpoints (SPEC §7, §3.2–§3.3)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from clients.models import Client, ClientAssignment, ClientStatus, Contract, ContractKind
from retention.models import CaseStatus, LostCase
from tests.api.conftest import api_client
from tests.factories import ClientFactory, ContractFactory, LostCaseFactory

CONTRACTS = "/api/v1/contracts/"
CASES = "/api/v1/lost-cases/"


def _contract(world, **overrides) -> dict:
    return {
        "client": world.prospect.pk,
        "number": "АО-100",
        "starts_on": "2026-01-01",
        "monthly_fee": "4500.50",
        **overrides,
    }


# --- contracts ------------------------------------------------------------------------------


def test_create_a_paid_contract(world):
    response = api_client(world.manager).post(CONTRACTS, _contract(world), format="json")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("client", "kind", "starts_on", "ends_on", "monthly_fee")} == {
        "client": world.prospect.pk,
        "kind": "paid",
        "starts_on": "2026-01-01",
        "ends_on": None,
        "monthly_fee": "4500.50",
    }
    world.prospect.refresh_from_db()
    assert world.prospect.status == ClientStatus.ACTIVE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"monthly_fee": "-1"}, "monthly_fee"),
        ({"monthly_fee": "abc"}, "monthly_fee"),
        ({"kind": "free_month"}, "kind"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"ends_on": "2025-12-31"}, "ends_on"),
        ({"number": ""}, "number"),
    ],
)
def test_bad_contract_input_names_the_field_and_writes_nothing(world, overrides, field):
    before = Contract.objects.count()

    response = api_client(world.manager).post(
        CONTRACTS, _contract(world, **overrides), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Contract.objects.count() == before


def test_overlapping_paid_contract_is_400_on_starts_on(world):
    response = api_client(world.manager).post(
        CONTRACTS, _contract(world, client=world.acme.pk, starts_on="2025-06-01"), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["starts_on"]
    assert Contract.objects.filter(client=world.acme).count() == 1


def test_contract_for_an_invisible_client_does_not_exist(world):
    response = api_client(world.manager).post(
        CONTRACTS, _contract(world, client=world.outsider_client.pk), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["client"]


def test_terminate_the_last_contract_opens_a_case(world):
    response = api_client(world.manager).post(
        f"{CONTRACTS}{world.contract.pk}/terminate/",
        {"ends_on": "2025-12-31", "reason": "service_quality", "comment": "Долго отвечали"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["contract"]["ends_on"], body["contract"]["termination_reason"]) == (
        "2025-12-31",
        "service_quality",
    )
    case = LostCase.objects.get(pk=body["lost_case"]["id"])
    assert (case.client, case.lost_on, case.lost_by, case.status) == (
        world.acme,
        datetime.date(2026, 1, 1),
        world.manager,
        CaseStatus.OPEN,
    )
    assert body["lost_case"]["lost_fee"] == "5000.00"


def test_natural_termination_opens_no_case(world):
    response = api_client(world.manager).post(
        f"{CONTRACTS}{world.contract.pk}/terminate/",
        {"ends_on": "2025-12-31", "reason": "merger"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["lost_case"] is None
    world.acme.refresh_from_db()
    assert world.acme.status == ClientStatus.CLOSED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ends_on": "2025-12-31", "reason": "boredom"}, "reason"),
        ({"ends_on": "2023-12-31", "reason": "price"}, "ends_on"),
        ({"reason": "price"}, "ends_on"),
    ],
)
def test_bad_termination_changes_nothing(world, body, field):
    response = api_client(world.manager).post(
        f"{CONTRACTS}{world.contract.pk}/terminate/", body, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    world.contract.refresh_from_db()
    assert (world.contract.ends_on, world.contract.termination_reason) == (None, "")
    assert not LostCase.objects.filter(client=world.acme).exists()


def test_change_fee_returns_the_new_contract(world):
    response = api_client(world.manager).post(
        f"{CONTRACTS}{world.contract.pk}/change-fee/",
        {"effective_on": "2026-03-01", "monthly_fee": "6500.00"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["starts_on"], body["ends_on"], body["monthly_fee"]) == (
        "2026-03-01",
        None,
        "6500.00",
    )
    world.contract.refresh_from_db()
    assert world.contract.ends_on == datetime.date(2026, 2, 28)


def test_change_fee_to_the_same_fee_is_400(world):
    response = api_client(world.manager).post(
        f"{CONTRACTS}{world.contract.pk}/change-fee/",
        {"effective_on": "2026-03-01", "monthly_fee": "5000.00"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["monthly_fee"]
    assert Contract.objects.filter(client=world.acme).count() == 1


def test_contracts_filter_by_client(world):
    response = api_client(world.director).get(CONTRACTS, {"client": world.acme.pk})

    assert [row["id"] for row in response.json()["results"]] == [world.contract.pk]


# --- lost cases -----------------------------------------------------------------------------


def test_queue_is_ordered_by_lost_fee_then_most_recent(world):
    other = ClientFactory(manager=world.colleague, status=ClientStatus.LOST)
    recent = LostCaseFactory(
        client=other,
        lost_on=timezone.localdate() - datetime.timedelta(days=1),
        lost_fee=Decimal("5000.00"),
    )

    response = api_client(world.return_manager).get(CASES, {"status": "open"})

    assert [row["id"] for row in response.json()["results"]] == [recent.pk, world.open_case.pk]
    everything = api_client(world.return_manager).get(CASES).json()["results"]
    assert [row["id"] for row in everything] == [
        world.claimed_case.pk,
        recent.pk,
        world.open_case.pk,
    ]


def test_claim_then_a_second_claim_is_409_naming_the_holder(world, second_return_manager):
    url = f"{CASES}{world.open_case.pk}/claim/"

    first = api_client(world.return_manager).post(url)
    second = api_client(second_return_manager).post(url)

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["return_manager"]) == (
        "claimed",
        world.return_manager.pk,
    )
    assert second.status_code == 409
    assert world.return_manager.full_name in second.json()["detail"]
    world.open_case.refresh_from_db()
    assert world.open_case.return_manager == world.return_manager


def test_start_free_month(world):
    starts_on = timezone.localdate()

    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/start-free-month/",
        {"starts_on": starts_on.isoformat()},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "free_month"
    free = Contract.objects.get(pk=response.json()["free_month_contract"])
    assert (free.kind, free.monthly_fee, free.starts_on) == (
        ContractKind.FREE_MONTH,
        Decimal("0.00"),
        starts_on,
    )


def test_free_month_before_the_loss_is_400_on_starts_on(world):
    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/start-free-month/",
        {"starts_on": "2020-01-01"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["starts_on"]
    assert not Contract.objects.filter(kind=ContractKind.FREE_MONTH).exists()


def test_return_to_a_different_manager(world):
    today = timezone.localdate()

    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/return/",
        {"manager": world.colleague.pk, "starts_on": today.isoformat(), "monthly_fee": "7000"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["new_manager"]) == (
        "returned",
        world.colleague.pk,
    )
    client = Client.objects.get(pk=world.claimed_case.client_id)
    assert (client.manager, client.status) == (world.colleague, ClientStatus.ACTIVE)
    assert ClientAssignment.objects.get(client=client, ends_on__isnull=True).reason == "return"


def test_return_to_the_manager_who_lost_it_is_400_on_manager(world):
    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/return/",
        {
            "manager": world.manager.pk,
            "starts_on": timezone.localdate().isoformat(),
            "monthly_fee": "7000",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["manager"]
    world.claimed_case.refresh_from_db()
    assert world.claimed_case.status == CaseStatus.CLAIMED
    assert Contract.objects.filter(client=world.claimed_case.client).count() == 1


def test_return_with_a_negative_fee_is_400_on_monthly_fee(world):
    response = api_client(world.return_manager).post(
        f"{CASES}{world.claimed_case.pk}/return/",
        {
            "manager": world.colleague.pk,
            "starts_on": timezone.localdate().isoformat(),
            "monthly_fee": "-5",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["monthly_fee"]


def test_decline_needs_a_reason(world):
    url = f"{CASES}{world.claimed_case.pk}/decline/"

    empty = api_client(world.return_manager).post(url, {"reason": ""}, format="json")
    declined = api_client(world.return_manager).post(url, {"reason": "Закрылись"}, format="json")

    assert empty.status_code == 400
    assert list(empty.json()) == ["reason"]
    assert declined.status_code == 200
    body = declined.json()
    assert (body["status"], body["closed_on"], body["decline_reason"]) == (
        "declined",
        timezone.localdate().isoformat(),
        "Закрылись",
    )


def test_acting_on_a_case_held_by_another_return_manager_is_403(world, second_return_manager):
    response = api_client(second_return_manager).post(
        f"{CASES}{world.claimed_case.pk}/decline/", {"reason": "Нет"}, format="json"
    )

    assert response.status_code == 403
    world.claimed_case.refresh_from_db()
    assert world.claimed_case.status == CaseStatus.CLAIMED


def test_a_closed_case_is_409(world):
    world.claimed_case.status = CaseStatus.DECLINED
    world.claimed_case.closed_on = timezone.localdate()
    world.claimed_case.save()

    response = api_client(world.director).post(
        f"{CASES}{world.claimed_case.pk}/start-free-month/", {}, format="json"
    )

    assert response.status_code == 409
    assert set(response.json()) == {"detail"}


def test_contract_money_is_a_decimal_string(world):
    ContractFactory(client=world.prospect, monthly_fee=Decimal("1234.50"))

    rows = api_client(world.manager).get(CONTRACTS, {"client": world.prospect.pk}).json()

    assert rows["results"][0]["monthly_fee"] == "1234.50"
