"""Agreed returns (SPEC §3.3, §4, §10): a return recorded during the free month from the day
after it ends is kept on the case only; the nightly chain carries it out on that day, so no
contract, assignment or KPI sees it before it happens."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils.translation import gettext
from freezegun import freeze_time

from clients.models import (
    AssignmentReason,
    ClientAssignment,
    ClientStatus,
    Contract,
    ContractKind,
    Task,
    TaskKind,
    TerminationReason,
)
from core.errors import Conflict
from kpi.models import KpiSnapshot, Scope
from kpi.services import kpi_snapshots_recompute
from retention.models import CaseStatus, LostCase
from retention.services import (
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_decline,
    lost_case_return,
    lost_case_return_agree,
    lost_case_return_withdraw,
    lost_case_start_free_month,
    lost_cases_carry_out_agreed_returns,
    lost_cases_close_expired,
    tasks_create_free_month_ending,
)
from tests.factories import ClientFactory

D = datetime.date
KRASNOYARSK = ZoneInfo("Asia/Krasnoyarsk")
FREE_START = D(2026, 11, 5)
FREE_END = D(2026, 12, 4)
EFFECTIVE = D(2026, 12, 5)


def at(day: datetime.date, hour: int = 10):
    """Freeze the clock at ``hour`` local time (Asia/Krasnoyarsk, UTC+7) of ``day``."""
    local = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=KRASNOYARSK)
    return freeze_time(local.astimezone(datetime.UTC))


@pytest.fixture
def case(manager, return_manager):
    """A client of ``manager`` lost on 2026-11-01, claimed, in its free month 2026-11-05..12-04."""
    with at(FREE_START):
        client = ClientFactory(manager=manager, name="МБОУ СОШ № 12")
        contract = contract_create(
            actor=manager, client=client, number="АО-1", starts_on=D(2025, 1, 1), monthly_fee="7500"
        )
        _contract, case = contract_terminate(
            actor=manager,
            contract=contract,
            ends_on=D(2026, 10, 31),
            reason=TerminationReason.SERVICE_QUALITY,
        )
        lost_case_claim(actor=return_manager, case=case)
        return lost_case_start_free_month(actor=return_manager, case=case, starts_on=FREE_START)


def agree(case, actor, manager, starts_on=EFFECTIVE, fee="6000", **extra):
    return lost_case_return_agree(
        actor=actor, case=case, manager=manager, starts_on=starts_on, monthly_fee=fee, **extra
    )


def written(case) -> tuple:
    """Everything a return writes outside the case: contracts and assignments of the client."""
    return (
        sorted(
            Contract.objects.filter(client=case.client_id).values_list(
                "kind", "number", "starts_on", "ends_on", "monthly_fee"
            )
        ),
        sorted(
            ClientAssignment.objects.filter(client=case.client_id).values_list(
                "manager_id", "starts_on", "ends_on"
            ),
            key=str,
        ),
    )


def case_row(case) -> dict:
    return LostCase.objects.filter(pk=case.pk).values().get()


def test_an_agreement_in_the_free_month_writes_nothing_dated_ahead(
    case, return_manager, manager, colleague
):
    before = written(case)

    with at(FREE_START):
        agreed = agree(case, return_manager, colleague)

    row = case_row(case)
    assert (
        row["status"],
        row["agreed_on"],
        row["agreed_by_id"],
        row["agreed_starts_on"],
        row["agreed_fee"],
        row["agreed_manager_id"],
        row["closed_on"],
        row["returned_on"],
        row["new_manager_id"],
    ) == (
        CaseStatus.FREE_MONTH,
        FREE_START,
        return_manager.pk,
        EFFECTIVE,
        Decimal("6000.00"),
        colleague.pk,
        None,
        None,
        None,
    )
    assert agreed.agreed_starts_on == EFFECTIVE
    assert written(case) == before
    case.client.refresh_from_db()
    assert (case.client.manager, case.client.status) == (manager, ClientStatus.FREE_MONTH)
    entry = case.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        return_manager,
        gettext("return agreed from %(day)s, to %(name)s")
        % {"day": "2026-12-05", "name": colleague},
    )


def test_the_nightly_step_carries_the_return_out_on_its_day_and_only_then(
    case, return_manager, manager, colleague
):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    before = written(case)

    with at(FREE_END, 2):
        tasks_create_free_month_ending(today=FREE_END)
        assert lost_cases_carry_out_agreed_returns(today=FREE_END) == 0
    assert written(case) == before
    assert case_row(case)["status"] == CaseStatus.FREE_MONTH

    with at(EFFECTIVE, 2):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 1

    row = case_row(case)
    assert (row["status"], row["returned_on"], row["closed_on"], row["new_manager_id"]) == (
        CaseStatus.RETURNED,
        EFFECTIVE,
        EFFECTIVE,
        colleague.pk,
    )
    # The agreement stays on the case as the record of what was agreed, and when.
    assert (row["agreed_on"], row["agreed_starts_on"], row["agreed_failure"]) == (
        FREE_START,
        EFFECTIVE,
        "",
    )
    contracts, assignments = written(case)
    assert contracts == sorted(
        [
            (ContractKind.PAID, "АО-1", D(2025, 1, 1), D(2026, 10, 31), Decimal("7500.00")),
            (ContractKind.FREE_MONTH, f"FM-{case.pk}", FREE_START, FREE_END, Decimal("0.00")),
            (ContractKind.PAID, f"R-{case.pk}", EFFECTIVE, None, Decimal("6000.00")),
        ]
    )
    current = ClientAssignment.objects.get(client=case.client, ends_on__isnull=True)
    assert (current.manager, current.starts_on, current.reason) == (
        colleague,
        EFFECTIVE,
        AssignmentReason.RETURN,
    )
    assert ClientAssignment.objects.get(client=case.client, manager=manager).ends_on == FREE_END
    case.client.refresh_from_db()
    assert (case.client.manager, case.client.status) == (colleague, ClientStatus.ACTIVE)
    # Exactly as if the return manager had pressed the button that day.
    entry = case.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        return_manager,
        gettext("returned to %(name)s") % {"name": colleague},
    )
    assert not Task.objects.filter(
        client=case.client, kind=TaskKind.FREE_MONTH_ENDING, done_at__isnull=True
    ).exists()

    history_rows = case.history.count()
    with at(EFFECTIVE, 3):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 0
    assert written(case) == (contracts, assignments)
    assert case.history.count() == history_rows


def test_a_late_run_carries_it_out_with_the_agreed_day(case, return_manager, colleague):
    with at(FREE_START):
        agree(case, return_manager, colleague)

    with at(D(2026, 12, 7), 2):
        assert lost_cases_carry_out_agreed_returns(today=D(2026, 12, 7)) == 1

    row = case_row(case)
    assert (row["status"], row["returned_on"]) == (CaseStatus.RETURNED, EFFECTIVE)
    assert Contract.objects.get(client=case.client, number=f"R-{case.pk}").starts_on == EFFECTIVE


@pytest.mark.parametrize(
    ("starts_on", "fee", "target", "field"),
    [
        (D(2026, 12, 6), "6000", "colleague", "starts_on"),  # after the day after the free month
        (D(2027, 11, 6), "6000", "colleague", "starts_on"),  # more than a year ahead
        (EFFECTIVE, "-1", "colleague", "monthly_fee"),
        (EFFECTIVE, "10000000.01", "colleague", "monthly_fee"),
        (EFFECTIVE, "6000", "manager", "manager"),  # the manager who lost the client
        (EFFECTIVE, "6000", "return_manager", "manager"),
    ],
)
def test_bad_agreements_name_the_field_and_write_nothing(
    case, return_manager, request, starts_on, fee, target, field
):
    before, row = written(case), case_row(case)

    with at(FREE_START), pytest.raises(ValidationError) as exc:
        agree(case, return_manager, request.getfixturevalue(target), starts_on=starts_on, fee=fee)

    assert set(exc.value.message_dict) == {field}
    assert (written(case), case_row(case)) == (before, row)


def test_the_latest_day_names_the_day_after_the_free_month(case, return_manager, colleague):
    with at(FREE_START), pytest.raises(ValidationError) as exc:
        agree(case, return_manager, colleague, starts_on=D(2026, 12, 6))

    assert exc.value.message_dict["starts_on"] == [
        gettext(
            "The return can be agreed from %(day)s at the latest, the day after the free month ends."
        )
        % {"day": "2026-12-05"}
    ]


def test_a_day_ahead_without_a_free_month_is_refused(manager, return_manager, colleague):
    with at(FREE_START):
        client = ClientFactory(manager=manager)
        contract = contract_create(
            actor=manager, client=client, number="АО-2", starts_on=D(2025, 1, 1), monthly_fee="1"
        )
        _contract, case = contract_terminate(
            actor=manager, contract=contract, ends_on=D(2026, 10, 31), reason="price"
        )
        lost_case_claim(actor=return_manager, case=case)
        before, row = written(case), case_row(case)

        with pytest.raises(ValidationError) as exc:
            agree(case, return_manager, colleague, starts_on=D(2026, 11, 6))

    assert set(exc.value.message_dict) == {"starts_on"}
    assert (written(case), case_row(case)) == (before, row)


def test_someone_elses_case_cannot_be_agreed(case, second_return_manager, colleague):
    row = case_row(case)

    with at(FREE_START), pytest.raises(PermissionDenied):
        agree(case, second_return_manager, colleague)

    assert case_row(case) == row


def test_today_or_a_past_day_returns_the_client_at_once(case, return_manager, colleague):
    with at(D(2026, 11, 20)):
        agree(case, return_manager, colleague, starts_on=D(2026, 11, 20))

    row = case_row(case)
    assert (row["status"], row["returned_on"], row["agreed_starts_on"]) == (
        CaseStatus.RETURNED,
        D(2026, 11, 20),
        None,
    )
    assert Contract.objects.get(pk=case.free_month_contract_id).ends_on == D(2026, 11, 19)


def test_an_agreement_can_be_changed_until_it_is_carried_out(
    case, return_manager, colleague, mentor
):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    with at(D(2026, 11, 20)):
        agree(case, return_manager, mentor, starts_on=D(2026, 12, 1), fee="5500", number="В-9")

    row = case_row(case)
    assert (
        row["agreed_on"],
        row["agreed_starts_on"],
        row["agreed_fee"],
        row["agreed_manager_id"],
        row["agreed_number"],
    ) == (D(2026, 11, 20), D(2026, 12, 1), Decimal("5500.00"), mentor.pk, "В-9")

    with at(D(2026, 12, 1), 2):
        assert lost_cases_carry_out_agreed_returns(today=D(2026, 12, 1)) == 1

    paid = Contract.objects.get(client=case.client, number="В-9")
    assert (paid.starts_on, paid.monthly_fee) == (D(2026, 12, 1), Decimal("5500.00"))
    # A return during the free month ends the free month the day before.
    assert Contract.objects.get(pk=case.free_month_contract_id).ends_on == D(2026, 11, 30)
    assert case_row(case)["new_manager_id"] == mentor.pk


def test_a_withdrawn_agreement_leaves_the_case_in_its_free_month(case, return_manager, colleague):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    before = written(case)

    with at(D(2026, 11, 10)):
        lost_case_return_withdraw(actor=return_manager, case=case)

    row = case_row(case)
    assert (row["status"], row["agreed_starts_on"], row["agreed_manager_id"], row["agreed_on"]) == (
        CaseStatus.FREE_MONTH,
        None,
        None,
        None,
    )
    assert written(case) == before
    assert case.history.latest().history_change_reason == gettext("agreed return withdrawn")
    with at(EFFECTIVE, 2):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 0
    assert case_row(case)["status"] == CaseStatus.FREE_MONTH


def test_withdrawing_without_an_agreement_is_a_conflict(case, return_manager):
    with at(FREE_START), pytest.raises(Conflict) as exc:
        lost_case_return_withdraw(actor=return_manager, case=case)

    assert exc.value.message == gettext("This case has no agreed return.")


@override_settings(RETURN_WINDOW_DAYS=30)
def test_the_window_does_not_expire_an_agreed_case_and_a_late_withdrawal_is_refused(
    case, return_manager, colleague
):
    # Lost 2026-11-01: the 30-day window ran out on 2026-12-01, before the agreed day.
    with at(FREE_START):
        agree(case, return_manager, colleague)

    assert lost_cases_close_expired(today=D(2026, 12, 3)) == 0
    with at(D(2026, 12, 3)), pytest.raises(Conflict) as exc:
        lost_case_return_withdraw(actor=return_manager, case=case)

    assert exc.value.message == gettext(
        "The return window has run out: decline the case instead, saying why."
    )
    with at(EFFECTIVE, 2):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 1
    assert (case_row(case)["status"], case_row(case)["closed_on"]) == (
        CaseStatus.RETURNED,
        EFFECTIVE,
    )


def test_declining_drops_the_agreement(case, return_manager, colleague):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    with at(D(2026, 11, 20)):
        lost_case_decline(actor=return_manager, case=case, reason="Передумали")

    row = case_row(case)
    assert (row["status"], row["closed_on"], row["agreed_starts_on"]) == (
        CaseStatus.DECLINED,
        D(2026, 11, 20),
        None,
    )


def test_a_return_on_other_terms_replaces_the_agreement(case, return_manager, colleague, mentor):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    with at(D(2026, 11, 25)):
        lost_case_return(
            actor=return_manager,
            case=case,
            manager=mentor,
            starts_on=D(2026, 11, 25),
            monthly_fee="6000",
        )

    row = case_row(case)
    assert (row["status"], row["new_manager_id"], row["agreed_starts_on"]) == (
        CaseStatus.RETURNED,
        mentor.pk,
        None,
    )


def test_a_return_that_cannot_be_carried_out_keeps_the_reason_and_is_tried_again(
    case, return_manager, colleague, mentor
):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    before = written(case)

    with at(EFFECTIVE, 2):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 0
    history_rows = case.history.count()
    with at(EFFECTIVE, 3):
        assert lost_cases_carry_out_agreed_returns(today=EFFECTIVE) == 0

    row = case_row(case)
    assert (row["status"], row["agreed_failure"]) == (
        CaseStatus.FREE_MONTH,
        gettext("Choose an active client manager."),
    )
    assert written(case) == before
    assert case.history.count() == history_rows  # the same failure is not written twice

    # The return manager picks another manager; the day has come, so it happens at once.
    with at(EFFECTIVE):
        agree(case, return_manager, mentor, starts_on=EFFECTIVE)
    row = case_row(case)
    assert (row["status"], row["new_manager_id"], row["returned_on"], row["agreed_failure"]) == (
        CaseStatus.RETURNED,
        mentor.pk,
        EFFECTIVE,
        "",
    )


def test_kpis_count_the_return_in_its_effective_month_only(case, return_manager, colleague):
    with at(FREE_START):
        agree(case, return_manager, colleague)
    with at(D(2026, 11, 30), 23):
        kpi_snapshots_recompute(month_from=D(2026, 11, 1), today=D(2026, 11, 30))
    november = KpiSnapshot.objects.get(month=D(2026, 11, 1), scope=Scope.DEPARTMENT)
    assert (
        november.returned,
        november.cases_returned,
        november.return_rate,
        november.base_end,
    ) == (0, 0, 0.0, 0)
    assert not KpiSnapshot.objects.filter(
        month=D(2026, 11, 1), scope=Scope.MANAGER, scope_id=colleague.pk, base_end__gt=0
    ).exists()

    with at(EFFECTIVE, 2):
        lost_cases_carry_out_agreed_returns(today=EFFECTIVE)
    with at(D(2026, 12, 31), 23):
        kpi_snapshots_recompute(month_from=D(2026, 11, 1), today=D(2026, 12, 31))

    november = KpiSnapshot.objects.get(month=D(2026, 11, 1), scope=Scope.DEPARTMENT)
    december = KpiSnapshot.objects.get(month=D(2026, 12, 1), scope=Scope.DEPARTMENT)
    assert (november.returned, november.cases_returned, november.return_rate) == (0, 0, 0.0)
    assert (
        december.base_start,
        december.returned,
        december.cases_returned,
        december.return_rate,
        december.base_end,
    ) == (0, 1, 1, 1.0, 1)
    by_colleague = KpiSnapshot.objects.get(
        month=D(2026, 12, 1), scope=Scope.MANAGER, scope_id=colleague.pk
    )
    assert (by_colleague.returned, by_colleague.base_end) == (1, 1)
