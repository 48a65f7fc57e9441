"""Reads of the referral pipeline (SPEC §14): the board, a lead with its history, the leads whose
next step is due, a referrer's leads and the top referrers. Every read starts from
``referrals.access.referrals_visible_to``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from clients.models import (
    CLOSED_REFERRAL_STATUSES,
    OPEN_REFERRAL_STATUSES,
    Client,
    Referral,
    ReferralStatus,
    referrals_overdue,
)
from clients.selectors import referrals_with_duplicates
from referrals.access import referrals_visible_to
from staff.models import User

# Won and lost leads stay on the board this long after they close; older ones are in the API
# and on the referrer's card.
CLOSED_SHOWN_DAYS = 30
# Cards shown per column; the column's count says how many there are in all.
COLUMN_LIMIT = 15


@dataclass(frozen=True)
class BoardFilters:
    owner_id: int | None = None
    referrer: Client | None = None
    status: str = ""
    overdue: bool = False


@dataclass(frozen=True)
class BoardColumn:
    status: str
    label: str
    leads: list[Referral]
    total: int

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_REFERRAL_STATUSES

    @property
    def more(self) -> int:
        return self.total - len(self.leads)


def leads_for(user: User) -> QuerySet[Referral]:
    """The leads ``user`` sees, with the duplicate flag and what a card shows."""
    return referrals_with_duplicates(referrals_visible_to(user)).select_related(
        "referrer", "owner", "client"
    )


def _filtered(leads: QuerySet[Referral], filters: BoardFilters, today: datetime.date):
    if filters.owner_id is not None:
        leads = leads.filter(owner_id=filters.owner_id)
    if filters.referrer is not None:
        leads = leads.filter(referrer=filters.referrer)
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.overdue:
        leads = leads.filter(referrals_overdue(today))
    return leads


def board_build(user: User, filters: BoardFilters, *, today: datetime.date) -> list[BoardColumn]:
    """The kanban (SPEC §14): a column per stage, open leads by next step (overdue first), won
    and lost ones of the last CLOSED_SHOWN_DAYS days, newest first. Six queries whatever the
    number of leads: the counts, then one per column."""
    leads = _filtered(leads_for(user), filters, today)
    shown = Q(status__in=OPEN_REFERRAL_STATUSES) | Q(
        status__in=CLOSED_REFERRAL_STATUSES,
        closed_on__gte=today - datetime.timedelta(days=CLOSED_SHOWN_DAYS),
    )
    if filters.referrer is None:
        # A referrer's own board shows every lead it gave, however old.
        leads = leads.filter(shown)
    totals = dict(
        leads.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    columns = []
    for status, label in ReferralStatus.choices:
        if filters.status and status != filters.status:
            continue
        total = totals.get(status, 0)
        rows: list[Referral] = []
        if total:
            column = leads.filter(status=status)
            if status in OPEN_REFERRAL_STATUSES:
                column = column.order_by(F("next_step_on").asc(nulls_last=True), "created_at", "pk")
            else:
                column = column.order_by("-closed_on", "-pk")
            rows = list(column[:COLUMN_LIMIT])
        columns.append(BoardColumn(status=status, label=str(label), leads=rows, total=total))
    return columns


def lead_for(user: User, pk: int) -> Referral:
    """One lead ``user`` sees (``Referral.DoesNotExist`` otherwise: a 404 like any other)."""
    return leads_for(user).get(pk=pk)


def lead_history(lead: Referral) -> list:
    return list(lead.stages.select_related("changed_by").order_by("changed_at", "pk"))


def referrals_of(client: Client) -> list[Referral]:
    """The leads ``client`` gave, newest first, for its card."""
    return list(
        referrals_with_duplicates(Referral.objects.filter(referrer=client))
        .select_related("owner", "client")
        .order_by("-created_at", "-pk")[:50]
    )


@dataclass(frozen=True)
class TopReferrer:
    client_id: int
    name: str
    won: int


def top_referrers(
    *, today: datetime.date, members: list[int] | None = None, limit: int = 5
) -> list[TopReferrer]:
    """SPEC §14: the clients with the most leads won in the twelve months ending today (ties: the
    client recorded first); ``members``: only leads owned by these people (a mentor's group)."""
    since = today - datetime.timedelta(days=365)
    won = Referral.objects.filter(status=ReferralStatus.WON, closed_on__gt=since)
    if members is not None:
        won = won.filter(owner_id__in=members)
    # Counted by id alone, names read for the few at the top: at scale L a year holds tens of
    # thousands of won leads from as many referrers, and joining each to its client's name
    # before counting costs more than the count.
    counts = list(
        won.order_by()
        .values("referrer_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "referrer_id")
        .values_list("referrer_id", "n")[:limit]
    )
    names = dict(Client.objects.filter(pk__in=[pk for pk, _n in counts]).values_list("pk", "name"))
    return [TopReferrer(pk, names[pk], n) for pk, n in counts]
