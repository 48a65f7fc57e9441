"""The director's targets and the red/amber/green rule (kpi.targets): pure functions, exact values."""

from __future__ import annotations

import pytest

from kpi.targets import (
    TARGET_ANNUAL_CHURN,
    TARGET_RETURN_RATE,
    book_growth_target,
    growth_status,
    rag_status,
    trend,
)


@pytest.mark.parametrize(
    ("churn", "status"),
    [
        (0.05, "ok"),  # the target itself is met
        (0.03, "ok"),
        (0.06, "warn"),  # within 20 % of the target above it
        (0.0601, "danger"),
        (None, "neutral"),
    ],
)
def test_churn_is_green_at_or_below_its_target(churn, status):
    assert rag_status(churn, TARGET_ANNUAL_CHURN, lower_is_better=True, band=0.2) == status


@pytest.mark.parametrize(
    ("rate", "status"), [(0.7, "ok"), (0.9, "ok"), (0.63, "warn"), (0.62, "danger")]
)
def test_return_rate_is_green_at_or_above_its_target(rate, status):
    assert rag_status(rate, TARGET_RETURN_RATE, lower_is_better=False, band=0.1) == status


def test_float_noise_does_not_miss_a_target():
    assert rag_status(1.3**1 - 1, 0.3, lower_is_better=False, band=0.1) == "ok"


def test_trend_says_whether_the_change_is_good_news():
    assert trend(0.04, 0.05, lower_is_better=True) == {
        "delta": pytest.approx(-0.01),
        "verdict": "better",
        "direction": "down",
    }
    assert trend(120, 90, lower_is_better=False) == {
        "delta": 30,
        "verdict": "better",
        "direction": "up",
    }
    assert trend(90, 120, lower_is_better=False)["verdict"] == "worse"
    assert trend(0.5, 0.5, lower_is_better=False)["verdict"] == "same"
    assert trend(None, 0.5, lower_is_better=False) is None
    assert trend(0.5, None, lower_is_better=False) is None


def test_book_growth_target_compounds_thirty_percent_a_year():
    assert book_growth_target(12) == pytest.approx(0.3)
    assert book_growth_target(24) == pytest.approx(0.69)
    assert book_growth_target(6) == pytest.approx(1.3**0.5 - 1)


def test_growth_is_amber_between_no_growth_and_the_target():
    target = book_growth_target(12)
    assert growth_status(0.3, target) == "ok"
    assert growth_status(0.0, target) == "warn"
    assert growth_status(-0.01, target) == "danger"
    assert growth_status(None, target) == "neutral"
