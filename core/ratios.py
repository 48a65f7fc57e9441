"""Safe division, written once: a share of nothing is "no figure", never a ZeroDivisionError.

The SPEC §4 rates themselves (churn, return rate, …) are computed in ``kpi.metrics`` only; these are
the plain shares that pages show (a load against capacity, a cadence share).
"""

from __future__ import annotations


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, or None when ``whole`` is 0 (shown as "—")."""
    return part / whole if whole else None


def percent(part: float, whole: float) -> float | None:
    """``ratio`` in percent."""
    return part * 100 / whole if whole else None
