"""The director's targets (SPEC §1 and the customer's brief) and the red/amber/green rule that
measures a figure against its target. Pure functions: no database, no Django.

Statuses are the CSS words of the pages: ``ok`` (green, the target is met), ``warn`` (amber,
close to it), ``danger`` (red) and ``neutral`` (no figure, or no target to meet).
"""

from __future__ import annotations

# SPEC §1: annual churn at most 5 %, 100 referral clients a month, 70 % of lost clients won back.
TARGET_ANNUAL_CHURN = 0.05
TARGET_REFERRALS_MONTH = 100
TARGET_RETURN_RATE = 0.70
# A good client manager turns 100 clients into 130 in a year (customer brief).
TARGET_BOOK_GROWTH_YEAR = 0.30

# Amber while the distance to the target is at most this share of the target; red beyond. The
# base must follow the goal's plan closely, so its band is narrow.
AMBER_BAND = {"annual_churn": 0.2, "referrals": 0.2, "return_rate": 0.1, "base": 0.03}
# A person's book growth is amber anywhere between no growth and the target.
GROWTH_BAND = 1.0

# Differences below this are float noise, not a change (1.3 ** 1 - 1 against 0.3).
_TOLERANCE = 1e-9


def rag_status(value: float | None, target: float, *, lower_is_better: bool, band: float) -> str:
    """``ok``, ``warn`` or ``danger`` by the distance from ``value`` to ``target`` (relative to the
    target); ``neutral`` without a value."""
    if value is None:
        return "neutral"
    gap = (value - target) if lower_is_better else (target - value)
    if gap <= _TOLERANCE:
        return "ok"
    return "warn" if gap <= band * target else "danger"


def trend(value: float | None, previous: float | None, *, lower_is_better: bool) -> dict | None:
    """The change against last month and whether it is good news: ``better``, ``worse`` or
    ``same``; None when either month has no figure."""
    if value is None or previous is None:
        return None
    delta = value - previous
    if abs(delta) < _TOLERANCE:
        verdict = "same"
    elif (delta < 0) == lower_is_better:
        verdict = "better"
    else:
        verdict = "worse"
    return {"delta": delta, "verdict": verdict, "direction": "up" if delta > 0 else "down"}


def book_growth_target(months: int) -> float:
    """The book growth a good manager reaches in ``months`` months: TARGET_BOOK_GROWTH_YEAR a
    year, compounded (30 % a year is about 14 % in six months)."""
    return (1 + TARGET_BOOK_GROWTH_YEAR) ** (months / 12) - 1


def growth_status(growth: float | None, target: float) -> str:
    """A person's or group's own book growth against ``book_growth_target``."""
    return rag_status(growth, target, lower_is_better=False, band=GROWTH_BAND)
