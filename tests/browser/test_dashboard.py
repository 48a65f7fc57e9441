"""The director's dashboard in a real browser (SPEC §6) on the demo company: every tile shows a
real figure, every chart is drawn by the vendored Chart.js, the period switch redraws them, the
manager table sorts on the server on a click, an export of the whole table downloads, and
"Recompute now" finishes (embedded mode)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core.management import call_command
from openpyxl import load_workbook
from playwright.sync_api import expect

from demo.logins import DEMO_PASSWORD
from kpi.services import kpi_snapshots_recompute
from tests.browser.conftest import login

TILES = ("kpi-annual-churn", "kpi-referrals-month", "kpi-return-rate", "kpi-base")
CHARTS = ("chart-base-vs-goal", "chart-churn", "chart-referrals", "chart-return-rate", "chart-mrr")


def chart_labels(page, hook: str) -> int | None:
    """How many months the chart on ``hook`` shows, or None when Chart.js drew nothing there."""
    return page.get_by_test_id(hook).evaluate(
        "canvas => { const chart = Chart.getChart(canvas);"
        " return chart === undefined ? null : chart.data.labels.length; }"
    )


def percent_value(text: str) -> float:
    """ "12,5 %" (as the page prints a rate) → 12.5."""
    return float(re.sub(r"[\s%\u00a0\u202f]", "", text).replace(",", "."))


def test_director_reads_the_dashboard_switches_the_period_and_exports(page, transactional_db):
    call_command("seed_demo", clients=150, years=2, seed=42, verbosity=0)
    kpi_snapshots_recompute()

    login(page, "director", DEMO_PASSWORD)
    page.goto(f"{page.base_url}/dashboard/")
    for hook in TILES:
        tile = page.get_by_test_id(hook)
        expect(tile).to_be_visible()
        expect(tile.locator(".tile-value")).to_have_text(re.compile(r"^\d[\d\s,]*(\s%)?$"))
        assert tile.get_attribute("data-status") in {"ok", "warn", "danger"}
    assert int(page.get_by_test_id("kpi-base").get_attribute("data-value")) > 100
    expect(page.get_by_test_id("computed-at")).to_have_attribute(
        "data-computed-at", re.compile(r"^\d{4}-\d\d-\d\dT")
    )

    # 12 months by default; the goal's plan line runs three months further on the base chart.
    for hook in CHARTS:
        expect(page.get_by_test_id(hook)).to_be_visible()
    assert [chart_labels(page, hook) for hook in CHARTS] == [15, 12, 12, 12, 12]
    managers = page.get_by_test_id("table-managers").get_by_test_id("manager-row")
    total = int(page.get_by_test_id("table-managers").get_attribute("data-total"))
    assert total >= 12
    assert managers.count() == min(total, 25)  # one page of the table; the export has them all
    first = managers.first.get_by_test_id("manager-clients-link")
    assert first.get_attribute("href").startswith("/clients/?manager=")

    page.get_by_test_id("period-24").click()
    page.wait_for_url("**/dashboard/?period=24")
    expect(page.get_by_test_id("period-24")).to_have_attribute("aria-current", "true")
    assert [chart_labels(page, hook) for hook in CHARTS] == [30, 24, 24, 24, 24]

    # Sort the managers by churn, highest first (the first click on a figure column): the server
    # sorts the whole table and htmx swaps the first page in, keeping the period.
    table = page.get_by_test_id("table-managers")
    churn_header = table.locator("thead th").nth(9)
    churn_header.locator("a").click()
    expect(churn_header).to_have_attribute("aria-sort", "descending")
    page.wait_for_url("**/dashboard/?period=24&managers_sort=-churn_rate")
    texts = table.locator("tbody tr td:nth-child(10)").all_inner_texts()
    rates = [percent_value(text) for text in texts if text.strip() != "—"]
    assert len(rates) >= 5
    assert rates == sorted(rates, reverse=True)
    assert chart_labels(page, "chart-churn") == 24  # the charts stay drawn
    # Back: the table in its own order again, the charts redrawn.
    page.go_back()
    page.wait_for_url("**/dashboard/?period=24")
    expect(churn_header).not_to_have_attribute("aria-sort", "descending")
    assert chart_labels(page, "chart-churn") == 24
    page.go_forward()
    expect(churn_header).to_have_attribute("aria-sort", "descending")

    with page.expect_download() as download_info:
        page.get_by_test_id("export-managers-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.startswith("dashboard-managers-24m-")
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert sheet.max_row == total + 1

    # Embedded mode: the recompute runs at once and the page reloads with a message.
    page.get_by_test_id("recompute-button").click()
    expect(page.get_by_test_id("messages")).to_be_visible()
    page.wait_for_url("**/dashboard/?period=24")
    assert chart_labels(page, "chart-churn") == 24
