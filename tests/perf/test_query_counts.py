"""API lists cost the same number of queries whatever the size of the data (SPEC §9).

The pages have tests of their own next to them (tests/clients/test_pages_workspace.py,
test_client_card.py, test_client_list.py, tests/retention/test_pages.py,
tests/kpi/test_dashboard.py, tests/staff/test_team_page.py); these cover the API lists, each
measured at two sizes, for the director (every row) and a manager (their own rows)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clients.models import ClientRequest, ClientStatus, Referral, Task, TaskKind
from kpi.models import KpiSnapshot, Scope
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, LostCaseFactory

LISTS = [
    "/api/v1/clients/",
    "/api/v1/contracts/",
    "/api/v1/interactions/",
    "/api/v1/requests/",
    "/api/v1/referrals/",
    "/api/v1/tasks/",
    "/api/v1/lost-cases/",
    "/api/v1/staff/",
    "/api/v1/kpi/monthly/",
]


def grow(manager, count: int, *, start: int) -> None:
    """``count`` more clients of ``manager``, each with a row of every listed kind."""
    now = timezone.now()
    for n in range(start, start + count):
        acme = ClientFactory(manager=manager, status=ClientStatus.ACTIVE)
        ContractFactory(client=acme, starts_on=datetime.date(2024, 1, 1))
        InteractionFactory(client=acme, occurred_at=now - datetime.timedelta(hours=n))
        ClientRequest.objects.create(
            client=acme,
            logged_by=manager,
            topic=f"Запрос {n}",
            opened_at=now,
            due_at=now + datetime.timedelta(days=2),
        )
        Referral.objects.create(referrer=acme, recorded_by=manager, organisation=f"МБДОУ № {n}")
        Task.objects.create(
            assignee=manager,
            client=acme,
            kind=TaskKind.MANUAL,
            title=f"Позвонить {n}",
            due_on=timezone.localdate(),
        )
        lost = ClientFactory(manager=manager, status=ClientStatus.LOST)
        ContractFactory(
            client=lost,
            starts_on=datetime.date(2024, 1, 1),
            ends_on=datetime.date(2026, 9, 30),
            termination_reason="competitor",
        )
        LostCaseFactory(client=lost, lost_by=manager, lost_fee=Decimal(1000 + n))
        KpiSnapshot.objects.create(
            month=datetime.date(2020 + n // 12, n % 12 + 1, 1),
            scope=Scope.DEPARTMENT,
            scope_id=0,
            computed_at=now,
        )


def queries(api: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


def api_as(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.mark.parametrize("who", ["director", "manager"])
def test_api_lists_cost_the_same_queries_at_two_sizes(request, manager, who):
    api = api_as(request.getfixturevalue(who))
    grow(manager, 2, start=0)
    small = {path: queries(api, path) for path in LISTS}

    grow(manager, 60, start=2)  # more than a page of 50 of every kind
    large = {path: queries(api, path) for path in LISTS}

    assert large == small
    assert max(large.values()) <= 6


def test_a_full_page_is_fifty_rows_with_exact_counts(director, manager):
    api = api_as(director)
    grow(manager, 60, start=0)

    body = api.get("/api/v1/interactions/").json()

    assert body["count"] == 60
    assert len(body["results"]) == 50
    assert body["next"].endswith("/api/v1/interactions/?page=2")
