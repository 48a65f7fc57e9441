"""The return workflow (SPEC §3.3): claim, free month, return or decline, and the nightly close of
cases past the return window."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import override_settings
from django.utils.translation import gettext

from clients.models import (
    AssignmentReason,
    ClientAssignment,
    ClientStatus,
    Contract,
    ContractKind,
    TerminationReason,
)
from core.errors import Conflict
from retention.models import CaseStatus, LostCase
from retention.selectors import lost_cases_queue, return_candidates
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_decline,
    lost_case_return,
    lost_case_start_free_month,
    lost_cases_close_expired,
)
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, LostCaseFactory

TODAY = datetime.date(2026, 11, 15)
NOW = datetime.datetime(2026, 11, 15, 3, 0, tzinfo=datetime.UTC)
D = datetime.date
FIRST_DAY = D(2025, 1, 1)
LAST_DAY = D(2026, 9, 30)


pytestmark = pytest.mark.frozen_clock(NOW)


def lose(
    manager,
    *,
    starts_on=FIRST_DAY,
    ends_on=LAST_DAY,
    fee="7500",
    reason=TerminationReason.SERVICE_QUALITY,
):
    """A client of ``manager`` lost through the real services; returns its open case."""
    client = ClientFactory(manager=manager)
    contract = contract_create(
        actor=manager, client=client, number="АО-1", starts_on=starts_on, monthly_fee=fee
    )
    _contract, case = contract_terminate(
        actor=manager, contract=contract, ends_on=ends_on, reason=reason
    )
    return case


@pytest.fixture
def case(manager):
    return lose(manager)


@pytest.fixture
def claimed(case, return_manager):
    return lost_case_claim(actor=return_manager, case=case)


def snapshot(case) -> tuple:
    case.refresh_from_db()
    return (
        case.status,
        case.return_manager_id,
        case.claimed_at,
        case.free_month_contract_id,
        case.returned_on,
        case.new_manager_id,
        case.closed_on,
        case.decline_reason,
    )


def error_fields(exc_info) -> set[str]:
    return set(exc_info.value.message_dict)


# --- claim -------------------------------------------------------------------------------------


def test_claim_takes_an_open_case(case, return_manager):
    claimed = lost_case_claim(actor=return_manager, case=case)

    assert (claimed.status, claimed.return_manager, claimed.claimed_at) == (
        CaseStatus.CLAIMED,
        return_manager,
        NOW,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CLAIMED


def test_second_return_manager_gets_a_conflict_naming_the_first(
    case, return_manager, second_return_manager
):
    lost_case_claim(actor=return_manager, case=case)
    before = snapshot(case)

    with pytest.raises(Conflict) as exc:
        lost_case_claim(actor=second_return_manager, case=LostCase.objects.get(pk=case.pk))

    assert "Возвраты Дарья" in exc.value.message
    assert snapshot(case) == before


def test_a_stale_copy_of_the_case_still_loses_the_race(case, return_manager, second_return_manager):
    stale = LostCase.objects.get(pk=case.pk)
    lost_case_claim(actor=return_manager, case=case)

    with pytest.raises(Conflict):
        lost_case_claim(actor=second_return_manager, case=stale)

    assert LostCase.objects.get(pk=case.pk).return_manager == return_manager


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_have_exactly_one_winner(
    manager, return_manager, second_return_manager
):
    case = lose(manager)
    start = threading.Barrier(2)
    outcomes = {}

    def claim(actor):
        try:
            start.wait()
            lost_case_claim(actor=actor, case=LostCase.objects.get(pk=case.pk))
            outcomes[actor.pk] = "won"
        except Conflict as exc:
            outcomes[actor.pk] = exc.message
        finally:
            connection.close()

    threads = [
        threading.Thread(target=claim, args=(actor,))
        for actor in (return_manager, second_return_manager)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    case.refresh_from_db()
    winner = case.return_manager
    loser = second_return_manager if winner == return_manager else return_manager
    assert outcomes[winner.pk] == "won"
    assert winner.full_name in outcomes[loser.pk]
    assert case.history.filter(history_type="~").count() == 1


def test_claiming_twice_by_the_same_person_is_fine(case, return_manager):
    first = lost_case_claim(actor=return_manager, case=case)
    again = lost_case_claim(actor=return_manager, case=case)

    assert (again.status, again.return_manager, again.claimed_at) == (
        CaseStatus.CLAIMED,
        return_manager,
        first.claimed_at,
    )
    # The repeated claim changed nothing, so it left no second history row.
    assert case.history.filter(history_user=return_manager).count() == 1


def test_a_client_manager_cannot_claim(case, colleague):
    before = snapshot(case)

    with pytest.raises(PermissionDenied):
        lost_case_claim(actor=colleague, case=case)

    assert snapshot(case) == before


def test_a_closed_case_cannot_be_claimed(case, director, return_manager):
    lost_case_decline(actor=director, case=case, reason="Закрылись")
    before = snapshot(case)

    with pytest.raises(Conflict) as exc:
        lost_case_claim(actor=return_manager, case=case)

    assert exc.value.message == gettext("This case is closed.")
    assert snapshot(case) == before


def test_queue_puts_the_highest_fee_then_the_latest_loss_first(manager):
    small = lose(manager, fee="3000")
    big_old = lose(manager, fee="9000", ends_on=D(2026, 8, 31))
    big_new = lose(manager, fee="9000", ends_on=D(2026, 9, 30))
    LostCaseFactory(lost_on=D(2026, 10, 1), status=CaseStatus.DECLINED, closed_on=D(2026, 10, 5))

    assert list(lost_cases_queue()) == [big_new, big_old, small]


# --- free month --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (D(2026, 10, 1), D(2026, 10, 31)),
        (D(2026, 10, 31), D(2026, 11, 29)),
        (D(2026, 11, 10), D(2026, 12, 9)),
        (D(2026, 12, 15), D(2027, 1, 14)),
    ],
)
def test_free_month_is_one_calendar_month_at_no_fee(claimed, return_manager, starts_on, ends_on):
    case = lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=starts_on)

    free = case.free_month_contract
    assert (free.kind, free.monthly_fee, free.starts_on, free.ends_on, free.number) == (
        ContractKind.FREE_MONTH,
        Decimal("0.00"),
        starts_on,
        ends_on,
        f"FM-{case.pk}",
    )
    assert case.status == CaseStatus.FREE_MONTH


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (D(2026, 1, 31), D(2026, 2, 27)),
        (D(2026, 3, 10), D(2026, 4, 9)),
        (D(2024, 1, 31), D(2024, 2, 28)),  # a leap year
        (D(2026, 12, 31), D(2027, 1, 30)),
    ],
)
def test_free_month_ends_the_day_before_the_same_date_next_month(
    manager, return_manager, starts_on, ends_on
):
    case = lose(manager, starts_on=D(2023, 1, 1), ends_on=D(2023, 12, 31))
    lost_case_claim(actor=return_manager, case=case)

    case = lost_case_start_free_month(actor=return_manager, case=case, starts_on=starts_on)

    assert case.free_month_contract.ends_on == ends_on


def test_free_month_defaults_to_today_and_sets_the_client_status(claimed, return_manager):
    case = lost_case_start_free_month(actor=return_manager, case=claimed)

    assert (case.free_month_contract.starts_on, case.free_month_contract.ends_on) == (
        TODAY,
        D(2026, 12, 14),
    )
    case.client.refresh_from_db()
    assert case.client.status == ClientStatus.FREE_MONTH


def test_free_month_before_the_loss_is_refused(claimed, return_manager):
    before = snapshot(claimed)

    with pytest.raises(ValidationError) as exc:
        lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=D(2026, 9, 30))

    assert error_fields(exc) == {"starts_on"}
    assert snapshot(claimed) == before
    assert not Contract.objects.filter(kind=ContractKind.FREE_MONTH).exists()


def test_free_month_needs_a_claimed_case(case, return_manager, director):
    with pytest.raises(PermissionDenied):
        lost_case_start_free_month(actor=return_manager, case=case)
    with pytest.raises(Conflict):
        lost_case_start_free_month(actor=director, case=case)

    assert not Contract.objects.filter(kind=ContractKind.FREE_MONTH).exists()


def test_free_month_of_someone_elses_case_is_refused(claimed, second_return_manager):
    with pytest.raises(PermissionDenied):
        lost_case_start_free_month(actor=second_return_manager, case=claimed)

    assert not Contract.objects.filter(kind=ContractKind.FREE_MONTH).exists()


def test_only_one_free_month_per_case(claimed, return_manager):
    lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=D(2026, 10, 1))

    with pytest.raises(Conflict):
        lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=D(2026, 11, 1))

    assert Contract.objects.filter(kind=ContractKind.FREE_MONTH).count() == 1


# --- return ------------------------------------------------------------------------------------


def current_assignment(client):
    return ClientAssignment.objects.get(client=client, ends_on__isnull=True)


def test_return_after_the_free_month(claimed, return_manager, manager, colleague):
    case = lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=D(2026, 10, 15))

    case = lost_case_return(
        actor=return_manager, case=case, manager=colleague, starts_on=TODAY, monthly_fee="6000"
    )

    assert (case.status, case.returned_on, case.closed_on, case.new_manager) == (
        CaseStatus.RETURNED,
        TODAY,
        TODAY,
        colleague,
    )
    paid = Contract.objects.get(client=case.client, kind=ContractKind.PAID, starts_on=TODAY)
    assert (paid.number, paid.monthly_fee, paid.ends_on) == (
        f"R-{case.pk}",
        Decimal("6000.00"),
        None,
    )
    free = Contract.objects.get(pk=case.free_month_contract_id)
    assert (free.starts_on, free.ends_on) == (D(2026, 10, 15), D(2026, 11, 14))
    assignment = current_assignment(case.client)
    assert (assignment.manager, assignment.starts_on, assignment.reason) == (
        colleague,
        TODAY,
        AssignmentReason.RETURN,
    )
    previous = ClientAssignment.objects.get(client=case.client, manager=manager)
    assert previous.ends_on == D(2026, 11, 14)
    case.client.refresh_from_db()
    assert (case.client.status, case.client.manager) == (ClientStatus.ACTIVE, colleague)


def test_return_during_the_free_month_ends_it_the_day_before(claimed, return_manager, colleague):
    case = lost_case_start_free_month(actor=return_manager, case=claimed, starts_on=D(2026, 10, 15))

    lost_case_return(
        actor=return_manager,
        case=case,
        manager=colleague,
        starts_on=D(2026, 11, 1),
        monthly_fee="6000",
        number="АО-2",
    )

    case.free_month_contract.refresh_from_db()
    assert case.free_month_contract.ends_on == D(2026, 10, 31)
    assert Contract.objects.get(number="АО-2").starts_on == D(2026, 11, 1)


def test_return_without_a_free_month(claimed, return_manager, mentor):
    case = lost_case_return(
        actor=return_manager,
        case=claimed,
        manager=mentor,
        starts_on=D(2026, 10, 20),
        monthly_fee="5000",
    )

    assert (case.status, case.new_manager) == (CaseStatus.RETURNED, mentor)


def test_returning_to_the_manager_who_lost_it_is_refused(claimed, return_manager, manager):
    before = snapshot(claimed)
    contracts, assignments = Contract.objects.count(), ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        lost_case_return(
            actor=return_manager, case=claimed, manager=manager, starts_on=TODAY, monthly_fee="6000"
        )

    assert error_fields(exc) == {"manager"}
    assert snapshot(claimed) == before
    assert (Contract.objects.count(), ClientAssignment.objects.count()) == (contracts, assignments)


def test_the_picker_never_offers_the_manager_who_lost_it(case, manager, colleague, mentor):
    assert manager not in return_candidates(case)
    assert {colleague, mentor} <= set(return_candidates(case))


@pytest.mark.parametrize(
    ("target_fixture", "starts_on", "fee", "field"),
    [
        ("return_manager", TODAY, "6000", "manager"),
        ("sales_manager", TODAY, "6000", "manager"),
        ("colleague", D(2026, 9, 30), "6000", "starts_on"),  # before the loss
        ("colleague", D(2026, 11, 16), "6000", "starts_on"),  # in the future
        ("colleague", TODAY, "-5", "monthly_fee"),
    ],
)
def test_bad_returns_are_refused_and_write_nothing(
    claimed, return_manager, request, target_fixture, starts_on, fee, field
):
    target = request.getfixturevalue(target_fixture)
    before = snapshot(claimed)
    contracts, assignments = Contract.objects.count(), ClientAssignment.objects.count()

    with pytest.raises(ValidationError) as exc:
        lost_case_return(
            actor=return_manager, case=claimed, manager=target, starts_on=starts_on, monthly_fee=fee
        )

    assert error_fields(exc) == {field}
    assert snapshot(claimed) == before
    assert (Contract.objects.count(), ClientAssignment.objects.count()) == (contracts, assignments)


def test_a_dismissed_manager_cannot_take_a_returned_client(claimed, return_manager, colleague):
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])

    with pytest.raises(ValidationError) as exc:
        lost_case_return(
            actor=return_manager,
            case=claimed,
            manager=colleague,
            starts_on=TODAY,
            monthly_fee="6000",
        )

    assert error_fields(exc) == {"manager"}


def test_return_of_an_unclaimed_or_closed_case_is_refused(
    case, director, return_manager, colleague
):
    with pytest.raises(Conflict):
        lost_case_return(
            actor=director, case=case, manager=colleague, starts_on=TODAY, monthly_fee="1"
        )
    lost_case_claim(actor=return_manager, case=case)
    lost_case_decline(actor=return_manager, case=case, reason="Ушли к конкуренту")

    with pytest.raises(Conflict):
        lost_case_return(
            actor=return_manager, case=case, manager=colleague, starts_on=TODAY, monthly_fee="1"
        )

    assert not Contract.objects.filter(starts_on=TODAY).exists()


# --- decline -----------------------------------------------------------------------------------


def test_decline_closes_the_case_and_the_client(claimed, return_manager):
    case = lost_case_decline(actor=return_manager, case=claimed, reason=" Закрыли учреждение ")

    assert (case.status, case.closed_on, case.decline_reason) == (
        CaseStatus.DECLINED,
        TODAY,
        "Закрыли учреждение",
    )
    case.client.refresh_from_db()
    assert case.client.status == ClientStatus.CLOSED


def test_decline_on_a_given_day(claimed, return_manager):
    case = lost_case_decline(
        actor=return_manager, case=claimed, reason="Бюджет", declined_on=D(2026, 10, 20)
    )

    assert case.closed_on == D(2026, 10, 20)


@pytest.mark.parametrize(
    ("reason", "declined_on", "field"),
    [("", None, "reason"), ("   ", None, "reason"), ("Бюджет", D(2026, 9, 30), "declined_on")],
)
def test_bad_declines_are_refused(claimed, return_manager, reason, declined_on, field):
    before = snapshot(claimed)

    with pytest.raises(ValidationError) as exc:
        lost_case_decline(
            actor=return_manager, case=claimed, reason=reason, declined_on=declined_on
        )

    assert error_fields(exc) == {field}
    assert snapshot(claimed) == before


def test_an_open_case_is_declined_only_by_the_director(case, return_manager, director, colleague):
    with pytest.raises(PermissionDenied):
        lost_case_decline(actor=return_manager, case=case, reason="Нет")
    with pytest.raises(PermissionDenied):
        lost_case_decline(actor=colleague, case=case, reason="Нет")
    assert snapshot(case)[0] == CaseStatus.OPEN

    lost_case_decline(actor=director, case=case, reason="Нет")

    assert snapshot(case)[0] == CaseStatus.DECLINED


def test_someone_elses_claimed_case_cannot_be_declined(claimed, second_return_manager):
    with pytest.raises(PermissionDenied):
        lost_case_decline(actor=second_return_manager, case=claimed, reason="Нет")

    assert snapshot(claimed)[0] == CaseStatus.CLAIMED


# --- the return window -------------------------------------------------------------------------


@override_settings(RETURN_WINDOW_DAYS=30)
def test_close_expired_declines_on_the_day_the_window_ran_out(manager, return_manager, colleague):
    expired = lose(manager, ends_on=D(2026, 9, 30))  # lost 2026-10-01, window out 2026-10-31
    last_day = lose(manager, ends_on=D(2026, 10, 14))  # lost 2026-10-15, window out 2026-11-14
    in_window = lose(manager, ends_on=D(2026, 10, 15))  # lost 2026-10-16, window out today
    in_free_month = lose(manager, ends_on=D(2026, 9, 14))  # lost 2026-09-15
    lost_case_claim(actor=return_manager, case=in_free_month)
    lost_case_start_free_month(actor=return_manager, case=in_free_month, starts_on=D(2026, 10, 1))
    returned = lose(manager, ends_on=D(2026, 8, 31))
    lost_case_claim(actor=return_manager, case=returned)
    lost_case_return(
        actor=return_manager,
        case=returned,
        manager=colleague,
        starts_on=D(2026, 9, 10),
        monthly_fee="1",
    )

    assert lost_cases_close_expired() == 3

    for case, closed_on in (
        (expired, D(2026, 10, 31)),
        (last_day, D(2026, 11, 14)),
        (in_free_month, D(2026, 10, 15)),
    ):
        case.refresh_from_db()
        assert (case.status, case.closed_on) == (CaseStatus.DECLINED, closed_on)
        assert case.decline_reason
        case.client.refresh_from_db()
        assert case.client.status == ClientStatus.CLOSED
    in_window.refresh_from_db()
    assert (in_window.status, in_window.closed_on) == (CaseStatus.OPEN, None)
    returned.refresh_from_db()
    assert (returned.status, returned.closed_on) == (CaseStatus.RETURNED, D(2026, 9, 10))


@override_settings(RETURN_WINDOW_DAYS=30)
def test_close_expired_is_idempotent_and_independent_of_the_run_day(manager):
    case = lose(manager, ends_on=D(2026, 9, 30))

    assert lost_cases_close_expired(today=D(2026, 11, 1)) == 1
    assert lost_cases_close_expired(today=D(2026, 11, 1)) == 0
    assert lost_cases_close_expired(today=D(2026, 12, 31)) == 0

    case.refresh_from_db()
    assert case.closed_on == D(2026, 10, 31)


@override_settings(RETURN_WINDOW_DAYS=30)
def test_close_expired_on_a_later_run_gives_the_same_closed_on(manager):
    case = lose(manager, ends_on=D(2026, 9, 30))

    assert lost_cases_close_expired(today=D(2027, 3, 1)) == 1

    case.refresh_from_db()
    assert case.closed_on == D(2026, 10, 31)


def test_close_expired_uses_the_default_window_of_90_days(manager):
    recent = lose(manager, ends_on=D(2026, 9, 30))  # lost 2026-10-01: 90 days run to 2026-12-30
    old = lose(manager, ends_on=D(2026, 7, 31))  # lost 2026-08-01: window out 2026-10-30

    assert lost_cases_close_expired() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.closed_on) == (CaseStatus.DECLINED, D(2026, 10, 30))
    assert recent.status == CaseStatus.OPEN
