"""The seeded demo company the demo tests read: 150 clients, seed 7, seeded on 15 June 2026."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture
def demo(db):
    call_command(
        "seed_demo", "--clients", "150", "--seed", "7", "--today", TODAY.isoformat(),
        stdout=io.StringIO(),
    )  # fmt: skip
