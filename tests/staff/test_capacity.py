"""The ramp factor and effective capacity (SPEC §15) and the spread rule (SPEC §3.6), worked by
hand, then the spread rule's properties over any loads and capacities."""

from __future__ import annotations

import datetime
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staff.capacity import effective_capacity, ramp_factor, spread_among, spread_plan

D = datetime.date


def person(*, hired_on=None, ramp_until=None, capacity=150, pk=1, full_name="Сотрудник"):
    return SimpleNamespace(
        hired_on=hired_on, ramp_until=ramp_until, capacity=capacity, pk=pk, full_name=full_name
    )


# --- ramp factor --------------------------------------------------------------------------------

# Hired on 1 March 2026, a trainee for 120 days until 29 June 2026.
TRAINEE = person(hired_on=D(2026, 3, 1), ramp_until=D(2026, 6, 29))


@pytest.mark.parametrize(
    ("day", "factor"),
    [
        (D(2026, 2, 28), Fraction(0)),  # before hired_on
        (D(2026, 3, 1), Fraction(0)),  # the first day: the ramp starts at 0
        (D(2026, 3, 31), Fraction(30, 120)),  # 30 of 120 days
        (D(2026, 4, 30), Fraction(1, 2)),  # 60 of 120 days
        (D(2026, 6, 28), Fraction(119, 120)),
        (D(2026, 6, 29), Fraction(1)),  # ramp_until
        (D(2027, 1, 1), Fraction(1)),
    ],
)
def test_ramp_factor_grows_linearly_from_the_hiring_day_to_ramp_until(day, factor):
    assert ramp_factor(TRAINEE, day) == factor


def test_without_ramp_until_the_factor_is_one_from_the_hiring_day():
    hired = person(hired_on=D(2026, 3, 1))

    assert ramp_factor(hired, D(2026, 2, 28)) == 0
    assert ramp_factor(hired, D(2026, 3, 1)) == 1


def test_without_a_hiring_date_the_person_counts_as_ramped():
    assert ramp_factor(person(), D(2026, 3, 1)) == 1
    assert ramp_factor(person(ramp_until=D(2026, 6, 29)), D(2026, 3, 1)) == 1


def test_a_ramp_that_ends_on_the_hiring_day_is_one_from_that_day():
    same_day = person(hired_on=D(2026, 3, 1), ramp_until=D(2026, 3, 1))

    assert ramp_factor(same_day, D(2026, 2, 28)) == 0
    assert ramp_factor(same_day, D(2026, 3, 1)) == 1


def test_effective_capacity_is_capacity_times_the_ramp_factor():
    assert effective_capacity(TRAINEE, D(2026, 4, 30)) == 75  # 150 × 1/2
    assert effective_capacity(TRAINEE, D(2026, 3, 31)) == Fraction(75, 2)  # 150 × 1/4
    assert effective_capacity(TRAINEE, D(2026, 2, 1)) == 0
    assert effective_capacity(person(capacity=60), D(2026, 4, 30)) == 60


# --- the spread rule, by hand -------------------------------------------------------------------


def loads_after(loads, plan):
    after = list(loads)
    for index in plan:
        after[index] += 1
    return after


def test_a_mentor_above_capacity_gets_nothing_while_managers_have_room():
    # The case from the issue: a mentor at 61 of 60 took 23 clients and ended at 84 of 60,
    # while two managers at 78 of 150 got none.
    loads, capacities = [61, 78, 78], [60, 150, 150]

    plan = spread_plan(loads, capacities, 23)

    assert 0 not in plan
    assert plan[:4] == [1, 2, 1, 2]  # equal managers alternate, the first of them first
    assert loads_after(loads, plan) == [61, 90, 89]


def test_the_least_loaded_relative_to_capacity_comes_first():
    # 45 of 60 is 75 %, 100 of 150 is 67 %: the one with more clients is relatively less loaded.
    plan = spread_plan([45, 100], [60, 150], 5)

    # 100→105 of 150 stays under 75 % (112.5), so all five go to the second.
    assert plan == [1, 1, 1, 1, 1]


def test_trainees_take_clients_by_their_ramp():
    # A senior of capacity 150 and a trainee at a third of the ramp (150 × 1/3 = 50), both empty:
    # eight clients split 6 : 2, as 150 : 50.
    plan = spread_plan([0, 0], [150, 50], 8)

    assert plan == [0, 1, 0, 0, 1, 0, 0, 0]
    assert loads_after([0, 0], plan) == [6, 2]


def test_nobody_goes_above_capacity_until_everyone_is_full():
    # Room for 2 with the first, 1 with the second; the fourth client is the first above.
    plan = spread_plan([8, 9], [10, 10], 4)

    assert plan[:3] == [0, 0, 1]  # 9 of 10 each after the first: a tie, the first
    assert loads_after([8, 9], plan[:3]) == [10, 10]
    assert plan[3] == 0  # both full at 10 of 10: a tie again


def test_when_everyone_is_full_the_least_relative_overload_comes_first():
    # 60 of 60 is 100 %, 160 of 150 is 107 %: the mentor takes clients while at or below 107 %
    # (64 of 60 ties with 160 of 150 and wins on the lower load).
    plan = spread_plan([60, 160], [60, 150], 6)

    assert plan == [0, 0, 0, 0, 0, 1]
    assert loads_after([60, 160], plan) == [65, 161]


def test_someone_not_hired_yet_takes_clients_only_when_everyone_else_is_gone():
    assert spread_plan([5, 0], [10, 0], 3) == [0, 0, 0]
    assert spread_plan([3, 1], [0, 0], 2) == [1, 1]  # nobody has capacity: the lower load


def test_a_trainee_just_hired_takes_only_what_the_ramp_allows():
    capacities = [effective_capacity(TRAINEE, D(2026, 3, 2)), 150]  # 150 × 1/120 = 1.25

    assert spread_plan([0, 140], capacities, 3) == [0, 1, 1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="nobody"):
        spread_plan([], [], 1)
    with pytest.raises(ValueError, match="negative"):
        spread_plan([1], [10], -1)
    with pytest.raises(ValueError, match="length"):
        spread_plan([1, 2], [10], 1)
    assert spread_plan([], [], 0) == []


def test_spread_among_people_breaks_ties_by_name_and_keeps_the_loads():
    boris = person(pk=7, full_name="Борис")
    anna = person(pk=9, full_name="Анна")
    loads = {7: 10, 9: 10}

    chosen = spread_among([boris, anna], 3, loads=loads, on=D(2026, 4, 30))

    assert [p.full_name for p in chosen] == ["Анна", "Борис", "Анна"]
    assert loads == {7: 11, 9: 12}


# --- properties ---------------------------------------------------------------------------------

candidates = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=300),
        st.fractions(min_value=0, max_value=300, max_denominator=120),
    ),
    min_size=1,
    max_size=8,
)


def has_room(load, capacity) -> bool:
    return load + 1 <= capacity


@given(candidates, st.integers(min_value=0, max_value=400))
def test_nobody_is_pushed_above_capacity_while_anyone_has_room(people, count):
    loads, capacities = [p[0] for p in people], [p[1] for p in people]
    current = list(loads)

    for index in spread_plan(loads, capacities, count):
        if any(has_room(load, cap) for load, cap in zip(current, capacities, strict=True)):
            assert has_room(current[index], capacities[index])
        current[index] += 1


@given(candidates, st.integers(min_value=0, max_value=400))
def test_every_client_goes_to_exactly_one_candidate(people, count):
    loads, capacities = [p[0] for p in people], [p[1] for p in people]

    plan = spread_plan(loads, capacities, count)

    assert len(plan) == count
    assert all(0 <= index < len(people) for index in plan)
    assert sum(loads_after(loads, plan)) == sum(loads) + count


@given(candidates, st.integers(min_value=0, max_value=400))
def test_the_same_input_gives_the_same_plan(people, count):
    loads, capacities = [p[0] for p in people], [p[1] for p in people]

    assert spread_plan(loads, capacities, count) == spread_plan(
        list(loads), list(capacities), count
    )


@given(candidates, st.integers(min_value=0, max_value=400))
def test_each_client_goes_to_the_lowest_relative_load_among_those_eligible(people, count):
    loads, capacities = [p[0] for p in people], [p[1] for p in people]
    current = list(loads)

    for index in spread_plan(loads, capacities, count):
        eligible = [
            i
            for i in range(len(people))
            if has_room(current[i], capacities[i])
            or not any(has_room(load, cap) for load, cap in zip(current, capacities, strict=True))
        ]
        ratio = {i: Fraction(current[i]) / capacities[i] for i in eligible if capacities[i] > 0}
        if ratio:
            assert ratio.get(index) == min(ratio.values())
        current[index] += 1
