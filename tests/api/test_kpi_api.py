"""kpi/ endpoints: snapshots by scope and role, the summary, the queued recompute (SPEC §4, §7)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from kpi.models import Goal, KpiSnapshot, Scope
from tests.api.conftest import api_client
from tests.factories import ContractFactory

MONTHLY = "/api/v1/kpi/monthly/"


def _scopes(user, **params) -> list[tuple[str, int]]:
    rows = api_client(user).get(MONTHLY, params).json()["results"]
    return [(row["scope"], row["scope_id"]) for row in rows]


def test_each_role_reads_its_own_scopes(world):
    assert len(_scopes(world.director)) == 4
    assert sorted(_scopes(world.mentor)) == [
        ("group", world.mentor.pk),
        ("manager", world.manager.pk),
    ]
    assert _scopes(world.manager) == [("manager", world.manager.pk)]
    assert _scopes(world.outsider) == [("manager", world.outsider.pk)]
    assert _scopes(world.return_manager) == []


def test_a_manager_cannot_read_someone_elses_row_by_filtering(world):
    assert _scopes(world.manager, scope="manager", scope_id=world.outsider.pk) == []
    assert _scopes(world.manager, scope="department") == []


def test_month_filters(world):
    now = timezone.now()
    for month in (datetime.date(2025, 12, 1), datetime.date(2026, 2, 1)):
        KpiSnapshot.objects.create(month=month, scope=Scope.DEPARTMENT, computed_at=now)

    def months(**params):
        rows = api_client(world.director).get(MONTHLY, {"scope": "department", **params})
        return [row["month"] for row in rows.json()["results"]]

    assert months() == ["2025-12", "2026-01", "2026-02"]
    assert months(month="2026-01") == ["2026-01"]
    assert months(month_from="2026-01", month_to="2026-02") == ["2026-01", "2026-02"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month_from": "январь"}, "month_from"),
        ({"scope": "planet"}, "scope"),
        ({"scope_id": "x"}, "scope_id"),
    ],
)
def test_bad_kpi_filters_name_the_parameter(world, params, field):
    response = api_client(world.director).get(MONTHLY, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_rates_are_numbers_and_money_is_a_string(world):
    KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT).update(
        churn_rate=0.25, mrr_end=Decimal("150000.50"), base_end=30
    )

    row = api_client(world.director).get(MONTHLY, {"scope": "department"}).json()["results"][0]

    assert (row["month"], row["churn_rate"], row["mrr_end"], row["base_end"]) == (
        "2026-01",
        0.25,
        "150000.50",
        30,
    )


def test_summary_on_a_day(world):
    Goal.objects.create(
        target_clients=12,
        target_on=datetime.date(2029, 1, 1),
        start_clients=3,
        start_on=datetime.date(2026, 1, 1),
    )
    KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT).update(
        annual_churn_rate=0.22, new_referral=4, return_rate_12m=0.4
    )

    response = api_client(world.director).get("/api/v1/kpi/summary/", {"as_of": "2026-01-15"})

    assert response.status_code == 200
    body = response.json()
    # acme, colleague's and outsider's clients, and the two lost ones still paying then.
    assert (body["as_of"], body["month"], body["base"], body["mrr"]) == (
        "2026-01-15",
        "2026-01",
        5,
        "28000.00",
    )
    assert (
        body["annual_churn_rate"],
        body["referrals_month"],
        body["return_rate_12m"],
    ) == (0.22, 4, 0.4)
    assert body["goal"]["target"] == 12
    assert body["goal"]["progress"] == pytest.approx(5 / 12)


def test_summary_with_a_bad_date_is_400_on_as_of(world):
    response = api_client(world.director).get("/api/v1/kpi/summary/", {"as_of": "15.01.2026"})

    assert response.status_code == 400
    assert list(response.json()) == ["as_of"]


def test_recompute_is_queued_after_commit_and_answers_202(
    world, django_capture_on_commit_callbacks
):
    ContractFactory(client=world.prospect, starts_on=datetime.date(2026, 1, 1))

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = api_client(world.director).post(
            "/api/v1/kpi/recompute/",
            {"month_from": "2026-01", "month_to": "2026-02"},
            format="json",
        )

    assert response.status_code == 202
    assert set(response.json()) == {"task_id"}
    assert len(queued) == 1
    assert KpiSnapshot.objects.filter(month=datetime.date(2026, 2, 1)).exists()


def test_recompute_with_months_in_the_wrong_order_is_400(world):
    response = api_client(world.director).post(
        "/api/v1/kpi/recompute/", {"month_from": "2026-03", "month_to": "2026-01"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["month_from"]
