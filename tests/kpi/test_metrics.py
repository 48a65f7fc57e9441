"""SPEC §4 business rules on hand-worked histories, and the engine against a day-by-day reference.

The engine is pure, so these tests call ``kpi.metrics`` on plain rows: no database.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.metrics import (
    FIGURES,
    HistoryRows,
    book_growth,
    churn_rate,
    claim_rate,
    conversion,
    free_month_rate,
    goal_monthly_growth,
    goal_plan,
    goal_plan_line,
    goal_progress,
    kpi_table,
    kpi_table_csv,
    month_first_day,
    month_number,
    return_rate,
)
from tests.kpi.reference import reference_table

D = datetime.date
FEES = (Decimal("1000.00"), Decimal("2500.50"), Decimal("7000.00"))


def table_of(rows: HistoryRows, month_from: D, month_to: D) -> dict[tuple, dict]:
    table = kpi_table(rows, month_from=month_from, month_to=month_to)
    return {
        (record["month"], record["scope"], record["scope_id"]): {
            name: record[name] for name in FIGURES
        }
        for record in table.to_dict("records")
    }


def figures(**nonzero) -> dict:
    return {**dict.fromkeys(FIGURES, 0), **nonzero}


def assert_identities(table: dict[tuple, dict]) -> None:
    for (_month, scope, _id), row in table.items():
        moves = row["transferred_in"] - row["transferred_out"]
        assert row["base_end"] == (
            row["base_start"] + row["new_clients"] + row["returned"] + moves - row["churned"]
        ), (_month, scope, _id)
        assert row["new_clients"] == (
            row["new_referral"] + row["new_active_sales"] + row["new_inbound"]
        )
        if scope == "department":
            assert moves == 0
            assert row["transferred_in"] == 0


# --- hand-worked scenarios --------------------------------------------------------------------


def test_loss_and_return_in_the_same_month():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), D(2024, 3, 10), Decimal("5000"), False),
            (1, D(2024, 3, 20), None, Decimal("5000"), False),
            (2, D(2023, 6, 1), None, Decimal("3000"), False),
        ],
        clients=[(1, "inbound", 10), (2, "referral", 10)],
        assignments=[(1, 10, None), (2, 10, None)],
        cases=[(10, "returned", D(2024, 3, 20))],
        groups=[(20, 20), (20, 10)],
    )

    table = table_of(rows, D(2024, 3, 1), D(2024, 3, 1))

    # Base(Mar 31 2023) = 1, so the year to March 2024 lost 1 of 1.
    expected = figures(
        base_start=2,
        base_end=2,
        returned=1,
        churned=1,
        churn_rate=0.5,
        churn_rate_controllable=0.5,
        annual_churn_rate=1.0,
        annual_churn_rate_controllable=1.0,
        cases_returned=1,
        return_rate=1.0,
        return_rate_12m=1.0,
        mrr_start=800_000,
        mrr_end=800_000,
    )
    assert table == {
        (D(2024, 3, 1), "department", 0): expected,
        (D(2024, 3, 1), "manager", 10): expected,
        (D(2024, 3, 1), "group", 20): expected,
    }


def test_natural_loss_is_churn_but_not_controllable_churn():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), D(2024, 2, 29), Decimal("4000"), True),  # merger: lost Mar 1
            (2, D(2023, 1, 1), D(2024, 3, 15), Decimal("6000"), False),  # competitor
            (3, D(2023, 1, 1), None, Decimal("2000"), False),
        ],
        clients=[(1, "inbound", 10), (2, "inbound", 10), (3, "inbound", 10)],
        assignments=[(1, 10, None), (2, 10, None), (3, 10, None)],
    )

    table = table_of(rows, D(2024, 2, 1), D(2024, 3, 1))

    assert table[(D(2024, 2, 1), "department", 0)] == figures(
        base_start=3, base_end=3, mrr_start=1_200_000, mrr_end=1_200_000
    )
    assert table[(D(2024, 3, 1), "department", 0)] == pytest.approx(
        figures(
            base_start=3,
            base_end=1,
            churned=2,
            churned_natural=1,
            churn_rate=2 / 3,
            churn_rate_controllable=1 / 3,
            annual_churn_rate=2 / 3,
            annual_churn_rate_controllable=1 / 3,
            mrr_start=1_200_000,
            mrr_end=200_000,
        )
    )


def test_natural_reason_of_a_fee_changed_contract_is_not_a_loss():
    # The first contract ends the day before the next starts: one run, no loss in June.
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), D(2023, 5, 31), Decimal("5000"), True),
            (1, D(2023, 6, 1), D(2023, 8, 15), Decimal("6000"), False),
        ],
        clients=[(1, "inbound", 10)],
        assignments=[(1, 10, None)],
    )

    table = table_of(rows, D(2023, 6, 1), D(2023, 8, 1))

    assert table[(D(2023, 6, 1), "department", 0)] == figures(
        base_start=1, base_end=1, mrr_start=500_000, mrr_end=600_000
    )
    assert table[(D(2023, 8, 1), "department", 0)] == figures(
        base_start=1,
        base_end=0,
        churned=1,
        churn_rate=1.0,
        churn_rate_controllable=1.0,
        mrr_start=600_000,
    )


def test_contract_gap_is_a_loss_then_a_returned_entry_and_fee_change_is_neither():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 10), D(2023, 5, 31), Decimal("5000"), False),
            (1, D(2023, 6, 1), D(2023, 8, 15), Decimal("6000"), False),  # new fee, no gap
            (1, D(2023, 10, 1), None, Decimal("6000"), False),  # after a gap
        ],
        clients=[(1, "active_sales", 10)],
        assignments=[(1, 10, None)],
    )

    table = table_of(rows, D(2023, 1, 1), D(2023, 10, 1))
    dept = {month: row for (month, scope, _id), row in table.items() if scope == "department"}

    assert dept[D(2023, 1, 1)] == figures(
        base_end=1, new_clients=1, new_active_sales=1, mrr_end=500_000
    )
    assert dept[D(2023, 6, 1)] == figures(
        base_start=1, base_end=1, mrr_start=500_000, mrr_end=600_000
    )
    # Base(Aug 31 2022) = 0: the annual rate has no denominator yet.
    assert dept[D(2023, 8, 1)] == figures(
        base_start=1,
        churned=1,
        churn_rate=1.0,
        churn_rate_controllable=1.0,
        mrr_start=600_000,
    )
    assert dept[D(2023, 9, 1)] == figures()
    assert dept[D(2023, 10, 1)] == figures(base_end=1, returned=1, mrr_end=600_000)
    assert sum(row["churned"] for row in dept.values()) == 1
    assert table[(D(2023, 10, 1), "manager", 10)] == dept[D(2023, 10, 1)]
    assert (D(2023, 9, 1), "manager", 10) not in table  # nothing to show: no row


def test_a_month_with_an_empty_base_has_zero_rates():
    rows = HistoryRows(
        contracts=[(1, D(2024, 2, 5), D(2024, 2, 20), Decimal("1000"), False)],
        clients=[(1, "referral", 10)],
        assignments=[(1, 10, None)],
        cases=[(10, "declined", D(2024, 2, 28))],
    )

    table = table_of(rows, D(2024, 1, 1), D(2024, 2, 1))

    assert table[(D(2024, 1, 1), "department", 0)] == figures()
    assert table[(D(2024, 2, 1), "department", 0)] == figures(
        new_clients=1, new_referral=1, churned=1, cases_declined=1
    )
    assert table[(D(2024, 2, 1), "manager", 10)] == figures(
        new_clients=1, new_referral=1, churned=1, cases_declined=1
    )


def test_reassignment_of_an_active_client_is_a_transfer_not_churn():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), None, Decimal("5000"), False),
            (2, D(2023, 1, 1), D(2024, 1, 31), Decimal("2000"), False),  # lost Feb 1
        ],
        clients=[(1, "inbound", 11), (2, "inbound", 11)],
        assignments=[
            (1, 10, None),
            (1, 11, D(2024, 4, 15)),
            (2, 10, None),
            (2, 11, D(2024, 4, 20)),  # not in the base: no transfer
        ],
        groups=[(20, 20), (20, 10), (21, 21), (21, 11)],
    )

    table = table_of(rows, D(2024, 4, 1), D(2024, 4, 1))

    # The year to April 2024 lost client 2 of the 2 in the base on Apr 30 2023.
    april = D(2024, 4, 1)
    assert table[(april, "department", 0)] == figures(
        base_start=1,
        base_end=1,
        annual_churn_rate=0.5,
        annual_churn_rate_controllable=0.5,
        mrr_start=500_000,
        mrr_end=500_000,
    )
    losing = figures(
        base_start=1,
        transferred_out=1,
        annual_churn_rate=0.5,
        annual_churn_rate_controllable=0.5,
        mrr_start=500_000,
    )
    gaining = figures(base_end=1, transferred_in=1, mrr_end=500_000)
    assert table[(april, "manager", 10)] == losing
    assert table[(april, "manager", 11)] == gaining
    assert table[(april, "group", 20)] == losing
    assert table[(april, "group", 21)] == gaining


def test_client_back_by_itself_to_a_new_manager_is_that_managers_returned():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), D(2024, 2, 10), Decimal("5000"), False),
            (1, D(2024, 4, 1), None, Decimal("5500"), False),
        ],
        clients=[(1, "inbound", 11)],
        assignments=[(1, 10, None), (1, 11, D(2024, 4, 1))],
        cases=[(10, "returned", D(2024, 4, 1))],
    )

    table = table_of(rows, D(2024, 2, 1), D(2024, 4, 1))

    assert table[(D(2024, 2, 1), "manager", 10)] == figures(
        base_start=1,
        churned=1,
        churn_rate=1.0,
        churn_rate_controllable=1.0,
        annual_churn_rate=1.0,
        annual_churn_rate_controllable=1.0,
        mrr_start=500_000,
    )
    # The case is counted for the manager who lost the client (lost_by).
    assert table[(D(2024, 4, 1), "manager", 10)] == figures(
        cases_returned=1,
        return_rate=1.0,
        return_rate_12m=1.0,
        annual_churn_rate=1.0,
        annual_churn_rate_controllable=1.0,
    )
    assert table[(D(2024, 4, 1), "manager", 11)] == figures(base_end=1, returned=1, mrr_end=550_000)
    assert table[(D(2024, 4, 1), "department", 0)] == figures(
        base_end=1,
        returned=1,
        cases_returned=1,
        return_rate=1.0,
        return_rate_12m=1.0,
        annual_churn_rate=1.0,
        annual_churn_rate_controllable=1.0,
        mrr_end=550_000,
    )
    assert (D(2024, 3, 1), "manager", 11) not in table


def test_client_entered_with_years_of_past_contracts_credits_its_first_manager():
    rows = HistoryRows(
        contracts=[
            (1, D(2019, 3, 1), D(2020, 6, 30), Decimal("3000"), False),
            (1, D(2021, 1, 1), None, Decimal("3500"), False),
        ],
        clients=[(1, "inbound", 11)],
        assignments=[(1, 11, None)],  # entered in the CRM years later
    )

    table = table_of(rows, D(2019, 3, 1), D(2021, 1, 1))

    for scope, scope_id in (("department", 0), ("manager", 11)):
        assert table[(D(2019, 3, 1), scope, scope_id)] == figures(
            base_end=1, new_clients=1, new_inbound=1, mrr_end=300_000
        )
        assert table[(D(2020, 7, 1), scope, scope_id)] == figures(
            base_start=1,
            churned=1,
            churn_rate=1.0,
            churn_rate_controllable=1.0,
            annual_churn_rate=1.0,  # Base(Jul 31 2019) = 1
            annual_churn_rate_controllable=1.0,
            mrr_start=300_000,
        )
        assert table[(D(2021, 1, 1), scope, scope_id)] == figures(
            base_end=1,
            returned=1,
            annual_churn_rate=1.0,  # lost in Jul 2020 of Base(Jan 31 2020) = 1
            annual_churn_rate_controllable=1.0,
            mrr_end=350_000,
        )


def test_open_ended_and_future_dated_contracts_stay_in_the_base():
    rows = HistoryRows(
        contracts=[
            (1, D(2020, 1, 1), None, Decimal("1000"), False),
            (2, D(2020, 1, 1), D(2030, 12, 31), Decimal("2000.50"), False),
        ],
        clients=[(1, "inbound", 10), (2, "inbound", 10)],
        assignments=[(1, 10, None), (2, 10, None)],
    )

    table = table_of(rows, D(2024, 1, 1), D(2024, 12, 1))

    for month in (D(2024, 1, 1), D(2024, 12, 1)):
        assert table[(month, "department", 0)] == figures(
            base_start=2, base_end=2, mrr_start=300_050, mrr_end=300_050
        )


def test_return_rate_counts_cases_by_closing_month_and_lost_by():
    rows = HistoryRows(
        cases=[
            (10, "declined", D(2024, 3, 5)),
            (10, "returned", D(2024, 3, 25)),
            (11, "declined", D(2024, 3, 31)),
            (None, "declined", D(2024, 3, 10)),
            (10, "declined", D(2023, 12, 1)),
            (10, "returned", D(2023, 3, 31)),  # more than 12 months before March 2024
        ],
        groups=[(20, 20), (20, 10), (20, 11)],
    )

    table = table_of(rows, D(2024, 3, 1), D(2024, 3, 1))

    march = D(2024, 3, 1)
    assert table[(march, "department", 0)] == figures(
        cases_returned=1, cases_declined=3, return_rate=0.25, return_rate_12m=0.2
    )
    assert table[(march, "manager", 10)] == pytest.approx(
        figures(cases_returned=1, cases_declined=1, return_rate=0.5, return_rate_12m=1 / 3)
    )
    assert table[(march, "manager", 11)] == figures(cases_declined=1)
    assert table[(march, "group", 20)] == figures(
        cases_returned=1, cases_declined=2, return_rate=1 / 3, return_rate_12m=0.25
    )


def test_group_sums_its_current_members_mentor_included():
    rows = HistoryRows(
        contracts=[
            (1, D(2024, 1, 10), None, Decimal("1000"), False),
            (2, D(2024, 1, 10), None, Decimal("2000"), False),
            (3, D(2024, 1, 10), None, Decimal("4000"), False),
        ],
        clients=[(1, "inbound", 20), (2, "referral", 10), (3, "inbound", 11)],
        assignments=[(1, 20, None), (2, 10, None), (3, 11, None)],
        groups=[(20, 20), (20, 10), (21, 21), (21, 11)],
    )

    table = table_of(rows, D(2024, 1, 1), D(2024, 1, 1))

    assert table[(D(2024, 1, 1), "group", 20)] == figures(
        base_end=2, new_clients=2, new_inbound=1, new_referral=1, mrr_end=300_000
    )
    assert table[(D(2024, 1, 1), "group", 21)] == figures(
        base_end=1, new_clients=1, new_inbound=1, mrr_end=400_000
    )


def test_client_without_assignment_rows_counts_for_its_current_manager():
    rows = HistoryRows(
        contracts=[(1, D(2024, 1, 10), None, Decimal("1000"), False)],
        clients=[(1, "inbound", 10)],
    )

    table = table_of(rows, D(2024, 1, 1), D(2024, 1, 1))

    assert table[(D(2024, 1, 1), "manager", 10)] == figures(
        base_end=1, new_clients=1, new_inbound=1, mrr_end=100_000
    )


def test_empty_history_gives_a_zero_department_row_per_month():
    table = table_of(HistoryRows(), D(2024, 1, 1), D(2024, 3, 1))

    assert table == {(D(2024, m, 1), "department", 0): figures() for m in (1, 2, 3)}


def test_months_out_of_order_are_refused():
    with pytest.raises(ValueError, match="before"):
        kpi_table(HistoryRows(), month_from=D(2024, 3, 1), month_to=D(2024, 2, 1))


# --- goal -----------------------------------------------------------------------------------


class _Goal:
    start_clients = 1500
    target_clients = 6000
    start_on = D(2024, 1, 1)
    target_on = D(2027, 1, 1)


def test_goal_plan_grows_geometrically_from_start_to_target():
    goal = _Goal()

    assert goal_plan(goal, D(2023, 6, 1)) == 1500
    assert goal_plan(goal, D(2024, 1, 1)) == 1500
    # Half the days: ×2 (4 ** 0.5).
    assert goal_plan(goal, D(2025, 7, 2)) == 3000
    assert goal_plan(goal, D(2027, 1, 1)) == 6000
    assert goal_plan(goal, D(2030, 1, 1)) == 6000
    assert goal_plan_line(goal, [D(2024, 1, 1), D(2024, 2, 1)]) == [1558, 1616]


def test_goal_plan_line_takes_each_month_at_its_last_day():
    goal = _Goal()

    # 29 February in a leap year, 28 February otherwise: the plan of the month's last day.
    assert goal_plan_line(goal, [D(2024, 2, 10)]) == [goal_plan(goal, D(2024, 2, 29))]
    assert goal_plan_line(goal, [D(2025, 2, 1)]) == [goal_plan(goal, D(2025, 2, 28))]


def test_goal_grows_about_four_percent_a_month_for_four_times_in_three_years():
    assert round(goal_monthly_growth(_Goal()), 4) == 0.0393


def test_goal_progress_is_the_base_over_the_target():
    assert goal_progress(3000, _Goal()) == 0.5
    assert goal_progress(7200, _Goal()) == 1.2


# --- rates over a period and of the return funnel -------------------------------------------


def test_period_rates_divide_the_summed_counts():
    assert churn_rate(6, 120) == 0.05
    assert return_rate(3, 1) == 0.75
    assert return_rate(0, 4) == 0.0
    # A book of 100 that gained 30 of its own and was handed 5 and handed over 2.
    assert book_growth(100, 133, transferred_in=5, transferred_out=2) == 0.3
    assert book_growth(100, 90) == -0.1


def test_funnel_rates_follow_the_stages():
    assert claim_rate(3, 4) == 0.75
    assert free_month_rate(1, 3) == 1 / 3
    assert conversion(2, 4) == 0.5


@pytest.mark.parametrize(
    "figure",
    [
        lambda: churn_rate(5, 0),
        lambda: return_rate(0, 0),
        lambda: book_growth(0, 12, transferred_in=12),
        lambda: claim_rate(0, 0),
        lambda: free_month_rate(0, 0),
        lambda: conversion(0, 0),
    ],
)
def test_rates_without_a_denominator_are_no_figure_not_zero(figure):
    # The page shows "—": no closed case is not a return rate of 0 %.
    assert figure() is None


def test_month_numbers_count_from_january_1970_like_numpy():
    assert month_number(D(1970, 1, 31)) == 0
    assert month_number(D(2026, 11, 15)) == 682
    assert month_first_day(682) == D(2026, 11, 1)
    assert month_first_day(-1) == D(1969, 12, 1)


# --- against the reference --------------------------------------------------------------------

START = D(2022, 1, 1)
MANAGERS = (101, 102, 103, 201)
GROUPS = [(201, 201), (201, 101), (201, 102), (202, 202), (202, 103)]


@st.composite
def histories(draw):
    """Random but valid histories: paid contracts never overlap, gaps of 0 days are fee changes,
    the first assignment starts on null and each next one starts the day after the last ends."""
    contracts, clients, periods, cases = [], [], [], []
    for client in range(1, draw(st.integers(1, 6)) + 1):
        clients.append((client, draw(st.sampled_from(["referral", "active_sales", "inbound"])), 0))
        day = START + datetime.timedelta(days=draw(st.integers(0, 700)))
        first_contract = len(contracts)
        for n in range(draw(st.integers(0, 4))):
            ends_on = None
            if n == 3 or draw(st.integers(0, 4)) > 0:
                ends_on = day + datetime.timedelta(days=draw(st.integers(0, 300)))
            natural = ends_on is not None and draw(st.booleans())
            contracts.append((client, day, ends_on, draw(st.sampled_from(FEES)), natural))
            if ends_on is None:
                break
            gap = draw(st.sampled_from([0, 0, 1, 2, 20, 90]))
            day = ends_on + datetime.timedelta(days=1 + gap)
        # Reassignments on random days and on the days the client enters or leaves the base.
        edges = [START + datetime.timedelta(days=400)]
        for _client, starts_on, ends_on, _fee, _natural in contracts[first_contract:]:
            edges.append(starts_on)
            if ends_on is not None:
                edges += [ends_on, ends_on + datetime.timedelta(days=1)]
        some_day = st.integers(1, 1400).map(lambda d: START + datetime.timedelta(days=d))
        move_days = draw(st.lists(st.one_of(some_day, st.sampled_from(edges)), max_size=3))
        move_days = sorted(set(move_days))
        managers = [draw(st.sampled_from(MANAGERS)) for _ in range(len(move_days) + 1)]
        starts = [None, *move_days]
        for i, manager in enumerate(managers):
            ends_on = starts[i + 1] - datetime.timedelta(days=1) if i + 1 < len(starts) else None
            periods.append((client, manager, starts[i], ends_on))
    for _ in range(draw(st.integers(0, 4))):
        cases.append(
            (
                draw(st.sampled_from((*MANAGERS, None))),
                draw(st.sampled_from(["returned", "declined"])),
                START + datetime.timedelta(days=draw(st.integers(0, 1300))),
            )
        )
    return contracts, clients, periods, cases


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_engine_agrees_with_the_day_by_day_reference(history):
    contracts, clients, periods, cases = history
    rows = HistoryRows(
        contracts=contracts,
        clients=clients,
        assignments=[(client, manager, starts_on) for client, manager, starts_on, _ in periods],
        cases=cases,
        groups=GROUPS,
    )
    month_from, month_to = D(2022, 7, 1), D(2025, 6, 1)

    engine = table_of(rows, month_from, month_to)
    reference = reference_table(
        contracts=contracts,
        clients=clients,
        periods=periods,
        cases=cases,
        groups=GROUPS,
        month_from=month_from,
        month_to=month_to,
    )

    assert engine.keys() == reference.keys()
    for key, row in reference.items():
        assert engine[key] == pytest.approx(row), key
    assert_identities(engine)


def test_csv_for_copy_has_money_in_roubles_and_exact_floats():
    rows = HistoryRows(
        contracts=[
            (1, D(2023, 1, 1), None, Decimal("2500.50"), False),
            (2, D(2023, 1, 1), None, Decimal("1000.05"), False),
            (3, D(2023, 1, 1), D(2024, 1, 10), Decimal("1000"), False),
        ],
        clients=[(1, "inbound", 10), (2, "inbound", 10), (3, "inbound", 10)],
        assignments=[(1, 10, None), (2, 10, None), (3, 10, None)],
    )
    table = kpi_table(rows, month_from=D(2024, 1, 1), month_to=D(2024, 1, 1))

    lines = kpi_table_csv(table, suffix=",2024-02-01T00:00:00+00:00").splitlines()

    assert lines[0] == (
        "2024-01-01,department,0,3,2,0,0,0,0,0,1,0,0,0,0,0,"
        f"{1 / 3!r},{1 / 3!r},{1 / 3!r},{1 / 3!r},0.0,0.0,"
        "4500.55,3500.55,2024-02-01T00:00:00+00:00"
    )
    assert [line.split(",")[1:3] for line in lines] == [
        ["department", "0"],
        ["manager", "10"],
    ]
