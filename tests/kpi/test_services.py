"""Snapshot recomputation from the database (SPEC §4, §5) and the readers of snapshots."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import AcquisitionChannel, TerminationReason
from clients.services import client_reassign
from kpi.metrics import FIGURES
from kpi.models import Goal, KpiSnapshot, Scope
from kpi.selectors import kpi_history_rows, kpi_latest_month, kpi_series, kpi_summary
from kpi.services import kpi_snapshots_recompute
from retention.services import (
    contract_change_fee,
    contract_create,
    contract_terminate,
    lost_case_claim,
    lost_case_return,
)
from tests.factories import ClientFactory, ContractFactory
from tests.kpi.history import history_build

D = datetime.date
TODAY = D(2026, 11, 15)


def stored() -> dict[tuple, dict]:
    return {
        (row.month, row.scope, row.scope_id): {name: getattr(row, name) for name in FIGURES}
        for row in KpiSnapshot.objects.all()
    }


def figures(**nonzero) -> dict:
    row = {**dict.fromkeys(FIGURES, 0), **nonzero}
    for name in ("mrr_start", "mrr_end"):
        row[name] = Decimal(row[name]).quantize(Decimal("0.01"))
    return row


@pytest.fixture
def story(director, mentor, manager, colleague, return_manager):
    """Built with the real services: two clients of ``manager``; A is lost in February and won
    back to ``colleague`` in April, B changes its fee in March and moves to ``colleague`` in May.
    """
    a = ClientFactory(manager=manager, acquisition_channel=AcquisitionChannel.INBOUND)
    b = ClientFactory(manager=manager, acquisition_channel=AcquisitionChannel.ACTIVE_SALES)
    a_first = contract_create(
        actor=director, client=a, number="A-1", starts_on=D(2024, 1, 10), monthly_fee=5000
    )
    b_first = contract_create(
        actor=director, client=b, number="B-1", starts_on=D(2024, 1, 1), monthly_fee=3000
    )
    contract_change_fee(
        actor=director, contract=b_first, effective_on=D(2024, 3, 1), monthly_fee=4000
    )
    _contract, case = contract_terminate(
        actor=director,
        contract=a_first,
        ends_on=D(2024, 2, 15),
        reason=TerminationReason.COMPETITOR,
    )
    lost_case_claim(actor=return_manager, case=case)
    lost_case_return(
        actor=return_manager,
        case=case,
        manager=colleague,
        starts_on=D(2024, 4, 1),
        monthly_fee=5000,
    )
    b.refresh_from_db()
    client_reassign(actor=director, client=b, manager=colleague, effective_on=D(2024, 5, 1))
    return a, b


def test_recompute_stores_the_figures_of_a_history_built_with_services(
    story, mentor, manager, colleague
):
    written = kpi_snapshots_recompute(month_from=D(2024, 1, 1), month_to=D(2024, 5, 1))

    rows = stored()
    # Five months of department, group and manager rows; colleague from April.
    assert written == len(rows) == 5 + 5 + 5 + 2
    dept = {month: row for (month, scope, _id), row in rows.items() if scope == Scope.DEPARTMENT}
    assert dept == {
        D(2024, 1, 1): figures(
            base_end=2, new_clients=2, new_inbound=1, new_active_sales=1, mrr_end=8000
        ),
        D(2024, 2, 1): figures(
            base_start=2,
            base_end=1,
            churned=1,
            churn_rate=0.5,
            churn_rate_controllable=0.5,
            mrr_start=8000,
            mrr_end=3000,
        ),
        D(2024, 3, 1): figures(base_start=1, base_end=1, mrr_start=3000, mrr_end=4000),
        D(2024, 4, 1): figures(
            base_start=1,
            base_end=2,
            returned=1,
            cases_returned=1,
            return_rate=1.0,
            return_rate_12m=1.0,
            mrr_start=4000,
            mrr_end=9000,
        ),
        D(2024, 5, 1): figures(
            base_start=2, base_end=2, return_rate_12m=1.0, mrr_start=9000, mrr_end=9000
        ),
    }
    may = D(2024, 5, 1)
    assert rows[(may, Scope.MANAGER, manager.pk)] == figures(
        base_start=1,
        transferred_out=1,
        mrr_start=4000,
        return_rate_12m=1.0,  # the case manager lost, won back in April
    )
    assert rows[(may, Scope.MANAGER, colleague.pk)] == figures(
        base_start=1, base_end=2, transferred_in=1, mrr_start=5000, mrr_end=9000
    )
    assert rows[(D(2024, 4, 1), Scope.MANAGER, colleague.pk)] == figures(
        base_end=1, returned=1, mrr_end=5000
    )
    assert rows[(may, Scope.GROUP, mentor.pk)] == figures(
        base_start=2,
        base_end=2,
        transferred_in=1,
        transferred_out=1,
        return_rate_12m=1.0,
        mrr_start=9000,
        mrr_end=9000,
    )
    assert (may, Scope.MANAGER, mentor.pk) not in rows  # no book: no row


def test_movement_identities_hold_on_every_row_of_a_random_history(db):
    history_build(clients=120, years=3, seed=11, today=TODAY)

    kpi_snapshots_recompute(today=TODAY)

    rows = KpiSnapshot.objects.all()
    assert {row.scope for row in rows} == set(Scope.values)
    for row in rows:
        moves = row.transferred_in - row.transferred_out
        assert row.base_end == (
            row.base_start + row.new_clients + row.returned + moves - row.churned
        ), row
        assert row.new_clients == row.new_referral + row.new_active_sales + row.new_inbound
        if row.scope == Scope.DEPARTMENT:
            assert moves == 0
            assert row.transferred_in == 0
    # Every manager row is in exactly one group: groups add up to the department.
    for month in (D(2024, 6, 1), D(2026, 11, 1)):
        groups = rows.filter(month=month, scope=Scope.GROUP)
        dept = rows.get(month=month, scope=Scope.DEPARTMENT)
        assert sum(g.base_end for g in groups) == dept.base_end
        assert sum(g.churned for g in groups) == dept.churned
        assert sum(g.mrr_end for g in groups) == dept.mrr_end


def test_default_range_is_first_contract_month_to_current_month(manager):
    client = ClientFactory(manager=manager)
    ContractFactory(client=client, starts_on=D(2019, 3, 15), ends_on=D(2020, 6, 30))
    ContractFactory(client=client, starts_on=D(2021, 1, 1), ends_on=None)

    written = kpi_snapshots_recompute(today=D(2021, 2, 10))

    months = sorted(
        KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT).values_list("month", flat=True)
    )
    assert months[0] == D(2019, 3, 1)
    assert months[-1] == D(2021, 2, 1)
    assert len(months) == 24
    # The manager's rows: every month with something to show (in base, or a rate of the year).
    assert written == KpiSnapshot.objects.count()
    assert KpiSnapshot.objects.get(
        scope=Scope.MANAGER, scope_id=manager.pk, month=D(2020, 7, 1)
    ).churned == (1)


def test_recompute_twice_gives_identical_rows(db):
    history_build(clients=60, years=2, seed=3, today=TODAY)

    first = kpi_snapshots_recompute(today=TODAY)
    before = stored()
    second = kpi_snapshots_recompute(today=TODAY)

    assert first == second == len(before)
    assert stored() == before


def test_recompute_of_some_months_keeps_the_numbers_and_the_other_rows(db):
    history_build(clients=60, years=2, seed=5, today=TODAY)
    kpi_snapshots_recompute(today=TODAY)
    before = stored()
    untouched = set(
        KpiSnapshot.objects.filter(month__lt=D(2026, 3, 1)).values_list("pk", "computed_at")
    )

    kpi_snapshots_recompute(month_from=D(2026, 3, 20), month_to=D(2026, 5, 1), today=TODAY)

    assert stored() == before
    assert untouched == set(
        KpiSnapshot.objects.filter(month__lt=D(2026, 3, 1)).values_list("pk", "computed_at")
    )


def test_recompute_refuses_months_out_of_order_and_writes_nothing(manager):
    ContractFactory(client=ClientFactory(manager=manager), starts_on=D(2024, 1, 1))
    kpi_snapshots_recompute(month_from=D(2024, 1, 1), month_to=D(2024, 2, 1))
    before = stored()

    with pytest.raises(ValidationError) as error:
        kpi_snapshots_recompute(month_from=D(2024, 3, 1), month_to=D(2024, 2, 1))

    assert "month_from" in error.value.message_dict
    assert stored() == before


def test_recompute_without_contracts_writes_the_current_month(db):
    assert kpi_snapshots_recompute(today=TODAY) == 1
    assert stored() == {(D(2026, 11, 1), Scope.DEPARTMENT, 0): figures()}


def test_history_is_read_in_five_queries_whatever_its_size(db, django_assert_num_queries):
    history_build(clients=10, years=2, seed=1, today=TODAY)
    with django_assert_num_queries(5):
        small = kpi_history_rows()
    history_build(clients=100, years=2, seed=2, today=TODAY)
    with django_assert_num_queries(5):
        large = kpi_history_rows()

    assert len(large.contracts) > len(small.contracts) > 10


def test_recompute_query_count_does_not_grow_with_the_clients(db):
    def queries_besides_inserts(clients: int, seed: int) -> int:
        history_build(clients=clients, years=2, seed=seed, today=TODAY)
        with CaptureQueriesContext(connection) as queries:
            kpi_snapshots_recompute(month_from=D(2026, 1, 1), month_to=D(2026, 6, 1))
        # The snapshot rows go in batches whose size the database sets; the rest is fixed.
        inserts = ('INSERT INTO "kpi_kpisnapshot"', 'INSERT INTO "kpi_referralsnapshot"')
        return sum(not q["sql"].startswith(inserts) for q in queries)

    # Ten for the KPIs, four for the referral figures (leads, their stages, calls, delete).
    assert queries_besides_inserts(20, seed=1) == queries_besides_inserts(200, seed=2) <= 14


# --- readers ------------------------------------------------------------------------------------


def test_kpi_summary_reads_live_base_and_the_months_snapshot(
    story, director, django_assert_num_queries
):
    kpi_snapshots_recompute(month_from=D(2024, 1, 1), month_to=D(2024, 5, 1))
    Goal.objects.create(
        start_clients=2,
        start_on=D(2024, 1, 1),
        target_clients=8,
        target_on=D(2025, 1, 1),
        created_by=director,
    )

    with django_assert_num_queries(3):
        summary = kpi_summary(D(2024, 5, 20))

    snapshot = KpiSnapshot.objects.get(scope=Scope.DEPARTMENT, month=D(2024, 5, 1))
    assert summary == {
        "as_of": D(2024, 5, 20),
        "month": D(2024, 5, 1),
        "computed_at": snapshot.computed_at,
        "base": 2,
        "mrr": Decimal("9000.00"),
        "annual_churn_rate": 0.0,  # Base(May 31 2023) = 0
        "annual_churn_rate_controllable": 0.0,
        "referrals_month": 0,
        "return_rate_12m": 1.0,
        "goal": {
            "target": 8,
            "target_on": D(2025, 1, 1),
            "start_clients": 2,
            "start_on": D(2024, 1, 1),
            "plan": 4,  # 2 × 4 ** (151 / 366) = 3.54
            "progress": 0.25,
        },
    }


def test_kpi_summary_in_february_counts_the_loss(story):
    kpi_snapshots_recompute(month_from=D(2024, 1, 1), month_to=D(2024, 5, 1))

    summary = kpi_summary(D(2024, 2, 16))

    assert (summary["base"], summary["mrr"]) == (1, Decimal("3000.00"))
    assert summary["goal"] is None


def test_kpi_summary_before_any_snapshot_is_zero(db):
    summary = kpi_summary(D(2024, 5, 20))

    assert summary["month"] is None
    assert (summary["base"], summary["mrr"], summary["annual_churn_rate"]) == (
        0,
        Decimal("0.00"),
        0.0,
    )


def test_kpi_series_and_latest_month(story, manager):
    kpi_snapshots_recompute(month_from=D(2024, 1, 1), month_to=D(2024, 5, 1))

    assert kpi_latest_month() == D(2024, 5, 1)
    series = kpi_series(
        scope=Scope.MANAGER, scope_id=manager.pk, month_from=D(2024, 2, 10), month_to=D(2024, 4, 1)
    )
    assert [(row.month, row.base_end) for row in series] == [
        (D(2024, 2, 1), 1),
        (D(2024, 3, 1), 1),
        (D(2024, 4, 1), 1),
    ]
