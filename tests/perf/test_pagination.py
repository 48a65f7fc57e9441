"""API list counts: exact up to a limit, the planner's estimate above it on PostgreSQL."""

from __future__ import annotations

import pytest

from clients.access import clients_visible_to, visible_through
from clients.models import Interaction
from core import pagination
from core.pagination import BoundedCountPaginator, planner_rows
from tests.conftest import on_postgres, requires_postgres
from tests.factories import ClientFactory, InteractionFactory


@pytest.fixture
def calls(manager, colleague):
    mine = ClientFactory(manager=manager)
    theirs = ClientFactory(manager=colleague)
    InteractionFactory.create_batch(5, client=mine)
    InteractionFactory.create_batch(3, client=theirs)
    return mine, theirs


def test_count_is_exact_up_to_the_limit(calls, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 8)

    assert BoundedCountPaginator(Interaction.objects.order_by("pk"), 50).count == 8


def test_count_above_the_limit_is_exact_without_postgresql(calls, monkeypatch):
    if on_postgres():
        pytest.skip("PostgreSQL estimates")
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 4)

    assert planner_rows(Interaction.objects.all()) is None
    assert BoundedCountPaginator(Interaction.objects.order_by("pk"), 50).count == 8


@requires_postgres
def test_count_above_the_limit_is_the_estimate_never_below_the_limit(calls, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 4)
    queryset = Interaction.objects.order_by("pk")

    count = BoundedCountPaginator(queryset, 50).count

    assert count == max(planner_rows(queryset), 5)


def test_director_lists_need_no_client_filter(director):
    assert visible_through(director) == visible_through(director, "referrer")
    assert not visible_through(director)


def test_others_see_the_rows_of_their_visible_clients(calls, manager, colleague, outsider):
    mine, theirs = calls
    for user, expected in ((manager, {mine.pk}), (colleague, {theirs.pk}), (outsider, set())):
        rows = Interaction.objects.filter(visible_through(user))
        assert set(rows.values_list("client_id", flat=True)) == expected
        assert set(clients_visible_to(user).values_list("pk", flat=True)) == expected
