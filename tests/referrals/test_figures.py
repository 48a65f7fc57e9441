"""SPEC §14 figures through the database: the nightly recompute stores them per person, group and
department, and the dashboard's top referrers count twelve months of won leads."""

from __future__ import annotations

import datetime

import pytest

from clients.models import ClientKind, Referral
from clients.services import referral_create
from kpi.models import ReferralSnapshot
from kpi.services import kpi_snapshots_recompute
from referrals.selectors import top_referrers
from referrals.services import referral_lose, referral_move, referral_win
from tests.factories import ClientFactory, make_inn

pytestmark = pytest.mark.frozen_clock("2026-12-04 09:00:00")
DEC = datetime.date(2026, 12, 1)


def test_the_recompute_stores_the_months_referral_figures(manager, colleague, mentor):
    school = ClientFactory(manager=manager)
    won = referral_create(actor=manager, referrer=school, organisation="А", inn=make_inn(61))
    referral_move(actor=manager, referral=won, status="meeting")
    referral_win(actor=manager, referral=won, kind=ClientKind.SCHOOL)
    lost = referral_create(actor=manager, referrer=school, organisation="Б")
    referral_lose(actor=manager, referral=lost, reason="Нет бюджета")
    referral_create(actor=colleague, referrer=ClientFactory(manager=colleague), organisation="В")

    kpi_snapshots_recompute(month_from=DEC, month_to=DEC)

    def row(scope, scope_id):
        return ReferralSnapshot.objects.values_list(
            "leads", "funnel_contacted", "funnel_meeting", "funnel_won", "leads_won",
            "leads_lost", "lead_conversion", "median_days_to_win",
        ).get(month=DEC, scope=scope, scope_id=scope_id)  # fmt: skip

    assert row("manager", manager.pk) == (2, 1, 1, 1, 1, 1, 0.5, 0.0)
    assert row("manager", colleague.pk) == (1, 0, 0, 0, 0, 0, None, None)
    assert row("group", mentor.pk) == (3, 1, 1, 1, 1, 1, 0.5, 0.0)
    assert row("department", 0) == (3, 1, 1, 1, 1, 1, 0.5, 0.0)


def test_top_referrers_count_twelve_months_of_won_leads(manager, colleague, mentor, other_mentor):
    first, second = ClientFactory(manager=manager), ClientFactory(manager=manager)

    def won(referrer, owner, n: int, closed_on: datetime.date):
        client = ClientFactory(manager=owner)
        Referral.objects.create(
            referrer=referrer, recorded_by=owner, organisation=f"Лид {n}", status="won",
            client=client, closed_on=closed_on,
        )  # fmt: skip

    won(first, manager, 1, datetime.date(2026, 11, 30))
    won(first, manager, 2, datetime.date(2026, 1, 10))
    won(first, manager, 3, datetime.date(2025, 12, 4))  # 365 days ago: outside
    won(second, manager, 4, datetime.date(2026, 6, 1))

    today = datetime.date(2026, 12, 4)
    assert [(r.client_id, r.won) for r in top_referrers(today=today)] == [
        (first.pk, 2),
        (second.pk, 1),
    ]
    assert top_referrers(today=today, members=[other_mentor.pk]) == []
