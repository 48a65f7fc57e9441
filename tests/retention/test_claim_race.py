"""SPEC §3.3, §9: twenty return managers claim one case at the same instant; exactly one wins.

Real PostgreSQL connections, one per thread, released together by a barrier: the conditional
UPDATE in ``lost_case_claim`` is what decides, not the order the threads happen to run in."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils.translation import gettext

from core.errors import Conflict
from retention.models import CaseStatus, LostCase
from retention.services import lost_case_claim
from staff.models import Role
from tests.conftest import requires_postgres
from tests.factories import ClientFactory, LostCaseFactory, UserFactory

CLAIMERS = 20

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def case(manager):
    return LostCaseFactory(
        client=ClientFactory(manager=manager),
        lost_on=datetime.date(2026, 10, 1),
        lost_fee=Decimal("15000"),
    )


@pytest.fixture
def return_managers(db):
    return [
        UserFactory(
            username=f"returner{n:02d}", full_name=f"Возвраты {n:02d}", role=Role.RETURN_MANAGER
        )
        for n in range(CLAIMERS)
    ]


def run_together(work, arguments) -> dict:
    """Run ``work(argument)`` in one thread per argument, all released at once; each thread has
    its own database connection and closes it. Returns argument → result or raised exception."""
    barrier = threading.Barrier(len(arguments))
    outcomes = {}

    def run(argument):
        try:
            barrier.wait(timeout=30)
            outcomes[argument] = work(argument)
        except Exception as error:  # the test inspects whatever each thread got
            outcomes[argument] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def claim_history(case):
    return case.history.filter(history_type="~", history_change_reason=gettext("claimed"))


def test_twenty_simultaneous_claims_have_exactly_one_winner(case, return_managers):
    def claim(actor):
        return lost_case_claim(actor=actor, case=LostCase.objects.get(pk=case.pk))

    outcomes = run_together(claim, return_managers)

    winners = [actor for actor, outcome in outcomes.items() if isinstance(outcome, LostCase)]
    conflicts = [outcome for outcome in outcomes.values() if isinstance(outcome, Conflict)]
    assert len(outcomes) == CLAIMERS
    assert len(winners) == 1
    assert len(conflicts) == CLAIMERS - 1
    (winner,) = winners
    expected = gettext("Already claimed by %(name)s.") % {"name": winner.full_name}
    assert {conflict.message for conflict in conflicts} == {expected}
    case.refresh_from_db()
    assert (case.status, case.return_manager) == (CaseStatus.CLAIMED, winner)
    assert claim_history(case).count() == 1
    assert claim_history(case).get().history_user == winner


def test_twenty_simultaneous_claims_through_the_page_give_one_200_and_nineteen_409(
    case, return_managers
):
    browsers = {}
    for actor in return_managers:
        browsers[actor] = Client()
        browsers[actor].force_login(actor)

    def click(actor):
        return browsers[actor].post(f"/retention/{case.pk}/claim/", HTTP_HX_REQUEST="true")

    outcomes = run_together(click, return_managers)

    statuses = sorted(response.status_code for response in outcomes.values())
    assert statuses == [200] + [409] * (CLAIMERS - 1)
    case.refresh_from_db()
    winner = case.return_manager
    assert outcomes[winner].status_code == 200
    assert gettext("claimed by you") in outcomes[winner].content.decode()
    expected = gettext("Already claimed by %(name)s.") % {"name": winner.full_name}
    for actor, response in outcomes.items():
        if actor != winner:
            assert expected in response.content.decode()
    assert claim_history(case).count() == 1
