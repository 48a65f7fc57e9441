"""The demo company's history, simulated month by month in memory.

The company starts ``years`` before ``today`` with a base of clients and its staff
(``demo.department``). Each calendar month clients enter (referrals, active sales, inbound),
change fees, change managers, leave (natural or controllable losses), and lost clients go through
the return workflow of SPEC §3.3. Rates are per active client per month, so every figure scales
with the size of the base; they are tuned so that the SPEC §4 KPIs of the written rows match
today's company of SPEC §1: about 22 % annual churn (≈15 % of it natural), about 40 referral
clients a month at 1,500 clients, about 40 % of closed cases returned.

The simulation builds a consistent history directly instead of replaying years of service calls,
keeping the rules of the domain by construction: paid contracts never overlap, a fee change ends
a contract on d−1 and starts the next on d, a controllable loss opens a case, a returned client
never goes back to the manager who lost it. Ids are assigned here (rows refer to each other
before they are written) and the day-to-day activity is drawn later, while writing
(``demo.activity``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    Contract,
    ContractKind,
    Referral,
    ReferralStatus,
    TerminationReason,
)
from clients.services import refusal_goes_to_mentor
from core.dates import ONE_DAY, add_months, month_end, month_index, one_month_period_end
from demo import institutions
from demo import vocabulary as vocab
from demo.department import Person, staff_hire, staff_plan
from demo.draws import Draws
from demo.tables import next_ids
from retention.models import CaseStatus, LostCase
from retention.services import derive_client_status
from staff.models import Role, User

# --- dynamics: rates per active client per calendar month -----------------------------------
LOSS_RATE = 0.0163  # → ≈22 % of the base a year, counted as in SPEC §4
# The state centralises institutions more and more (brief): the natural share of losses grows
# by NATURAL_SHARE_GROWTH a year up to NATURAL_SHARE_NOW today.
NATURAL_SHARE_NOW = 0.17
NATURAL_SHARE_GROWTH = 0.025
REFERRAL_RATE = 0.0355  # → ≈40 referral clients a month at 1,500 clients
ACTIVE_SALES_RATE = 0.0035
INBOUND_RATE = 0.0025
RETURN_SHARE = 0.40  # of the lost cases that close
# A client that comes back after its free month makes up its mind on some day of the free month,
# from this one on (within AGREED_SPREAD_DAYS more); the return manager records the return that
# day, as an agreed return (SPEC §3.3).
AGREED_AFTER_DAYS = 7
AGREED_SPREAD_DAYS = 14
FEE_CHANGE_RATE = 0.008
REASSIGN_RATE = 0.004

# Year-end is when institutions change contractors; summer is quiet (both average to 1).
LOSS_SEASON = (1.2, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.9, 1.0, 1.1, 1.8)
REFERRAL_SEASON = (0.9, 1.0, 1.1, 1.1, 1.0, 0.9, 0.75, 0.8, 1.1, 1.15, 1.15, 1.05)

CONTROLLABLE_REASONS = (
    (TerminationReason.COMPETITOR, 28),
    (TerminationReason.SERVICE_QUALITY, 18),
    (TerminationReason.REFUSED_REQUEST, 14),
    (TerminationReason.NO_CONTACT, 14),
    (TerminationReason.PRICE, 12),
    (TerminationReason.BUDGET, 9),
    (TerminationReason.OTHER, 5),
)
NEW_HIRE_BOOK = 30  # clients a new manager takes over from the group on the first day

# Models whose ids the simulation assigns (rows refer to each other before they are written).
ASSIGNED_IDS = (User, Client, Contract, ClientAssignment, LostCase, ClientRequest, Referral)


class SimAssignment:
    """A ``ClientAssignment`` row: ``starts_on`` None for the first one, ``entered`` the day it
    was recorded, ``actor`` who recorded it."""

    __slots__ = ("actor", "ends_on", "entered", "id", "manager", "reason", "starts_on")

    def __init__(self, assignment_id, manager, starts_on, reason, actor, entered):
        self.id = assignment_id
        self.manager = manager
        self.starts_on = starts_on
        self.ends_on: datetime.date | None = None
        self.reason = reason
        self.actor = actor
        self.entered = entered


class SimClient:
    __slots__ = (
        "assignments",
        "cases",
        "channel",
        "city",
        "contracts",
        "created",
        "id",
        "inn",
        "kind",
        "kpp",
        "name",
        "parent",
        "phone_code",
        "referred_by",
        "region",
        "status",
    )

    def manager_on(self, day: datetime.date) -> int:
        for row in reversed(self.assignments):
            if row.starts_on is None or row.starts_on <= day:
                return row.manager
        return self.assignments[0].manager

    @property
    def manager(self) -> int:
        return self.assignments[-1].manager


class SimContract:
    """A ``Contract``; ``entered`` is the day it was recorded, ``ended_entered`` the day its end
    was (None while open)."""

    __slots__ = (
        "client",
        "comment",
        "ended_entered",
        "ends_on",
        "entered",
        "fee",
        "id",
        "kind",
        "number",
        "reason",
        "starts_on",
    )


class SimCase:
    """A ``LostCase``; ``free`` is its free-month contract; ``planned_return`` the day a client
    in its free month today will come back (None when it will not)."""

    __slots__ = (
        "agreed_manager",
        "agreed_on",
        "claimed_at",
        "client",
        "closed_on",
        "decline_reason",
        "fee",
        "free",
        "free_starts",
        "id",
        "lost_by",
        "lost_on",
        "new_manager",
        "planned_return",
        "reason",
        "return_manager",
        "returned_on",
        "status",
    )


def covers(start: datetime.date, end: datetime.date | None, day: datetime.date) -> bool:
    return start <= day and (end is None or day <= end)


def coverage(rows):
    """Union of ``(start, end, reason)`` periods: ``[start, end, reason of the contract that ends
    the union]`` in date order (SPEC §4 paid coverage)."""
    unions: list[list] = []
    for start, end, reason in sorted(rows, key=lambda row: row[0]):
        last = unions[-1] if unions else None
        if last is not None and (last[1] is None or start <= last[1] + ONE_DAY):
            if last[1] is not None and (end is None or end > last[1]):
                last[1], last[2] = end, reason
        else:
            unions.append([start, end, reason])
    return unions


class Company:
    """The simulated department; ``simulate()`` fills it, ``demo.writer`` writes it."""

    def __init__(self, *, clients: int, years: int, seed: int, today: datetime.date):
        self.draws = Draws(seed)
        self.target = clients
        self.today = today
        self.last_day = today - ONE_DAY  # everything generated happened before today
        self.start = add_months(today, -12 * years)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.ids = next_ids(ASSIGNED_IDS)
        self.people = staff_plan(clients)
        self.by_id: dict[int, Person] = {}
        self.clients: list[SimClient] = []
        self.client_by_id: dict[int, SimClient] = {}
        self.contracts: list[SimContract] = []
        self.cases: list[SimCase] = []
        # Won referrals: (referrer, recorded_by, organisation, inn, contact, status, client, day).
        self.referrals: list[tuple] = []
        self.active: dict[int, None] = {}  # in the base now (ordered: a dict, never a set)
        self.load: dict[int, int] = {}
        self.books: dict[int, dict[int, None]] = {}
        self.groups: dict[int, list[Person]] = {}
        self.used_inns: set[str] = set()
        self.contract_seq = 0
        self.returns_due: dict[tuple[int, int], list[SimCase]] = {}

    # --- ids and the clock ---

    def new_id(self, model: type[models.Model]) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        """``day`` at ``hour:minute``, local time."""
        return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    # --- staff ---

    def _hire_staff(self) -> None:
        for person in self.people:
            person.id = self.new_id(User)
            self.by_id[person.id] = person
        staff_hire(self.people, draws=self.draws, start=self.start, today=self.today)
        for person in self.people:
            if person.role == Role.MENTOR:
                person.group = person.id
                self.groups[person.id] = [person]
        for person in self.people:
            if person.role == Role.CLIENT_MANAGER:
                person.group = person.mentor.id
                self.groups[person.group].append(person)
        for person in self.people:
            self.load[person.id] = 0
            self.books[person.id] = {}
        self.book_keepers = [p for p in self.people if p.role in (Role.CLIENT_MANAGER, Role.MENTOR)]
        self.sales = [p for p in self.people if p.role == Role.SALES_MANAGER]
        self.returners = [p for p in self.people if p.role == Role.RETURN_MANAGER]
        self.director = self.people[0]
        self.group_ids = list(self.groups)

    def refusal_approver(self, client: SimClient, *, requested_by: int, day: datetime.date) -> int:
        """Who approves refusing a request of ``client`` on ``day`` (SPEC §3.4), by the service's
        rule ``clients.services.refusal_goes_to_mentor``, asked of the simulated people on
        ``day`` (the simulation decides on past days, before any row exists)."""
        mentor = self.by_id[client.manager_on(day)].mentor
        if refusal_goes_to_mentor(
            mentor_id=mentor.id if mentor else None,
            mentor_active=bool(mentor and mentor.available(day)),
            requested_by_id=requested_by,
        ):
            return mentor.id
        return next(p.id for p in self.people if p.role == Role.DIRECTOR and p.available(day))

    def _ratio(self, person: Person, day: datetime.date) -> float:
        capacity = person.capacity * (0.5 if person.trainee(day) else 1.0)
        return self.load[person.id] / capacity

    def _pick(self, day: datetime.date, *, group: int | None = None, exclude=()) -> int:
        """A book keeper available on ``day``: one of the three least loaded of a group (the
        return picker of SPEC §3.3 suggests the least loaded first)."""
        groups = [group] if group is not None else []
        groups += [self.draws.choice(self.group_ids) for _draw in range(3)]
        for candidate_group in [*groups, None]:
            people = self.groups[candidate_group] if candidate_group else self.book_keepers
            ranked = sorted(
                (self._ratio(p, day), p.id)
                for p in people
                if p.id not in exclude and p.available(day)
            )
            if ranked:
                return self.draws.choice(ranked[:3])[1]
        raise RuntimeError("nobody can take the client")

    # --- clients and contracts ---

    def _number(self, day: datetime.date) -> str:
        self.contract_seq += 1
        return f"АО-{day.year}/{self.contract_seq:05d}"

    def _contract(
        self, client: SimClient, starts_on, fee, *, kind=ContractKind.PAID, entered=None
    ) -> SimContract:
        contract = SimContract()
        contract.id = self.new_id(Contract)
        contract.client = client.id
        contract.kind = kind
        contract.number = (
            self._number(starts_on) if kind == ContractKind.PAID else f"FM-{client.cases[-1].id}"
        )
        contract.starts_on = starts_on
        contract.ends_on = None
        contract.fee = fee
        contract.reason = ""
        contract.comment = ""
        contract.entered = entered or starts_on
        contract.ended_entered = None
        client.contracts.append(contract)
        self.contracts.append(contract)
        return contract

    def _current_paid(self, client: SimClient) -> SimContract:
        for contract in reversed(client.contracts):
            if contract.kind == ContractKind.PAID:
                return contract
        raise LookupError(client.id)

    def _new_client(
        self,
        channel: str,
        starts_on: datetime.date,
        *,
        referrer: SimClient | None = None,
        manager: int | None = None,
        handover: bool = True,
    ) -> SimClient:
        draws = self.draws
        if referrer is not None and draws.random() < 0.6:
            kind = referrer.kind
        else:
            kind = draws.weighted(vocab.KIND_WEIGHTS)
        if referrer is not None and draws.random() < 0.75:
            region = institutions.region_named(referrer.region)
            city = referrer.city
        else:
            region, city = institutions.place(draws)
        client = SimClient()
        client.id = self.new_id(Client)
        client.kind = kind
        client.region, client.city, client.phone_code = region[0], city, region[3]
        client.name = institutions.institution_name(draws, kind, region, city)
        client.inn, client.kpp = institutions.inn_and_kpp(draws, region[1], self.used_inns)
        client.channel = channel
        client.referred_by = referrer.id if referrer is not None else None
        client.parent = None
        client.created = starts_on - draws.days(0, 12)
        client.contracts, client.assignments, client.cases = [], [], []
        client.status = ClientStatus.PROSPECT
        self.clients.append(client)
        self.client_by_id[client.id] = client
        self._contract(
            client,
            starts_on,
            institutions.monthly_fee(draws, kind, channel),
            entered=max(client.created, starts_on - draws.days(0, 5)),
        )
        if manager is None:
            if channel == AcquisitionChannel.ACTIVE_SALES:
                manager = draws.choice(
                    [p for p in self.sales if p.available(starts_on)] or self.sales
                ).id
            elif referrer is not None:
                owner = self.by_id[referrer.manager]
                if (
                    owner.role in (Role.CLIENT_MANAGER, Role.MENTOR)
                    and owner.available(starts_on)
                    and self._ratio(owner, starts_on) < 1.1
                ):
                    manager = owner.id
                else:
                    manager = self._pick(starts_on, group=owner.group or None)
            else:
                manager = self._pick(starts_on)
        client.assignments.append(
            SimAssignment(
                self.new_id(ClientAssignment),
                manager,
                None,
                AssignmentReason.INITIAL,
                manager,
                client.created,
            )
        )
        self.books[manager][client.id] = None
        self.active[client.id] = None
        self.load[manager] += 1
        if referrer is not None:
            recorded = max(starts_on - draws.days(7, 45), referrer.created)
            self.referrals.append(
                (referrer.id, referrer.manager_on(recorded), client.name, client.inn,
                 institutions.contact_line(draws), ReferralStatus.WON, client.id, recorded)
            )  # fmt: skip
        if handover and channel == AcquisitionChannel.ACTIVE_SALES:
            day = starts_on + draws.days(5, 30)
            if day <= self.last_day:
                self._reassign(client, self._pick(day), day, AssignmentReason.HANDOVER, manager)
        return client

    def _reassign(
        self, client: SimClient, manager: int, day, reason: str, actor: int | None
    ) -> bool:
        """SPEC §2: a reassignment effective on ``day`` closes the current row on day − 1."""
        current = client.assignments[-1]
        if current.manager == manager or (
            current.starts_on is not None and day <= current.starts_on
        ):
            return False
        current.ends_on = day - ONE_DAY
        client.assignments.append(
            SimAssignment(self.new_id(ClientAssignment), manager, day, reason, actor, day)
        )
        del self.books[current.manager][client.id]
        self.books[manager][client.id] = None
        if client.id in self.active:
            self.load[current.manager] -= 1
            self.load[manager] += 1
        return True

    # --- the history ---

    def simulate(self, initial_size: int | None = None) -> None:
        """Run the history; the base it starts from defaults to today's target shrunk by the
        steady monthly growth the rates give."""
        self._hire_staff()
        if initial_size is None:
            months = month_index(self.today) - month_index(self.start)
            months += (self.today - self.today.replace(day=1)).days / 30.4
            growth = (REFERRAL_RATE + ACTIVE_SALES_RATE + INBOUND_RATE) - LOSS_RATE * (
                1 - (1 - NATURAL_SHARE_NOW) * RETURN_SHARE
            )
            initial_size = round(self.target / (1 + growth) ** months)
        self.initial_size = max(1, initial_size)
        self._initial_base(self.initial_size)
        month = self.start
        while month <= self.last_day:
            self._month(month, min(month_end(month), self.last_day))
            month = add_months(month, 1)
        self._agree_returns()
        self._finish()

    def _initial_base(self, size: int) -> None:
        draws, start = self.draws, self.start
        starts = sorted(
            start - datetime.timedelta(days=int(draws.triangular(20, 8 * 365, 200)))
            for _draw in range(size)
        )
        keepers = [p for p in self.book_keepers if p.available(start)]
        weights = [p.capacity for p in keepers]
        earlier: list[SimClient] = []
        for starts_on in starts:
            channel = draws.weighted(
                ((AcquisitionChannel.REFERRAL, 35 if len(earlier) >= 5 else 0),
                 (AcquisitionChannel.ACTIVE_SALES, 25), (AcquisitionChannel.INBOUND, 40))
            )  # fmt: skip
            referrer = draws.choice(earlier) if channel == AcquisitionChannel.REFERRAL else None
            # Clients from before the history were handed over long ago: their first
            # assignment covers all of it.
            if referrer is not None:
                manager = referrer.manager
            else:
                manager = draws.choices(keepers, weights=weights)[0].id
            client = self._new_client(
                channel, starts_on, referrer=referrer, manager=manager, handover=False
            )
            earlier.append(client)
            contract = client.contracts[0]
            if (start - starts_on).days > 400 and draws.random() < 0.35:
                # An earlier fee: the first contract ended on the day before the new fee.
                changed = starts_on + draws.days(180, (start - starts_on).days - 30)
                contract.ends_on = changed - ONE_DAY
                contract.ended_entered = changed
                self._contract(client, changed, contract.fee)
                contract.fee = Decimal(int(round(float(contract.fee) * 0.88 / 100) * 100))

    def _month(self, first: datetime.date, last: datetime.date) -> None:
        """One calendar month (``last`` is today − 1 in the current month). How many clients
        leave or refer is a quota (expected value with the remainder carried to the next month),
        so the KPIs stay near their targets at every seed; who does is drawn weighted by their
        manager's quality."""
        draws = self.draws
        share = ((last - first).days + 1) / month_end(first).day
        years_ago = (self.today - first).days / 365.25
        natural_share = max(0.05, NATURAL_SHARE_NOW - NATURAL_SHARE_GROWTH * years_ago)
        self._staff_changes(first, last)
        snapshot = list(self.active)
        base = len(snapshot)
        qualities = []
        for client_id in snapshot:
            manager = self.by_id[self.client_by_id[client_id].manager]
            qualities.append(manager.quality * (1.2 if manager.trainee(first) else 1.0))
        loss = LOSS_RATE * LOSS_SEASON[first.month - 1] * share
        natural = draws.quota("natural", loss * natural_share * base)
        controllable = draws.quota("controllable", loss * (1 - natural_share) * sum(qualities))
        leaving = draws.weighted_sample(snapshot, [1.0] * base, natural)
        natural_ids = dict.fromkeys(leaving)
        rest = [
            (cid, q) for cid, q in zip(snapshot, qualities, strict=True) if cid not in natural_ids
        ]
        leaving_controllable = draws.weighted_sample(
            [cid for cid, _q in rest], [q for _cid, q in rest], controllable
        )
        for client_id in leaving:
            self._lose(self.client_by_id[client_id], first, last, natural=True, snapshot=snapshot)
        for client_id in leaving_controllable:
            self._lose(self.client_by_id[client_id], first, last, natural=False, snapshot=snapshot)
        reassign_p = REASSIGN_RATE * share
        staying, referral_weights = [], []
        for client_id, quality in zip(snapshot, qualities, strict=True):
            if client_id not in self.active:
                continue
            client = self.client_by_id[client_id]
            draw = draws.random()
            if draw < FEE_CHANGE_RATE:
                self._change_fee(client, first)
            elif draw < FEE_CHANGE_RATE + reassign_p:
                self._random_reassign(client, first, last)
            staying.append(client)
            referral_weights.append(max(0.2, 1 + (1 - quality) * 0.8))
        referral = REFERRAL_RATE * REFERRAL_SEASON[first.month - 1] * share
        referrers = draws.weighted_sample(
            staying, referral_weights, draws.quota("referral", referral * sum(referral_weights))
        )
        for case in self.returns_due.pop((first.year, first.month), []):
            self._complete_return(case)
        for referrer in referrers:
            self._new_client(
                AcquisitionChannel.REFERRAL, self._start_day(first, last), referrer=referrer
            )
        for channel, rate in (
            (AcquisitionChannel.ACTIVE_SALES, ACTIVE_SALES_RATE),
            (AcquisitionChannel.INBOUND, INBOUND_RATE),
        ):
            for _draw in range(draws.quota(channel, rate * base * share)):
                self._new_client(channel, self._start_day(first, last))

    def _start_day(self, first: datetime.date, last: datetime.date) -> datetime.date:
        """Support contracts mostly start on the first of a month."""
        if self.draws.random() < 0.5:
            return first
        return self.draws.day_in(first, last)

    def _staff_changes(self, first: datetime.date, last: datetime.date) -> None:
        for person in self.people:
            if person.dismissed_on is not None and first <= person.dismissed_on <= last:
                self._dismiss(person)
        for person in self.people:
            if (
                person.role == Role.CLIENT_MANAGER
                and person.hired_on >= self.start
                and first <= person.hired_on <= last
            ):
                self._give_first_book(person)

    def _dismiss(self, person: Person) -> None:
        """SPEC §3.6: every client of the leaving manager goes to the group, least loaded first."""
        day = person.dismissed_on
        targets = [p for p in self.groups[person.group] if p.id != person.id and p.available(day)]
        for client_id in list(self.books[person.id]):
            target = min(targets, key=lambda p: (self._ratio(p, day), p.id))
            self._reassign(
                self.client_by_id[client_id],
                target.id,
                day,
                AssignmentReason.DISMISSAL,
                self.director.id,
            )

    def _give_first_book(self, person: Person) -> None:
        """A new manager takes over a book from the busiest colleagues of the group."""
        day = person.hired_on
        colleagues = sorted(
            (p for p in self.groups[person.group] if p.id != person.id and p.available(day)),
            key=lambda p: (-self.load[p.id], p.id),
        )
        wanted = NEW_HIRE_BOOK
        for colleague in colleagues:
            if wanted <= 0:
                break
            movable = [cid for cid in self.books[colleague.id] if cid in self.active]
            take = min(len(movable) // 3, wanted)
            for client_id in self.draws.sample(movable, take):
                if self._reassign(
                    self.client_by_id[client_id],
                    person.id,
                    day,
                    AssignmentReason.REASSIGN,
                    person.mentor.id,
                ):
                    wanted -= 1

    def _random_reassign(self, client: SimClient, first, last) -> None:
        day = self.draws.day_in(first, last)
        manager = self.by_id[client.manager]
        if not manager.group:
            return
        target = self._pick(day, group=manager.group, exclude=(manager.id,))
        self._reassign(client, target, day, AssignmentReason.REASSIGN, self.by_id[manager.group].id)

    def _change_fee(self, client: SimClient, first: datetime.date) -> None:
        """SPEC §2 ``contract_change_fee``: the contract ends on d − 1, the next starts on d."""
        current = self._current_paid(client)
        if first <= current.starts_on:
            return
        draws = self.draws
        factor = draws.uniform(1.04, 1.15) if draws.random() < 0.8 else draws.uniform(0.85, 0.95)
        fee = Decimal(int(round(float(current.fee) * factor / 100) * 100))
        if fee == current.fee:
            return
        current.ends_on = first - ONE_DAY
        entered = first - draws.days(1, 10)
        current.ended_entered = max(entered, current.entered)
        self._contract(client, first, fee, entered=max(entered, current.entered))

    def _lose(self, client: SimClient, first, last, *, natural: bool, snapshot: list[int]) -> None:
        draws = self.draws
        contract = self._current_paid(client)
        real_end = month_end(first) == last
        day = last if real_end and draws.random() < 0.6 else draws.day_in(first, last)
        floor = max(contract.starts_on, client.assignments[-1].starts_on or contract.starts_on)
        day = max(day, floor)
        if day > last:
            return
        if natural:
            reason = (
                TerminationReason.MERGER if draws.random() < 0.65 else TerminationReason.LIQUIDATION
            )
        else:
            reason = draws.weighted(CONTROLLABLE_REASONS)
        contract.ends_on = day
        contract.reason = reason
        contract.comment = vocab.TERMINATION_COMMENTS[reason]
        contract.ended_entered = max(contract.entered, day - draws.days(0, 20))
        del self.active[client.id]
        self.load[client.manager] -= 1
        if reason == TerminationReason.MERGER:
            for _draw in range(20):
                other = self.client_by_id[draws.choice(snapshot)]
                if (
                    other.id != client.id
                    and other.id in self.active
                    and other.region == client.region
                ):
                    client.parent = other.id
                    break
        if not natural:
            self._open_case(client, day, reason, contract.fee)

    def _open_case(self, client: SimClient, ends_on, reason: str, fee: Decimal) -> None:
        """A controllable loss opens a case; its whole future is decided now and cut at today."""
        draws, today = self.draws, self.today
        case = SimCase()
        case.id = self.new_id(LostCase)
        case.client = client.id
        case.lost_on = ends_on + ONE_DAY
        case.lost_by = client.manager_on(ends_on)
        case.reason, case.fee = reason, fee
        case.status = CaseStatus.OPEN
        case.return_manager = case.claimed_at = case.free = case.free_starts = None
        case.returned_on = case.new_manager = case.closed_on = None
        case.planned_return = case.agreed_on = case.agreed_manager = None
        case.decline_reason = ""
        client.cases.append(case)
        self.cases.append(case)
        returner = draws.choice(self.returners)
        claim_day = case.lost_on + draws.days(0, 6)
        claimed_at = self.at(claim_day, draws.randint(9, 17), draws.randint(0, 59))
        free_starts = returned_on = declined_on = None
        window = datetime.timedelta(days=settings.RETURN_WINDOW_DAYS)
        if draws.quota("return", RETURN_SHARE):
            free_starts = claim_day + draws.days(1, 8)
            returned_on = one_month_period_end(free_starts) + ONE_DAY
        elif draws.random() < 0.55:
            if draws.random() < 0.35:
                free_starts = claim_day + draws.days(1, 8)
                declined_on = one_month_period_end(free_starts) + draws.days(1, 10)
            else:
                declined_on = claim_day + draws.days(3, 60)
            if declined_on >= case.lost_on + window:
                declined_on = None
        else:
            if draws.random() < 0.5:
                claim_day = claimed_at = None
        window_end = case.lost_on + window
        if claim_day is not None and claim_day < today:
            case.status = CaseStatus.CLAIMED
            case.return_manager, case.claimed_at = returner.id, claimed_at
        if (
            free_starts is not None
            and free_starts < today
            and (declined_on is None or free_starts < declined_on)
        ):
            case.status = CaseStatus.FREE_MONTH
            case.free_starts = free_starts
            case.free = self._contract(
                client, free_starts, Decimal(0), kind=ContractKind.FREE_MONTH
            )
            case.free.ends_on = one_month_period_end(free_starts)
        if returned_on is not None:
            if returned_on < today:
                case.returned_on = returned_on
                self.returns_due.setdefault((returned_on.year, returned_on.month), []).append(case)
            elif case.status == CaseStatus.FREE_MONTH:
                case.planned_return = returned_on
        elif declined_on is not None and declined_on < today:
            case.status = CaseStatus.DECLINED
            case.closed_on = declined_on
            case.decline_reason = draws.choice(vocab.DECLINE_REASONS)
        elif declined_on is None and window_end < today:
            # The nightly job declines it on the day the window ran out (SPEC §3.3).
            case.status = CaseStatus.DECLINED
            case.closed_on = window_end
            case.decline_reason = vocab.WINDOW_RAN_OUT

    def _complete_return(self, case: SimCase) -> None:
        """The return of SPEC §3.3: a new paid contract, and a manager who did not lose it."""
        client = self.client_by_id[case.client]
        day = case.returned_on
        current = client.manager
        manager = self._pick(day, exclude=(case.lost_by, current))
        fee = (
            case.fee
            if self.draws.random() < 0.65
            else Decimal(int(round(float(case.fee) * 0.9 / 100) * 100))
        )
        self._contract(client, day, fee)
        self.active[client.id] = None
        self.load[current] += 1
        if not self._reassign(client, manager, day, AssignmentReason.RETURN, case.return_manager):
            manager = current
        if manager == case.lost_by:
            raise AssertionError("a returned client went back to the manager who lost it")
        case.status = CaseStatus.RETURNED
        case.closed_on = day
        case.new_manager = manager

    def _agree_returns(self) -> None:
        """SPEC §3.3: a client in its free month today that will come back after it, and has
        made up its mind before today, has an agreed return on its case: from the day after
        the free month, at the lost fee, to one of the three least loaded book keepers today
        (never the one who lost it). The day it agreed and the manager follow from the day of
        the loss, not from draws, so the rest of the company is the same as without
        agreements; the nightly chain carries them out on their day, so only days still ahead
        are agreed."""
        today = self.today
        for case in self.cases:
            if case.planned_return is None or case.planned_return <= today:
                continue
            mark = case.lost_on.toordinal()
            days = AGREED_AFTER_DAYS + mark % AGREED_SPREAD_DAYS
            agreed_on = case.free.starts_on + datetime.timedelta(days=days)
            if agreed_on >= today:
                continue
            current = self.client_by_id[case.client].manager
            ranked = sorted(
                (self._ratio(person, today), person.id)
                for person in self.book_keepers
                if person.id not in (case.lost_by, current) and person.available(today)
            )
            if not ranked:
                continue
            case.agreed_on = agreed_on
            case.agreed_manager = ranked[mark % min(3, len(ranked))][1]

    def _finish(self) -> None:
        """Each client's status today, derived as the product derives it (SPEC §2)."""
        today = self.today
        for client in self.clients:
            periods = [
                (c.starts_on, c.ends_on) for c in client.contracts if c.kind == ContractKind.PAID
            ]
            case = client.cases[-1] if client.cases else None
            active_case = (
                case.status
                if case is not None
                and case.status in (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.FREE_MONTH)
                else None
            )
            in_free = (
                case is not None
                and case.free is not None
                and covers(case.free.starts_on, case.free.ends_on, today)
            )
            client.status = derive_client_status(
                paid_periods=periods,
                active_case_status=active_case,
                in_free_month=in_free,
                today=today,
            )

    def base_today(self) -> int:
        return sum(1 for client in self.clients if client.status == ClientStatus.ACTIVE)
