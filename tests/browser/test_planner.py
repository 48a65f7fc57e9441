"""The growth planner in a real browser (SPEC §16): the director changes the churn input and sees
the month the target is reached move, without a page load; the chart is drawn; a scenario is
saved and listed; the page fits a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.browser.test_manager_workflow import screenshot
from tests.kpi.planner_history import department_year

pytestmark = pytest.mark.browser


@pytest.fixture
def history(director, mentor, manager):
    """A year of 1,000 clients with 5 referral clients per 100 a month (hand-made), a goal of
    4,000 by month 37 and a team of two book keepers."""
    department_year(director, referrals=50)


def test_changing_churn_moves_the_month_the_target_is_reached(page, history):
    login(page, "director")
    page.get_by_test_id("nav-planner-page").click()
    reached = page.get_by_test_id("planner-reached")
    # Today's rates: 1.5 % controllable churn a month reaches 4,000 in month 33.
    expect(reached).to_have_attribute("data-month", "33")
    expect(page.get_by_test_id("planner-churn_controllable")).to_have_value("1.5")
    # Chart.js has drawn on the canvas: it sets its pixel size and keeps the chart on it.
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart=planner]'))"
    )
    page.evaluate("window.__samePage = true")

    page.get_by_test_id("planner-churn_controllable").fill("0")
    expect(reached).to_have_attribute("data-month", "29")
    expect(reached).to_contain_text("через 29 месяцев")
    page.get_by_test_id("planner-churn_controllable").fill("3")
    expect(reached).to_have_attribute("data-month", "")
    expect(reached).to_contain_text("Не за 37 месяцев")
    assert page.evaluate("window.__samePage") is True  # swapped in by htmx, no page load
    page.wait_for_function(  # and drawn again on the new canvas
        "() => Chart.getChart(document.querySelector('canvas[data-chart=planner]'))"
    )
    assert "churn_controllable=3" in page.url  # the forecast has its own link
    screenshot(page, "planner")

    page.get_by_test_id("scenario-name").fill("Отток 3 % в месяц")
    page.get_by_test_id("scenario-save").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    expect(page.get_by_test_id("scenario-row")).to_have_count(1)
    expect(page.get_by_test_id("scenario-row")).to_contain_text("Отток 3 % в месяц")
    expect(reached).to_have_attribute("data-month", "")  # still the saved inputs


@pytest.mark.parametrize("width", [1440, 390])
def test_the_planner_fits_the_screen(page, history, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "mentor")
    page.goto(f"{page.base_url}/planner/")
    expect(page.get_by_test_id("planner-reached")).to_have_attribute("data-month", "33")
    expect(page.get_by_test_id("scenario-save-form")).to_have_count(0)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways at {width} px: {scroll}"
    screenshot(page, f"planner-{width}")
