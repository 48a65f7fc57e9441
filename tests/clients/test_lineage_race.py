"""SPEC §10: two people merging A into B and B into A at the same instant cannot make a cycle.

Real PostgreSQL connections, one per thread, released together by a barrier: the advisory lock
taken by ``Client.clean()`` makes the second walk see the first merge."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clients.models import Client
from clients.services import client_update
from tests.conftest import requires_postgres
from tests.factories import ClientFactory
from tests.retention.test_claim_race import run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_crossed_merges_at_once_leave_a_tree(manager):
    first = ClientFactory(manager=manager)
    second = ClientFactory(manager=manager)
    moves = {"first into second": (first.pk, second.pk), "second into first": (second.pk, first.pk)}

    def merge(name):
        child, parent = moves[name]
        return client_update(
            actor=manager,
            client=Client.objects.get(pk=child),
            parent=Client.objects.get(pk=parent),
        )

    outcomes = run_together(merge, list(moves))

    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationError)]
    merged = [outcome for outcome in outcomes.values() if isinstance(outcome, Client)]
    assert (len(merged), len(refused)) == (1, 1)
    assert set(refused[0].message_dict) == {"parent"}
    lineage = dict(Client.objects.values_list("pk", "parent_id"))
    assert None in (lineage[first.pk], lineage[second.pk])
