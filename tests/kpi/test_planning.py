"""The growth planner's arithmetic (SPEC §16), against closed forms and hand-worked months:
the recurrence, the month the target is reached, the referral solver, the customer's targets,
the defaults from a year of snapshots, the capacity of a team with a trainee and the hiring table."""

from __future__ import annotations

import datetime
from dataclasses import replace
from fractions import Fraction
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kpi.planning import (
    PlannerInputs,
    base_at,
    customer_targets,
    defaults_from_history,
    hiring_plan,
    inputs_check,
    month_reached,
    monthly_rate,
    project,
    required_referrals,
    team_capacity,
)
from staff.capacity import effective_capacity


def inputs(**values) -> PlannerInputs:
    base = {
        "base": 1000,
        "churn_controllable": 0.0,
        "churn_natural": 0.0,
        "referrals_per_100": 0.0,
        "active_sales": 0.0,
        "inbound": 0.0,
        "return_rate": 0.0,
        "fee": 10_000.0,
        "horizon": 36,
        "target": 6000,
        "target_month": 36,
    }
    return PlannerInputs(**{**base, **values})


# --- the recurrence -----------------------------------------------------------------------------


@given(
    base=st.integers(min_value=0, max_value=100_000),
    sales=st.integers(min_value=0, max_value=500),
    inbound=st.integers(min_value=0, max_value=500),
    horizon=st.integers(min_value=1, max_value=120),
)
def test_without_churn_or_referrals_the_base_grows_by_the_same_clients_every_month(
    base, sales, inbound, horizon
):
    """SPEC §16's first closed form: c = n = w = 0 and constant new k give B(m) = B0 + m·k."""
    points = project(inputs(base=base, active_sales=sales, inbound=inbound, horizon=horizon))
    assert [p.base for p in points] == [base + m * (sales + inbound) for m in range(1, horizon + 1)]
    assert points[-1].mrr == points[-1].base * 10_000


@given(
    controllable=st.floats(min_value=0, max_value=0.5),
    natural=st.floats(min_value=0, max_value=0.5),
    month=st.integers(min_value=1, max_value=120),
)
def test_with_churn_only_the_base_decays_geometrically(controllable, natural, month):
    """The second closed form: only churn gives B(m) = B0·(1 − c − n)^m."""
    planned = inputs(churn_controllable=controllable, churn_natural=natural, horizon=month)
    assert base_at(planned, month) == pytest.approx(
        1000 * (1 - controllable - natural) ** month, rel=1e-9, abs=1e-9
    )


def test_lost_clients_come_back_two_months_after_they_were_lost():
    """Hand-worked: 1,000 clients, 10 % controllable churn, half of the lost won back.
    m1: −100 → 900; m2: −90 → 810; m3: −81 + 50 (half of m1's 100) → 779;
    m4: −77.9 + 45 (half of m2's 90) → 746.1."""
    points = project(inputs(churn_controllable=0.1, return_rate=0.5, horizon=4))
    assert [p.returned for p in points] == [0, 0, 50, 45]
    assert [p.lost_controllable for p in points] == pytest.approx([100, 90, 81, 77.9])
    assert [p.base for p in points] == pytest.approx([900, 810, 779, 746.1])


def test_referrals_are_per_hundred_clients_of_last_months_base():
    """1,000 clients, 2 referrals per 100, 1 % churn: m1 1000 + 20 − 10 = 1010; m2 ×1.01."""
    points = project(inputs(referrals_per_100=2, churn_controllable=0.01, horizon=2))
    assert [p.new for p in points] == pytest.approx([20, 20.2])
    assert [p.base for p in points] == pytest.approx([1010, 1020.1])


def test_the_target_month_is_the_first_month_at_or_above_it():
    points = project(inputs(active_sales=100, horizon=12))  # 1100, 1200, …
    assert month_reached(points, 1500) == 5
    assert month_reached(points, 1501) == 6
    assert month_reached(points, 2201) is None  # "not within 12 months"


# --- the solver ---------------------------------------------------------------------------------


def test_the_solver_finds_the_referral_rate_to_a_hundredth():
    """Referrals alone double 1,000 clients in 12 months at r = 100·(2^(1/12) − 1) = 5.946…:
    the answer is 5.95, which reaches 2,000 by month 12, and 5.94 does not."""
    planned = inputs(target=2000, target_month=12)
    rate = required_referrals(planned)
    assert rate == 5.95
    assert base_at(replace(planned, referrals_per_100=5.95), 12) >= 2000
    assert base_at(replace(planned, referrals_per_100=5.94), 12) < 2000


def test_the_solver_says_zero_when_the_target_comes_without_referrals():
    assert required_referrals(inputs(active_sales=100, target=1100, target_month=1)) == 0.0


def test_the_solver_says_none_when_referrals_cannot_reach_the_target():
    """With the whole base lost every month, even 100 referrals per 100 clients only keep it."""
    planned = inputs(churn_controllable=0.6, churn_natural=0.4, target=2000, target_month=12)
    assert required_referrals(planned) is None


def test_the_customers_targets_scenario():
    """Churn 5 % a year in all (natural kept as it is), 100 referral clients a month at today's
    base of 1,500 (6.67 per 100), 70 % of lost clients won back."""
    today = inputs(base=1500, churn_controllable=0.02, churn_natural=0.001, return_rate=0.4)
    target = customer_targets(today)
    assert monthly_rate(0.05) == pytest.approx(0.0042653, abs=1e-7)
    assert 1 - (1 - monthly_rate(0.05)) ** 12 == pytest.approx(0.05)
    assert target.churn_natural == 0.001
    assert target.churn_controllable == pytest.approx(monthly_rate(0.05) - 0.001)
    assert target.referrals_per_100 == pytest.approx(100 * 100 / 1500)
    assert target.return_rate == 0.7
    assert (target.base, target.active_sales, target.fee) == (1500, 0.0, 10_000.0)


# --- defaults from history ----------------------------------------------------------------------


def _month(number, **figures):
    row = {
        "month": datetime.date(2026, number, 1),
        "base_start": 1000,
        "base_end": 1000,
        "new_referral": 30,
        "new_active_sales": 4,
        "new_inbound": 2,
        "churn_rate": 0.015,
        "churn_rate_controllable": 0.01,
        "cases_returned": 4,
        "cases_declined": 6,
        "mrr_end": 9_000_000,
    }
    row.update(figures)
    return row


def test_defaults_are_the_means_of_the_last_twelve_months():
    """Twelve hand-made months: controllable churn 1 % in six and 2 % in six (mean 1.5 %), natural
    0.5 % throughout; 30 referrals per 1,000 at the start except one month of 1,500 (2 per 100):
    (11·3 + 2) / 12; sales 4 and 8 alternating (mean 6); inbound 2; cases 4 won of 10 closed
    each month except one with 20 of 20: 64 / 130; the last month ends with 1,200 clients
    paying 10,800,000 ₽, 9,000 ₽ each."""
    months = [
        _month(
            number,
            churn_rate=(0.01 if number <= 6 else 0.02) + 0.005,
            churn_rate_controllable=0.01 if number <= 6 else 0.02,
            new_active_sales=4 if number % 2 else 8,
        )
        for number in range(1, 13)
    ]
    months[4].update(base_start=1500)
    months[7].update(cases_returned=20, cases_declined=0)
    months[11].update(base_end=1200, mrr_end=10_800_000)
    defaults = defaults_from_history(months, target=6000, target_month=37, horizon=37)
    assert defaults.base == 1200
    assert defaults.churn_controllable == pytest.approx(0.015)
    assert defaults.churn_natural == pytest.approx(0.005)
    assert defaults.referrals_per_100 == pytest.approx((11 * 3 + 2) / 12)
    assert defaults.active_sales == 6
    assert defaults.inbound == 2
    assert defaults.return_rate == pytest.approx(64 / 130)
    assert defaults.fee == 9000
    assert (defaults.horizon, defaults.target, defaults.target_month) == (37, 6000, 37)


def test_without_history_every_default_is_zero():
    defaults = defaults_from_history([], target=1, target_month=36)
    assert defaults.base == 0
    assert defaults.churn_controllable == defaults.referrals_per_100 == defaults.fee == 0


# --- capacity and hiring ------------------------------------------------------------------------


def person(capacity=150, hired_on=None, ramp_until=None):
    return SimpleNamespace(capacity=capacity, hired_on=hired_on, ramp_until=ramp_until)


def test_a_team_provides_its_ramped_capacity_in_client_manager_equivalents():
    """A full client manager counts 1; a trainee hired on 1 November with 120 days to ramp counts
    61/120 on 31 December and 1 from 1 March; a mentor's own book of 60 counts 60/150; someone
    hired later counts nothing yet."""
    team = [
        person(),
        person(hired_on=datetime.date(2026, 11, 1), ramp_until=datetime.date(2027, 3, 1)),
        person(capacity=60),
        person(hired_on=datetime.date(2027, 2, 1), ramp_until=datetime.date(2027, 6, 1)),
    ]
    days = [datetime.date(2026, 12, 31), datetime.date(2027, 3, 31)]
    assert team_capacity(team, days) == [
        Fraction(1) + Fraction(60, 120) + Fraction(2, 5),
        Fraction(1) + Fraction(1) + Fraction(2, 5) + Fraction(58, 120),
    ]


def test_the_hiring_table_of_a_growing_base():
    """Ten full client managers and two mentors; the base grows 1,400 → 2,100 over six months;
    three months to ramp up. Needed: 10, 10, 11, 12, 13, 14; shortfall 0, 0, 1, 2, 3, 4.
    Hires must start three months before each shortfall: by month 1 enough for months 1–4 (2,
    one of them already late: month 3's shortfall has its hire-by month 0), one more in month 2
    (for month 5) and in month 3 (for month 6). Mentors: one per five client managers."""
    plan = hiring_plan(
        [1400, 1500, 1650, 1800, 1950, 2100], [10] * 6, managers=10, mentors=2, ramp_months=3
    )
    assert [row.needed for row in plan.rows] == [10, 10, 11, 12, 13, 14]
    assert [row.shortfall for row in plan.rows] == [0, 0, 1, 2, 3, 4]
    assert [row.hires for row in plan.rows] == [2, 1, 1, 0, 0, 0]
    assert [row.mentors_needed for row in plan.rows] == [3, 3, 3, 3, 3, 3]
    assert [row.mentors_missing for row in plan.rows] == [1, 1, 1, 1, 1, 1]
    assert (plan.hires_due, plan.hires_late, plan.first_shortfall) == (2, 1, 3)
    assert [row.requests for row in plan.rows] == [None] * 6


def test_a_team_with_room_needs_nobody_and_a_trainee_closes_a_gap_as_she_ramps_up():
    plan = hiring_plan([1500, 1500, 1500], [Fraction(19, 2), 10, 10], managers=10, mentors=2)
    assert [row.shortfall for row in plan.rows] == [1, 0, 0]
    assert plan.hires_due == 1
    assert plan.hires_late == 1
    roomy = hiring_plan([1000] * 12, [10] * 12, managers=10, mentors=2, requests_per_client=0.1)
    assert (roomy.hires_due, roomy.first_shortfall) == (0, None)
    assert sum(row.hires for row in roomy.rows) == 0
    assert roomy.rows[0].requests == pytest.approx(100)


# --- bad input ----------------------------------------------------------------------------------


def test_every_out_of_range_input_is_named():
    values = inputs().as_dict()
    values.update(
        churn_controllable=1.5,
        return_rate=-0.1,
        active_sales=-1,
        horizon=121,
        target=2.5,
        fee="много",
        base=float("nan"),
    )
    with pytest.raises(ValidationError) as caught:
        inputs_check(values)
    assert set(caught.value.message_dict) == {
        "churn_controllable",
        "return_rate",
        "active_sales",
        "horizon",
        "target",
        "fee",
        "base",
    }


def test_churn_above_the_whole_base_is_refused_on_the_natural_rate():
    values = inputs(churn_controllable=0.6, churn_natural=0.5).as_dict()
    with pytest.raises(ValidationError) as caught:
        inputs_check(values)
    assert list(caught.value.message_dict) == ["churn_natural"]
    assert inputs_check(inputs(churn_controllable=0.6, churn_natural=0.4).as_dict()).horizon == 36


_DAY = st.dates(min_value=datetime.date(2024, 1, 1), max_value=datetime.date(2028, 12, 31))


@given(
    team=st.lists(st.tuples(st.integers(0, 300), st.none() | _DAY, st.none() | _DAY), max_size=12),
    days=st.lists(_DAY, min_size=1, max_size=6),
)
def test_team_capacity_is_the_sum_of_everyones_effective_capacity(team, days):
    """Adding the fully ramped once is only a shortcut: the sum over every person and day."""
    members = [
        person(capacity=cap, hired_on=hired, ramp_until=until)
        for cap, hired, until in team
        if hired is None or until is None or until > hired
    ]
    assert team_capacity(members, days) == [
        sum((effective_capacity(m, day) for m in members), Fraction(0)) / 150 for day in days
    ]
