"""SPEC §14 figures against a hand-worked month: ``kpi.referral_metrics.referral_figures``."""

from __future__ import annotations

import datetime

from kpi.referral_metrics import STAGE_RANK, CallRow, LeadRow, referral_figures

D = datetime.date
NOV, DEC = D(2026, 11, 1), D(2026, 12, 1)
ANNA, BORIS, MENTOR = 11, 12, 10


def lead(owner, recorded, status, closed=None, furthest=None):
    return LeadRow(
        owner, recorded, status, closed, STAGE_RANK[status] if furthest is None else furthest
    )


def test_a_hand_worked_november():
    leads = [
        # Anna records three leads in November: one won on the 20th after a meeting (19 days),
        # one stuck at "contacted", one lost after a meeting.
        lead(ANNA, D(2026, 11, 1), "won", D(2026, 11, 20)),
        lead(ANNA, D(2026, 11, 5), "contacted"),
        lead(ANNA, D(2026, 11, 9), "lost", D(2026, 11, 30), furthest=STAGE_RANK["meeting"]),
        # Boris won in November a lead recorded in October (40 days) and lost one never called.
        lead(BORIS, D(2026, 10, 1), "won", D(2026, 11, 10)),
        lead(BORIS, D(2026, 11, 28), "lost", D(2026, 11, 29)),
        # Recorded in December: not November's.
        lead(BORIS, D(2026, 12, 1), "new"),
    ]
    calls = [CallRow(ANNA, NOV, eligible=10, asked=4), CallRow(BORIS, NOV, eligible=5, asked=0)]
    groups = [(MENTOR, MENTOR), (MENTOR, ANNA), (MENTOR, BORIS)]

    figures = referral_figures(leads, calls, groups=groups, month_from=NOV, month_to=DEC)

    anna = figures[(NOV, "manager", ANNA)]
    assert (anna.leads, anna.funnel_contacted, anna.funnel_meeting, anna.funnel_won) == (3, 3, 2, 1)
    assert (anna.leads_won, anna.leads_lost, anna.lead_conversion) == (1, 1, 0.5)
    assert (anna.median_days_to_win, anna.referral_ask_rate) == (19.0, 0.4)
    boris = figures[(NOV, "manager", BORIS)]
    assert (boris.leads, boris.leads_won, boris.leads_lost, boris.median_days_to_win) == (
        1,
        1,
        1,
        40.0,
    )
    assert boris.referral_ask_rate == 0.0
    for scope in ((NOV, "group", MENTOR), (NOV, "department", 0)):
        total = figures[scope]
        assert (total.leads, total.funnel_meeting, total.leads_won, total.leads_lost) == (
            4,
            2,
            2,
            2,
        )
        assert (total.lead_conversion, total.median_days_to_win) == (0.5, 29.5)
        assert (total.calls_eligible, total.calls_asked, total.referral_ask_rate) == (15, 4, 4 / 15)
    december = figures[(DEC, "department", 0)]
    assert (december.leads, december.lead_conversion, december.referral_ask_rate) == (1, None, None)
    assert (NOV, "group", ANNA) not in figures


def test_an_empty_range_still_has_the_departments_months():
    figures = referral_figures([], [], groups=[], month_from=NOV, month_to=D(2027, 1, 1))
    assert sorted(figures) == [
        (NOV, "department", 0),
        (DEC, "department", 0),
        (D(2027, 1, 1), "department", 0),
    ]
    assert all(f.leads == 0 and f.lead_conversion is None for f in figures.values())
