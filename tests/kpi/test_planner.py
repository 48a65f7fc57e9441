"""The growth planner's page and API (SPEC §16) over a hand-made year of department figures:
defaults from the 12 complete months only, the answers for changed inputs, bad input named, who
sees and who saves, saved scenarios, and the hiring warning on /team/ and the dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import ClientRequest
from core.dates import add_months
from kpi.models import PlannerScenario
from staff.models import Role
from tests.api.conftest import api_client
from tests.factories import ClientFactory, UserFactory
from tests.kpi.planner_history import department_year

pytestmark = pytest.mark.frozen_clock("2026-12-04 05:00:00")

FIRST = datetime.date(2025, 12, 1)  # the first of the 12 complete months
NOON = datetime.time(12)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "planner-results"}


@pytest.fixture
def history(db, director):
    """December 2025 – November 2026 as ``department_year`` makes them; the goal: 4,000 clients
    by 31 December 2029."""
    department_year(director)


@pytest.fixture
def short_team(mentor, manager):
    """A mentor and one client manager at 150 clients each: two of the seven 1,000 clients need."""
    return [mentor, manager]


# --- the API ------------------------------------------------------------------------------------


def test_the_defaults_come_from_the_twelve_complete_months(history, short_team, director):
    response = api_client(director).post("/api/v1/kpi/planner/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["defaults"] == {
        "base": 1000,
        "churn_controllable": pytest.approx(0.015),
        "churn_natural": pytest.approx(0.005),
        "referrals_per_100": pytest.approx(2.0),
        "active_sales": 5,
        "inbound": 5,
        "return_rate": pytest.approx(0.6),
        "fee": 9000,
        "horizon": 37,
        "target": 4000,
        "target_month": 37,
    }
    assert body["inputs"] == body["defaults"]
    # m1: 1000 − 15 − 5 + 20 + 10 = 1010; m2: 1010 − 20.2 + 30.2 = 1020;
    # m3: 1020 − 20.4 + 30.4 + 0.6 × 15 (m1's controllable losses) = 1039.
    months = body["months"]
    assert [m["month"] for m in months[:3]] == ["2026-12", "2027-01", "2027-02"]
    assert [m["base"] for m in months[:3]] == pytest.approx([1010, 1020, 1039])
    assert months[2]["returned"] == pytest.approx(9)
    assert months[0]["mrr"] == pytest.approx(1010 * 9000)
    assert len(months) == 37
    assert months[-1]["month"] == "2029-12"
    assert months[-1]["plan"] == 4000  # the goal's plan line at its target date
    assert body["reached_month"] is None
    assert body["reached_in"] is None
    assert body["required_referrals_per_100"] == 4.49
    assert body["required_referrals_month"] == pytest.approx(44.9)
    # Seven client managers needed now and eight by month 4 (1,058 clients); two on the team:
    # six hires due this month, all of them late (a hire takes four months to ramp up).
    hiring = body["hiring"]
    assert hiring["rows"][0]["needed"] == 7
    assert hiring["rows"][0]["capacity"] == 2
    assert (hiring["hires_due"], hiring["hires_late"], hiring["first_shortfall"]) == (6, 6, 1)
    assert hiring["rows"][0]["mentors_needed"] == 2  # one client manager + 6 hires, one per 5


def test_changed_inputs_move_the_month_the_target_is_reached(history, short_team, mentor):
    client = api_client(mentor)
    reached = {
        churn: client.post(
            "/api/v1/kpi/planner/",
            {"referrals_per_100": 5, "churn_controllable": churn},
            format="json",
        ).json()["reached_month"]
        for churn in (0.03, 0.015, 0.0)
    }
    assert reached == {0.03: None, 0.015: "2029-08", 0.0: "2029-04"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"churn_controllable": 1.01}, {"churn_controllable"}),
        ({"return_rate": -0.1, "referrals_per_100": -1}, {"return_rate", "referrals_per_100"}),
        ({"active_sales": -5, "base": -1}, {"active_sales", "base"}),
        ({"horizon": 121}, {"horizon"}),
        ({"horizon": 0, "target_month": 500}, {"horizon", "target_month"}),
        ({"churn_controllable": 0.7, "churn_natural": 0.4}, {"churn_natural"}),
        ({"fee": "много"}, {"fee"}),
    ],
)
def test_bad_inputs_are_400_naming_the_field(history, director, body, fields):
    response = api_client(director).post("/api/v1/kpi/planner/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields


def test_the_director_saves_scenarios_and_mentors_read_them(history, director, mentor):
    saved = api_client(director).post(
        "/api/v1/kpi/planner/scenarios/",
        {"name": "  Рефералы  5 на 100 ", "inputs": {"referrals_per_100": 5}},
        format="json",
    )
    assert saved.status_code == 201, saved.content
    assert saved.json()["name"] == "Рефералы 5 на 100"
    assert saved.json()["inputs"]["referrals_per_100"] == 5
    assert saved.json()["inputs"]["churn_controllable"] == pytest.approx(0.015)
    again = api_client(director).post(
        "/api/v1/kpi/planner/scenarios/",
        {"name": "Рефералы 5 на 100", "inputs": {"referrals_per_100": 6}},
        format="json",
    )
    assert again.status_code == 201
    assert PlannerScenario.objects.get().inputs["referrals_per_100"] == 6
    listed = api_client(mentor).get("/api/v1/kpi/planner/scenarios/").json()
    assert [s["name"] for s in listed] == ["Рефералы 5 на 100"]
    refused = api_client(mentor).post(
        "/api/v1/kpi/planner/scenarios/", {"name": "Моё"}, format="json"
    )
    assert refused.status_code == 403
    blank = api_client(director).post(
        "/api/v1/kpi/planner/scenarios/", {"name": "   "}, format="json"
    )
    assert blank.status_code == 400
    assert set(blank.json()) == {"name"}
    assert PlannerScenario.objects.count() == 1


# --- the page -----------------------------------------------------------------------------------


def test_the_page_shows_todays_rates_and_the_answers(client, history, short_team, director):
    client.force_login(director)
    page = client.get("/planner/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="planner-churn_controllable"' in html
    assert 'name="churn_controllable" value="1.5"' in html  # percent on the page
    assert 'name="return_rate" value="60.0"' in html
    assert 'data-testid="planner-reached" data-month=""' in html
    assert 'data-testid="planner-required" data-value="4.49"' in html
    assert 'data-testid="hiring-warning" data-hires="6"' in html
    assert 'data-testid="scenario-save-form"' in html
    assert html.count('data-testid="hiring-row"') == 37


def test_the_page_recalculates_from_its_inputs_and_htmx_gets_the_results_only(
    client, history, short_team, director
):
    client.force_login(director)
    page = client.get("/planner/", {"referrals_per_100": "5", "churn_controllable": "0"}, **HTMX)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" not in html
    assert 'id="planner-results"' in html
    assert 'data-testid="planner-reached" data-month="29"' in html
    assert "Апрель 2029" in html


def test_out_of_range_inputs_are_named_on_the_page(client, history, short_team, director):
    client.force_login(director)
    page = client.get("/planner/", {"churn_controllable": "150", "horizon": "0"})
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-testid="planner-invalid"' in html
    assert 'id="id_churn_controllable_error"' in html
    assert 'id="id_horizon_error"' in html
    assert 'data-testid="planner-required" data-value="4.49"' in html  # today's rates meanwhile
    swapped = client.get("/planner/", {"churn_controllable": "150"}, **HTMX)
    assert swapped.status_code == 200
    assert 'data-testid="planner-invalid"' in swapped.content.decode()


def test_who_opens_the_planner(client, history, mentor, manager, return_manager):
    client.force_login(mentor)
    page = client.get("/planner/")
    assert page.status_code == 200
    assert 'data-testid="scenario-save-form"' not in page.content.decode()
    assert client.post("/planner/scenarios/", {"name": "Моё"}).status_code == 403
    for outsider in (manager, return_manager):
        client.force_login(outsider)
        assert client.get("/planner/").status_code == 403
    client.logout()
    assert client.get("/planner/").status_code == 302


def test_the_director_saves_a_scenario_from_the_page_and_sees_it_compared(
    client, history, director
):
    client.force_login(director)
    response = client.post(
        "/planner/scenarios/",
        {"name": "Без контролируемых потерь", "churn_controllable": "0", "referrals_per_100": "5"},
    )
    assert response.status_code == 302
    assert "churn_controllable=0" in response["Location"]
    scenario = PlannerScenario.objects.get()
    assert scenario.inputs["churn_controllable"] == 0  # percent on the page, a share stored
    assert scenario.inputs["referrals_per_100"] == 5
    page = client.get("/planner/").content.decode()
    assert page.count('data-testid="scenario-row"') == 1
    assert "Без контролируемых потерь" in page
    assert "Апрель 2029" in page
    deleted = client.post(f"/planner/scenarios/{scenario.pk}/delete/")
    assert deleted.status_code == 302
    assert not PlannerScenario.objects.exists()


def test_the_planner_costs_the_same_queries_for_any_team_size(client, history, director):
    client.force_login(director)
    client.get("/planner/")
    with CaptureQueriesContext(connection) as small:
        client.get("/planner/")
    for number in range(30):
        UserFactory(username=f"km{number}", role=Role.CLIENT_MANAGER)
    with CaptureQueriesContext(connection) as large:
        client.get("/planner/")
    assert len(large) == len(small)


# --- the warning elsewhere ----------------------------------------------------------------------


def test_team_and_dashboard_warn_when_a_hire_by_month_has_come(
    client, history, short_team, director, mentor
):
    for viewer, url in ((director, "/team/"), (director, "/dashboard/"), (mentor, "/team/")):
        client.force_login(viewer)
        html = client.get(url).content.decode()
        assert 'data-testid="hiring-warning" data-hires="6"' in html, (viewer, url)
        assert "Нанять клиент-менеджеров в этом месяце: 6" in html
    # A mentor's dashboard is the group's: the department's hiring is not on it.
    client.force_login(mentor)
    assert 'data-testid="hiring-warning"' not in client.get("/dashboard/").content.decode()


def test_no_warning_while_the_team_has_room(client, history, mentor, manager, director):
    for person in (mentor, manager):
        person.capacity = 1000
        person.save(update_fields=["capacity"])
    client.force_login(director)
    for url in ("/team/", "/dashboard/"):
        assert 'data-testid="hiring-warning"' not in client.get(url).content.decode()


def test_support_load_is_drawn_against_the_technical_departments_capacity(
    client, history, manager, director, settings
):
    """12 requests opened over the 12 months of 1,000 clients at each start: 0.001 a client a
    month, so 1.01 requests in the first month (1,010 clients) — above a capacity of 1."""
    school = ClientFactory(manager=manager)
    for month in range(12):
        opened = timezone.make_aware(datetime.datetime.combine(add_months(FIRST, month), NOON))
        ClientRequest.objects.create(
            client=school, logged_by=manager, topic="Обновить", opened_at=opened, due_at=opened
        )
    ClientRequest.objects.create(  # this month: not in the 12 complete months
        client=school, logged_by=manager, topic="Обновить", opened_at=timezone.now(),
        due_at=timezone.now(),
    )  # fmt: skip
    body = api_client(director).post("/api/v1/kpi/planner/", {}, format="json").json()
    assert body["hiring"]["rows"][0]["requests"] == pytest.approx(1.01)
    settings.SUPPORT_CAPACITY_REQUESTS = 1
    client.force_login(director)
    html = client.get("/planner/").content.decode()
    assert html.count("сверх возможностей") == 37
    settings.SUPPORT_CAPACITY_REQUESTS = 2000
    assert "сверх возможностей" not in client.get("/planner/").content.decode()


def test_the_ramp_setting_moves_the_hire_by_months(client, history, short_team, director, settings):
    settings.RAMP_MONTHS = 6
    six = api_client(director).post("/api/v1/kpi/planner/", {}, format="json").json()["hiring"]
    settings.RAMP_MONTHS = 3
    three = api_client(director).post("/api/v1/kpi/planner/", {}, format="json").json()["hiring"]
    # Needed: 7 until month 3, 8 from month 4, 9 from month 12, 10 from month 19. Six hires are
    # due now either way; the ninth client manager must start in month 12 − 6 = 6 or 12 − 3 = 9.
    assert [row["hires"] for row in six["rows"][:16]] == [6, 0, 0, 0, 0, 1] + [0] * 6 + [1, 0, 0, 0]
    assert [row["hires"] for row in three["rows"][:16]] == [6] + [0] * 7 + [1] + [0] * 6 + [1]
