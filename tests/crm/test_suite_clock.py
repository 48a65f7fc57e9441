"""The suite's own timing: a test run under a frozen clock is still timed in real seconds, so
``--durations`` lists it truthfully (tests/conftest.py leaves pytest's clock out of freezegun)."""

from __future__ import annotations

import time

from _pytest import timing
from freezegun import freeze_time


def test_pytest_times_a_frozen_test_in_real_seconds():
    with freeze_time("2026-11-15 03:00:00"):
        started = timing.Instant()
        time.sleep(0.05)
        elapsed = started.elapsed().seconds

    assert 0.05 <= elapsed < 5
