"""The referral pipeline's figures (SPEC §14), as pure functions of the leads' and calls' history.

For month M and a person (the lead's owner, the call's maker), their mentor's group and the
department:

- ``leads``: leads recorded in M; ``funnel_contacted``, ``funnel_meeting``, ``funnel_won``: how
  many of those have reached at least that stage by now (a lead that went straight to a meeting
  was contacted too; a won lead passed every stage);
- ``leads_won``, ``leads_lost``: leads closed in M; ``lead_conversion`` = won / (won + lost),
  empty when none closed;
- ``median_days_to_win``: the median of (day won − day recorded) over the leads won in M;
- ``calls_eligible``: reached calls in M with a client in good standing; ``calls_asked``: those
  where a referral was asked for (the answer "yes" or "declined"); ``referral_ask_rate`` =
  asked / eligible, empty when none.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.dates import add_months, month_start
from core.ratios import ratio

# How far a lead has got: the stage ranks of the funnel.
STAGE_RANK = {"new": 0, "contacted": 1, "meeting": 2, "won": 3, "lost": 0}


@dataclass(frozen=True)
class LeadRow:
    owner_id: int
    recorded_on: datetime.date
    status: str
    closed_on: datetime.date | None
    # The furthest stage the lead has reached (``STAGE_RANK``), from its history.
    furthest: int


@dataclass(frozen=True)
class CallRow:
    staff_id: int
    month: datetime.date
    eligible: int
    asked: int


@dataclass
class ReferralFigures:
    leads: int = 0
    funnel_contacted: int = 0
    funnel_meeting: int = 0
    funnel_won: int = 0
    leads_won: int = 0
    leads_lost: int = 0
    calls_eligible: int = 0
    calls_asked: int = 0
    days_to_win: list[int] = field(default_factory=list)

    @property
    def lead_conversion(self) -> float | None:
        return ratio(self.leads_won, self.leads_won + self.leads_lost)

    @property
    def median_days_to_win(self) -> float | None:
        return float(statistics.median(self.days_to_win)) if self.days_to_win else None

    @property
    def referral_ask_rate(self) -> float | None:
        return ratio(self.calls_asked, self.calls_eligible)

    def as_row(self) -> dict:
        return {
            "leads": self.leads,
            "funnel_contacted": self.funnel_contacted,
            "funnel_meeting": self.funnel_meeting,
            "funnel_won": self.funnel_won,
            "leads_won": self.leads_won,
            "leads_lost": self.leads_lost,
            "lead_conversion": self.lead_conversion,
            "median_days_to_win": self.median_days_to_win,
            "calls_eligible": self.calls_eligible,
            "calls_asked": self.calls_asked,
            "referral_ask_rate": self.referral_ask_rate,
        }


Key = tuple[datetime.date, str, int]


def referral_figures(
    leads: Iterable[LeadRow],
    calls: Iterable[CallRow],
    *,
    groups: Sequence[tuple[int, int]],
    month_from: datetime.date,
    month_to: datetime.date,
) -> dict[Key, ReferralFigures]:
    """The figures of every (month, scope, scope id) with anything to count in the months from
    ``month_from`` to ``month_to`` (first days), plus the department for every month of the
    range, zeros included. A person's figures count once in each group they belong to."""
    group_of: dict[int, list[int]] = defaultdict(list)
    for mentor_id, member_id in groups:
        group_of[member_id].append(mentor_id)
    figures: dict[Key, ReferralFigures] = {}

    def scopes(month: datetime.date, person: int) -> Iterable[ReferralFigures]:
        keys = [(month, "department", 0), (month, "manager", person)]
        keys += [(month, "group", mentor) for mentor in group_of.get(person, ())]
        for key in keys:
            yield figures.setdefault(key, ReferralFigures())

    def in_range(month: datetime.date) -> bool:
        return month_from <= month <= month_to

    for lead in leads:
        recorded = month_start(lead.recorded_on)
        if in_range(recorded):
            for f in scopes(recorded, lead.owner_id):
                f.leads += 1
                f.funnel_contacted += lead.furthest >= STAGE_RANK["contacted"]
                f.funnel_meeting += lead.furthest >= STAGE_RANK["meeting"]
                f.funnel_won += lead.status == "won"
        if lead.closed_on is not None and in_range(month_start(lead.closed_on)):
            for f in scopes(month_start(lead.closed_on), lead.owner_id):
                if lead.status == "won":
                    f.leads_won += 1
                    f.days_to_win.append((lead.closed_on - lead.recorded_on).days)
                elif lead.status == "lost":
                    f.leads_lost += 1
    for call in calls:
        if in_range(call.month):
            for f in scopes(call.month, call.staff_id):
                f.calls_eligible += call.eligible
                f.calls_asked += call.asked
    month = month_from
    while month <= month_to:
        figures.setdefault((month, "department", 0), ReferralFigures())
        month = add_months(month, 1)
    return figures
