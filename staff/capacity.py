"""How many clients a person can serve, and how a batch of clients is spread over people
(SPEC §3.6, §15, §16).

``ramp_factor`` and ``effective_capacity`` are the one definition of a trainee's share that plans,
the capacity forecast and every spread of clients use. ``spread_plan`` is the spread rule itself, a
pure function over numbers; ``spread_among`` applies it to people.
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import MutableMapping, Sequence
from fractions import Fraction
from typing import Protocol


class Staffed(Protocol):
    hired_on: datetime.date | None
    ramp_until: datetime.date | None
    capacity: int


def ramp_factor(user: Staffed, on: datetime.date) -> Fraction:
    """SPEC §15: 0 before ``hired_on``, growing linearly from 0 on ``hired_on`` to 1 on
    ``ramp_until``, and 1 from then on. Someone with no ``ramp_until`` is 1 from ``hired_on``.

    Without a hiring date the ramp has no start to measure from, so the person counts as fully
    ramped (people entered without one have served for years)."""
    hired_on, ramp_until = user.hired_on, user.ramp_until
    if hired_on is not None and on < hired_on:
        return Fraction(0)
    if ramp_until is None or hired_on is None or on >= ramp_until:
        return Fraction(1)
    return Fraction((on - hired_on).days, (ramp_until - hired_on).days)


def effective_capacity(user: Staffed, on: datetime.date) -> Fraction:
    """``capacity × ramp factor`` on ``on``: the clients a trainee can serve so far."""
    return user.capacity * ramp_factor(user, on)


def _priority(load: int, capacity: Fraction, index: int) -> tuple:
    """Heap order of the spread rule: people with room for one more client before everyone else;
    then the lowest load relative to effective capacity; then the lower load; then the order given.
    Someone with no capacity at all (not hired yet) comes after everyone who has some."""
    if capacity > 0:
        return (load + 1 > capacity, 0, Fraction(load) / capacity, load, index)
    return (True, 1, Fraction(0), load, index)


def spread_plan(
    loads: Sequence[int], capacities: Sequence[Fraction | int], count: int
) -> list[int]:
    """SPEC §3.6 "spread evenly": who takes each of ``count`` clients, as indexes into
    ``loads``/``capacities`` (current load and effective capacity of each candidate).

    Each client in turn goes to the candidate with the lowest load / effective capacity among
    those who still have room for it (load + 1 ≤ capacity); only when nobody has room does it go
    above capacity, again to the lowest relative load (the least relative overload). Ties go to
    the lower load, then to the earlier candidate, so the same input always gives the same plan.
    """
    if len(loads) != len(capacities):
        raise ValueError("loads and capacities differ in length")
    if count < 0 or any(load < 0 for load in loads) or any(c < 0 for c in capacities):
        raise ValueError("counts and capacities cannot be negative")
    if count and not loads:
        raise ValueError("nobody to spread the clients over")
    current = list(loads)
    limits = [Fraction(c) for c in capacities]
    heap = [_priority(load, limits[i], i) for i, load in enumerate(current)]
    heapq.heapify(heap)
    plan = []
    for _ in range(count):
        index = heap[0][-1]
        plan.append(index)
        current[index] += 1
        heapq.heapreplace(heap, _priority(current[index], limits[index], index))
    return plan


def spread_among(
    people: Sequence, count: int, *, loads: MutableMapping[int, int], on: datetime.date
) -> list:
    """``spread_plan`` over people: who takes each of ``count`` clients, given each person's
    current load by id in ``loads`` (updated in place, so several batches can share it) and their
    effective capacity on ``on``. Ties go by name, then id."""
    ordered = sorted(people, key=lambda person: (person.full_name, person.pk))
    plan = spread_plan(
        [loads[person.pk] for person in ordered],
        [effective_capacity(person, on) for person in ordered],
        count,
    )
    chosen = [ordered[index] for index in plan]
    for person in chosen:
        loads[person.pk] += 1
    return chosen
