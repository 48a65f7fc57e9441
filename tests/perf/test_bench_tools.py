"""The benchmark's server timing header and its percentile arithmetic."""

from __future__ import annotations

import re

import pytest

from bench.run import percentile


def test_server_timing_reports_django_time_and_queries(client, manager, settings):
    settings.MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *settings.MIDDLEWARE]
    client.force_login(manager)

    response = client.get("/healthz/")

    timing = response["Server-Timing"]
    assert re.fullmatch(r'app;dur=[0-9.]+, sql;desc="\d+";dur=[0-9.]+, cpu;dur=[0-9.]+', timing)


def test_server_timing_is_off_in_the_product(client, db):
    assert "Server-Timing" not in client.get("/healthz/")


@pytest.mark.parametrize(
    ("p", "expected"), [(50, 50.0), (95, 95.0), (99, 99.0), (100, 100.0), (1, 1.0)]
)
def test_percentile_is_nearest_rank(p, expected):
    assert percentile([float(x) for x in range(100, 0, -1)], p) == expected


def test_percentile_of_few_values():
    assert percentile([30.0, 10.0, 20.0], 95) == 30.0
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0
