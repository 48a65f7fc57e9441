"""The demo company's one source of chance.

Everything random in the demo comes from one ``Draws`` seeded with ``--seed`` and consumed in a
fixed order (the simulation first, then the rows drawn while writing), so the same seed and the
same day give the same company. Iterate only over ordered collections (lists, dicts) between
draws: a set's order would change the sequence.
"""

from __future__ import annotations

import datetime
import heapq
import random
from collections.abc import Iterable, Sequence


class Draws(random.Random):
    """``random.Random`` (same sequence for the same seed) with the draws the demo makes."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.carry: dict[str, float] = {}

    def days(self, low: int, high: int) -> datetime.timedelta:
        return datetime.timedelta(days=self.randint(low, high))

    def day_in(self, first: datetime.date, last: datetime.date) -> datetime.date:
        return first + datetime.timedelta(days=self.randint(0, (last - first).days))

    def weighted(self, pairs: Iterable[tuple]):
        """One value of ``(value, weight)`` pairs, drawn in proportion to the weights."""
        values, weights = zip(*pairs, strict=True)
        return self.choices(values, weights=weights)[0]

    def weighted_sample(self, items: Sequence, weights: Sequence[float], count: int) -> list:
        """``count`` distinct items, each drawn with probability proportional to its weight
        (Efraimidis–Spirakis keys), in the order of ``items``."""
        if count <= 0 or not items:
            return []
        if count >= len(items):
            return list(items)
        keys = [self.random() ** (1.0 / w) for w in weights]
        chosen = set(heapq.nlargest(count, range(len(items)), key=keys.__getitem__))
        return [item for index, item in enumerate(items) if index in chosen]

    def quota(self, name: str, expected: float) -> int:
        """A whole number of events near ``expected``: the remainder carries over to the next call
        with the same ``name``, jittered, so rates stay on target at every seed."""
        carried = self.carry.get(name, 0.0) + expected
        count = max(0, int(carried + self.uniform(-0.5, 0.5)))
        self.carry[name] = carried - count
        return count
