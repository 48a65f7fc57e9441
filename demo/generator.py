"""The demo company of SPEC §8 (``manage.py seed_demo``): a deterministic, realistic department.

The company is simulated month by month from ``years`` before ``today``: clients enter (referrals,
active sales, inbound), change fees, change managers, leave (natural or controllable losses), and
lost clients go through the return workflow. Rates are per active client per month, so every
figure scales with the size of the base; they are tuned so that the KPIs of SPEC §4 computed from
the written rows match today's company of SPEC §1: about 22 % annual churn (≈15 % of it natural),
about 40 referral clients a month at 1,500 clients, about 40 % of closed cases returned.

Everything random comes from one private ``random.Random(seed)`` and is consumed in a fixed order,
so the same seed and the same ``today`` give the same rows. The rows are written in bulk
(``demo.tables``: PostgreSQL ``COPY``, batched inserts elsewhere) with ids assigned here,
bypassing the services: the generator builds a consistent history directly instead of replaying
years of actions, and ends by refreshing the client statuses with the service that the nightly job
uses. History rows (django-simple-history) are written for the audited models with the dates the
changes happened, so client timelines read as if the company had used the CRM all along.
"""

from __future__ import annotations

import calendar
import datetime
import heapq
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from django.utils.translation import gettext as _

from clients.contact_signals import contact_signals_refresh
from clients.models import (
    CONTACT_SIGNAL_FIELDS,
    NATURAL_REASONS,
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientKind,
    ClientRequest,
    ClientStatus,
    Contact,
    Contract,
    ContractKind,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    Referral,
    ReferralStatus,
    RequestStatus,
    RequestUrgency,
    Task,
    TaskKind,
    TerminationReason,
)
from clients.services import request_due_at
from clients.validators import inn_with_check_digits
from demo import vocabulary as vocab
from demo.tables import BulkTables, next_ids, reset_sequences
from kpi.models import Goal
from retention.models import CaseStatus, LostCase
from retention.services import clients_refresh_statuses, derive_client_status
from staff.models import DEFAULT_CAPACITY, Role, User

# Every demo user logs in with this password (printed by seed_demo and demo_logins).
DEMO_PASSWORD = "abonent-demo"
# A fixed salt: all demo users share one password hash, which is how demo_logins finds them.
_DEMO_SALT = "abonentdemo"

# The company of SPEC §1 has this many paying clients; staff scales with clients / BASE_CLIENTS.
BASE_CLIENTS = 1500
GOAL_MULTIPLIER = 4  # 1,500 → 6,000 clients
GOAL_YEARS = 3

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
FEE_CHANGE_RATE = 0.008
REASSIGN_RATE = 0.004
REQUEST_RATE = 0.12
# Days between two reached contacts with a client (≈ 1.3 a month, with the unanswered calls
# ≈ 1.8 interactions a month: ≈ 3 million over 5 years at 60,000 clients).
CONTACT_GAP_DAYS = (15, 31)
REACH_PROBABILITY = 0.78
RECENT_DAYS = 10  # requests younger than this are still being worked

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

# Client managers of one 12-person department: (profile, quality). Quality scales a manager's
# losses (1.0 = the company average) and, inversely, the referrals their clients bring.
MANAGER_SLOTS = (
    ("veteran", 0.75),
    ("veteran", 0.9),
    ("veteran", 1.0),
    ("veteran", 1.05),
    ("veteran", 1.2),
    ("veteran", 1.4),
    ("mid", 0.95),
    ("mid", 1.1),
    ("replacement", 1.0),
    ("trainee", 1.25),
    ("trainee", 1.3),
    ("trainee", 1.2),
)
MENTOR_QUALITY = 0.7
FORMER_QUALITY = 1.5
MENTOR_CAPACITY = 60
NEW_HIRE_BOOK = 30  # clients a new manager takes over from the group on the first day

ONE_DAY = datetime.timedelta(days=1)
# Models whose ids the generator assigns (rows refer to each other before they are written).
_ASSIGNED_IDS = (User, Client, Contract, ClientAssignment, LostCase, ClientRequest)


# --- public API -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: str
    password: str


@dataclass(frozen=True)
class DemoKpis:
    """The SPEC §4 headline figures over the last 12 complete months."""

    month: datetime.date  # the last complete month (its first day)
    base_today: int
    base_year_ago: int
    churned_12m: int
    churned_natural_12m: int
    annual_churn: float
    referrals_per_month: float
    cases_returned_12m: int
    cases_declined_12m: int
    return_rate_12m: float


@dataclass
class DemoResult:
    logins: list[DemoLogin]
    counts: dict[str, int]
    kpis: DemoKpis
    status_fixes: int
    seconds: dict[str, float] = field(default_factory=dict)


def demo_company_seed(
    *,
    clients: int = BASE_CLIENTS,
    years: int = 3,
    seed: int = 42,
    today: datetime.date,
) -> DemoResult:
    """Build the demo company in one transaction. Expects a database without clients and without
    the demo usernames (the command checks both)."""
    if clients < 10:
        raise ValueError("clients must be at least 10")
    if not 1 <= years <= 10:
        raise ValueError("years must be between 1 and 10")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # A first run measures how far the analytic starting base misses today's target; the second
    # run, from a corrected start and the same seed, is the one written.
    probe = _Company(clients=clients, years=years, seed=seed, today=today)
    probe.simulate()
    size = round(probe.initial_size * clients / max(1, probe.base_today()))
    company = _Company(clients=clients, years=years, seed=seed, today=today)
    company.simulate(initial_size=size)
    timings["simulate"] = time.perf_counter() - started
    with transaction.atomic():
        company.write(timings=timings)
        mark = time.perf_counter()
        contact_signals_refresh()
        timings["contact signals"] = time.perf_counter() - mark
        mark = time.perf_counter()
        status_fixes = clients_refresh_statuses(today=today)
        timings["statuses"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return DemoResult(
        logins=company.logins(),
        counts=company.counts,
        kpis=company.kpis(),
        status_fixes=status_fixes,
        seconds=timings,
    )


def demo_usernames(*, clients: int = BASE_CLIENTS) -> list[str]:
    """The usernames seed_demo creates for a base of ``clients``."""
    return [person.username for person in _staff_plan(clients)]


def demo_logins() -> list[DemoLogin]:
    """Active users whose password is still the demo password, director first."""
    users = list(
        User.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("username", "full_name", "role", "password")
    )
    verdicts: dict[str, bool] = {}
    for *_fields, encoded in users:
        if encoded not in verdicts:
            verdicts[encoded] = bool(encoded) and check_password(DEMO_PASSWORD, encoded)
    order = {role: i for i, role in enumerate(Role.values)}
    found = [
        DemoLogin(username, full_name, role, DEMO_PASSWORD)
        for username, full_name, role, encoded in users
        if verdicts[encoded]
    ]
    return sorted(found, key=lambda login: order.get(login.role, len(order)))


def demo_logins_table(logins: list[DemoLogin]) -> str:
    """The logins as an aligned text table, for the commands."""
    labels = dict(Role.choices)
    rows = [
        (_("Username"), _("Role"), _("Full name"), _("Password")),
        *((x.username, str(labels.get(x.role, x.role)), x.full_name, x.password) for x in logins),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([_("Demo logins:"), *lines])


def demo_kpis(
    *,
    contracts: Iterable[tuple[int, str, datetime.date, datetime.date | None, str]],
    channels: dict[int, str],
    cases: Iterable[tuple[str, datetime.date | None]],
    today: datetime.date,
) -> DemoKpis:
    """SPEC §4 annual churn, referrals a month and 12-month return rate, counted straight from
    contract rows ``(client_id, kind, starts_on, ends_on, termination_reason)`` and case rows
    ``(status, closed_on)``, over the 12 complete months before ``today``'s month."""
    month = _add_months(today.replace(day=1), -1)
    window_first = _add_months(month, -11)
    window_last = _month_end(month)
    year_ago = window_first - ONE_DAY
    periods: dict[int, list[tuple[datetime.date, datetime.date | None, str]]] = {}
    for client_id, kind, starts_on, ends_on, reason in contracts:
        if kind == ContractKind.PAID:
            periods.setdefault(client_id, []).append((starts_on, ends_on, reason))
    base_today = base_year_ago = churned = natural = referrals = 0
    for client_id, rows in periods.items():
        for index, (start, end, reason) in enumerate(_coverage(rows)):
            if _covers(start, end, year_ago):
                base_year_ago += 1
            if _covers(start, end, today):
                base_today += 1
            if end is not None and window_first <= end + ONE_DAY <= window_last:
                churned += 1
                natural += reason in NATURAL_REASONS
            if (
                index == 0
                and channels.get(client_id) == AcquisitionChannel.REFERRAL
                and window_first <= start <= window_last
            ):
                referrals += 1
    returned = declined = 0
    for status, closed_on in cases:
        if closed_on is not None and window_first <= closed_on <= window_last:
            returned += status == CaseStatus.RETURNED
            declined += status == CaseStatus.DECLINED
    return DemoKpis(
        month=month,
        base_today=base_today,
        base_year_ago=base_year_ago,
        churned_12m=churned,
        churned_natural_12m=natural,
        annual_churn=churned / base_year_ago if base_year_ago else 0.0,
        referrals_per_month=referrals / 12,
        cases_returned_12m=returned,
        cases_declined_12m=declined,
        return_rate_12m=returned / (returned + declined) if returned + declined else 0.0,
    )


# --- dates ----------------------------------------------------------------------------------


def _add_months(first: datetime.date, months: int) -> datetime.date:
    years, month = divmod(first.month - 1 + months, 12)
    return datetime.date(first.year + years, month + 1, 1)


def _month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _free_month_end(day: datetime.date) -> datetime.date:
    """The last day of a one-calendar-month free month starting on ``day`` (as the service)."""
    nxt = _add_months(day.replace(day=1), 1)
    return nxt.replace(day=min(day.day, calendar.monthrange(nxt.year, nxt.month)[1])) - ONE_DAY


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _workday(day: datetime.date) -> datetime.date:
    """Weekend contacts move to Friday."""
    weekday = day.weekday()
    return day - datetime.timedelta(days=weekday - 4) if weekday > 4 else day


def _covers(start: datetime.date, end: datetime.date | None, day: datetime.date) -> bool:
    return start <= day and (end is None or day <= end)


def _coverage(rows):
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


# --- the simulation -------------------------------------------------------------------------


class _Person:
    __slots__ = (
        "capacity",
        "dismissed_on",
        "full_name",
        "gender",
        "group",
        "hired_on",
        "id",
        "mentor",
        "profile",
        "quality",
        "ramp_until",
        "role",
        "username",
    )

    def __init__(self, username: str, role: str, profile: str = "", quality: float = 1.0):
        self.username, self.role, self.profile, self.quality = username, role, profile, quality
        self.id = 0
        self.full_name = ""
        self.gender = 0
        self.mentor: _Person | None = None
        self.group = 0
        self.hired_on = self.ramp_until = self.dismissed_on = None
        self.capacity = MENTOR_CAPACITY if role == Role.MENTOR else DEFAULT_CAPACITY

    def available(self, day: datetime.date) -> bool:
        return self.hired_on <= day and (self.dismissed_on is None or day < self.dismissed_on)

    def trainee(self, day: datetime.date) -> bool:
        return self.ramp_until is not None and day <= self.ramp_until


def _staff_plan(clients: int) -> list[_Person]:
    """Who works in the department, in id order (no dates or names yet)."""
    scale = clients / BASE_CLIENTS
    mentors = [_Person(f"mentor{i + 1}", Role.MENTOR, "mentor", MENTOR_QUALITY) for i in range(max(3, round(3 * scale)))]  # fmt: skip
    managers = []
    for i in range(max(12, round(12 * scale))):
        profile, quality = MANAGER_SLOTS[i % len(MANAGER_SLOTS)]
        managers.append(_Person(f"manager{i + 1}", Role.CLIENT_MANAGER, profile, quality))
    replacements = [m for m in managers if m.profile == "replacement"]
    formers = [
        _Person(f"former{i + 1}", Role.CLIENT_MANAGER, "former", FORMER_QUALITY)
        for i in range(len(replacements))
    ]
    returners = [
        _Person("returner" if i == 0 else f"returner{i + 1}", Role.RETURN_MANAGER, "returner")
        for i in range(max(1, round(scale)))
    ]
    sales = [
        _Person(f"sales{i + 1}", Role.SALES_MANAGER, "sales")
        for i in range(max(2, round(2 * scale)))
    ]
    for i, person in enumerate(managers):
        person.mentor = mentors[i % len(mentors)]
    for former, replacement in zip(formers, replacements, strict=True):
        former.mentor = replacement.mentor
    director = _Person("director", Role.DIRECTOR, "director")
    return [director, *mentors, *managers, *formers, *returners, *sales]


class _Client:
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
        "last_reached",
        "name",
        "parent",
        "phone_code",
        "referred_by",
        "region",
        "status",
    )

    def manager_on(self, day: datetime.date) -> int:
        for row in reversed(self.assignments):
            if row[2] is None or row[2] <= day:
                return row[1]
        return self.assignments[0][1]

    @property
    def manager(self) -> int:
        return self.assignments[-1][1]


class _Contract:
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


class _Case:
    __slots__ = (
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
        "reason",
        "return_manager",
        "returned_on",
        "status",
    )


class _Company:
    def __init__(self, *, clients: int, years: int, seed: int, today: datetime.date):
        self.rng = random.Random(seed)
        self.target = clients
        self.today = today
        self.last_day = today - ONE_DAY  # everything generated happened before today
        self.start = _add_months(today.replace(day=1), -12 * years)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.ids = next_ids(_ASSIGNED_IDS)
        self.people = _staff_plan(clients)
        self.by_id: dict[int, _Person] = {}
        self.clients: list[_Client] = []
        self.client_by_id: dict[int, _Client] = {}
        self.contracts: list[_Contract] = []
        self.cases: list[_Case] = []
        self.referrals: list[tuple] = []
        self.active: dict[int, None] = {}  # in the base now (ordered: a dict, never a set)
        self.load: dict[int, int] = {}
        self.books: dict[int, dict[int, None]] = {}
        self.groups: dict[int, list[_Person]] = {}
        self.used_inns: set[str] = set()
        self.contract_seq = 0
        self.counts: dict[str, int] = {}
        self.returns_due: dict[tuple[int, int], list[_Case]] = {}
        self.carry: dict[str, float] = {}

    # --- ids and helpers ---

    def _id(self, model: type[models.Model]) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def _at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def _weighted(self, pairs):
        values, weights = zip(*pairs, strict=True)
        return self.rng.choices(values, weights=weights)[0]

    def _days(self, low: int, high: int) -> datetime.timedelta:
        return datetime.timedelta(days=self.rng.randint(low, high))

    def _day_in(self, first: datetime.date, last: datetime.date) -> datetime.date:
        return first + datetime.timedelta(days=self.rng.randint(0, (last - first).days))

    # --- staff ---

    def _hire_staff(self) -> None:
        rng, start, today = self.rng, self.start, self.today
        span = (today - start).days
        names = set()
        formers = [p for p in self.people if p.profile == "former"]
        replacements = [p for p in self.people if p.profile == "replacement"]
        for person in self.people:
            person.id = self._id(User)
            self.by_id[person.id] = person
            while True:
                person.gender = rng.randint(0, 1)
                surname = rng.choice(vocab.SURNAMES)[person.gender]
                first = rng.choice(
                    vocab.FEMALE_FIRST_NAMES if person.gender else vocab.MALE_FIRST_NAMES
                )
                patronymic = rng.choice(vocab.PATRONYMICS)[person.gender]
                full_name = f"{surname} {first} {patronymic}"
                if full_name not in names:
                    names.add(full_name)
                    person.full_name = full_name
                    break
        mid_index = 0
        for person in self.people:
            profile = person.profile
            if profile == "director":
                person.hired_on = start - self._days(1400, 2200)
            elif profile == "mentor":
                person.hired_on = start - self._days(900, 2600)
            elif profile == "veteran":
                person.hired_on = start - self._days(120, 2000)
            elif profile == "mid":
                share = (0.3, 0.6)[mid_index % 2] + rng.uniform(-0.08, 0.08)
                mid_index += 1
                person.hired_on = start + datetime.timedelta(days=int(span * share))
                person.ramp_until = person.hired_on + self._days(120, 180)
            elif profile == "trainee":
                person.hired_on = today - self._days(35, 115)
                person.ramp_until = max(person.hired_on + self._days(120, 180), today + ONE_DAY)
            elif profile == "returner":
                person.hired_on = start - self._days(200, 700)
            elif profile == "sales":
                person.hired_on = start - self._days(300, 1100)
            elif profile == "former":
                person.hired_on = start - self._days(600, 1500)
        for i, (former, replacement) in enumerate(zip(formers, replacements, strict=True)):
            months_ago = min(7 + i % 4, 12 * (today - start).days // 366 - 2)
            former.dismissed_on = max(_add_months(today.replace(day=1), -months_ago), start)
            replacement.hired_on = former.dismissed_on + self._days(3, 14)
            replacement.ramp_until = replacement.hired_on + self._days(120, 180)
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

    def _approver(self, manager_id: int) -> int:
        """SPEC §3.4: the manager's mentor approves a refusal, or the director."""
        mentor = self.by_id[manager_id].mentor
        return mentor.id if mentor is not None else self.director.id

    def _ratio(self, person: _Person, day: datetime.date) -> float:
        capacity = person.capacity * (0.5 if person.trainee(day) else 1.0)
        return self.load[person.id] / capacity

    def _pick(self, day: datetime.date, *, group: int | None = None, exclude=()) -> int:
        """A book keeper available on ``day``: one of the three least loaded of a group (the
        return picker of SPEC §3.3 suggests the least loaded first)."""
        groups = [group] if group is not None else []
        groups += [self.rng.choice(self.group_ids) for _draw in range(3)]
        for candidate_group in [*groups, None]:
            people = self.groups[candidate_group] if candidate_group else self.book_keepers
            ranked = sorted(
                (self._ratio(p, day), p.id)
                for p in people
                if p.id not in exclude and p.available(day)
            )
            if ranked:
                return self.rng.choice(ranked[:3])[1]
        raise RuntimeError("nobody can take the client")

    # --- clients ---

    def _inn(self, region_code: str) -> tuple[str, str]:
        while True:
            office = f"{region_code}{self.rng.randint(1, 68):02d}"
            inn = inn_with_check_digits(f"{office}{self.rng.randint(0, 99999):05d}")
            if inn not in self.used_inns:
                self.used_inns.add(inn)
                return inn, f"{office}01001"

    def _place(self):
        region = self._weighted((r, r[2]) for r in vocab.REGIONS)
        city = self._weighted(region[4])
        return region, city

    def _institution(self, kind: str, region, city: str) -> str:
        rng = self.rng
        district = rng.choice(region[5])
        district_fem = district[:-3] + "ая"
        district_masc = district[:-3] + "ий"
        village = rng.choice(vocab.VILLAGE_ADJECTIVES)
        # Big cities have schools and kindergartens up to № 150, small towns a few dozen.
        number = rng.randint(1, 150 if dict(region[4]).get(city, 0) >= 5 else 30)
        if region[1] == "24" or region[0].endswith("край"):
            health = "КГБУЗ"
        elif region[0].endswith("область"):
            health = "ОГБУЗ"
        else:
            health = "ГБУЗ"
        options = {
            ClientKind.SCHOOL: (
                f"МБОУ «Средняя общеобразовательная школа № {number}»",
                f"МАОУ «Гимназия № {number % 20 + 1}»",
                f"МБОУ «Лицей № {number % 15 + 1}»",
                f"МБОУ «Основная общеобразовательная школа № {number}»",
                f"МКОУ «{village[0]} средняя школа»",
            ),
            ClientKind.KINDERGARTEN: (
                f"МБДОУ «Детский сад № {number}»",
                f"МАДОУ «Детский сад № {number} «{rng.choice(vocab.KINDERGARTEN_NICKNAMES)}»»",
                f"МКДОУ «{village[1]} детский сад»",
            ),
            ClientKind.HOSPITAL: (
                f"{health} «Городская больница № {number % 20 + 1}»",
                f"{health} «Городская поликлиника № {number % 16 + 1}»",
                f"{health} «{district_fem} районная больница»",
                f"{health} «Стоматологическая поликлиника № {number % 6 + 1}»",
            ),
            ClientKind.ADMINISTRATION: (
                f"Администрация {district} района",
                f"Администрация города {city}",
                f"Администрация {village[2]} сельсовета",
                f"Финансовое управление администрации {district} района",
                f"Управление образования администрации {district} района",
            ),
            ClientKind.CULTURE: (
                f"МБУК «{village[1]} сельский Дом культуры»",
                f"МБУК «Централизованная библиотечная система {district} района»",
                f"МБУ ДО «Детская школа искусств № {number % 12 + 1}»",
                "МБУК «Городской Дом культуры»",
                f"МБУК «{district_masc} районный краеведческий музей»",
            ),
            ClientKind.OTHER: (
                f"МКУ «Централизованная бухгалтерия {district} района»",
                f"МБУ ДО «Спортивная школа № {number % 10 + 1}»",
                "МБУ «Комплексный центр социального обслуживания населения»",
                "МКУ «Центр хозяйственного обслуживания»",
                "МБУ «Молодёжный центр»",
            ),
        }[kind]
        return rng.choice(options)

    def _fee(self, kind: str, channel: str) -> Decimal:
        low, high = vocab.FEE_RANGES[kind]
        fee = self.rng.uniform(low, high)
        if channel == AcquisitionChannel.ACTIVE_SALES:
            fee *= 1.15  # a client won from a competitor at the highest possible fee
        return Decimal(int(round(fee / 500) * 500))

    def _number(self, day: datetime.date) -> str:
        self.contract_seq += 1
        return f"АО-{day.year}/{self.contract_seq:05d}"

    def _contract(
        self, client: _Client, starts_on, fee, *, kind=ContractKind.PAID, entered=None
    ) -> _Contract:
        contract = _Contract()
        contract.id = self._id(Contract)
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

    def _current_paid(self, client: _Client) -> _Contract:
        for contract in reversed(client.contracts):
            if contract.kind == ContractKind.PAID:
                return contract
        raise LookupError(client.id)

    def _new_client(
        self,
        channel: str,
        starts_on: datetime.date,
        *,
        referrer: _Client | None = None,
        manager: int | None = None,
        handover: bool = True,
    ) -> _Client:
        rng = self.rng
        if referrer is not None and rng.random() < 0.6:
            kind = referrer.kind
        else:
            kind = self._weighted(vocab.KIND_WEIGHTS)
        if referrer is not None and rng.random() < 0.75:
            region = next(r for r in vocab.REGIONS if r[0] == referrer.region)
            city = referrer.city
        else:
            region, city = self._place()
        client = _Client()
        client.id = self._id(Client)
        client.kind = kind
        client.region, client.city, client.phone_code = region[0], city, region[3]
        client.name = self._institution(kind, region, city)
        client.inn, client.kpp = self._inn(region[1])
        client.channel = channel
        client.referred_by = referrer.id if referrer is not None else None
        client.parent = None
        client.created = starts_on - self._days(0, 12)
        client.contracts, client.assignments, client.cases = [], [], []
        client.status = ClientStatus.PROSPECT
        client.last_reached = None
        self.clients.append(client)
        self.client_by_id[client.id] = client
        self._contract(
            client,
            starts_on,
            self._fee(kind, channel),
            entered=max(client.created, starts_on - self._days(0, 5)),
        )
        if manager is None:
            if channel == AcquisitionChannel.ACTIVE_SALES:
                manager = rng.choice(
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
            [
                self._id(ClientAssignment),
                manager,
                None,
                None,
                AssignmentReason.INITIAL,
                manager,
                client.created,
            ]
        )
        self.books[manager][client.id] = None
        self.active[client.id] = None
        self.load[manager] += 1
        if referrer is not None:
            recorded = max(starts_on - self._days(7, 45), referrer.created)
            self.referrals.append(
                (referrer.id, referrer.manager_on(recorded), client.name, client.inn,
                 self._contact_line(), ReferralStatus.WON, client.id, recorded)
            )  # fmt: skip
        if handover and channel == AcquisitionChannel.ACTIVE_SALES:
            day = starts_on + self._days(5, 30)
            if day <= self.last_day:
                self._reassign(client, self._pick(day), day, AssignmentReason.HANDOVER, manager)
        return client

    def _contact_line(self) -> str:
        gender = self.rng.randint(0, 1)
        surname = self.rng.choice(vocab.SURNAMES)[gender]
        first = self.rng.choice(vocab.FEMALE_FIRST_NAMES if gender else vocab.MALE_FIRST_NAMES)
        position = self.rng.choice(vocab.REFERRAL_CONTACT_POSITIONS)
        phone = f"+7 9{self.rng.randint(0, 99):02d} {self.rng.randint(100, 999)}-{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}"
        return f"{surname} {first}, {position}, {phone}"

    def _reassign(self, client: _Client, manager: int, day, reason: str, actor: int | None) -> bool:
        current = client.assignments[-1]
        if current[1] == manager or (current[2] is not None and day <= current[2]):
            return False
        current[3] = day - ONE_DAY
        client.assignments.append(
            [self._id(ClientAssignment), manager, day, None, reason, actor, day]
        )
        del self.books[current[1]][client.id]
        self.books[manager][client.id] = None
        if client.id in self.active:
            self.load[current[1]] -= 1
            self.load[manager] += 1
        return True

    # --- the history ---

    def simulate(self, initial_size: int | None = None) -> None:
        """Run the history; the base it starts from defaults to today's target shrunk by the
        steady monthly growth the rates give."""
        self._hire_staff()
        if initial_size is None:
            months = 12 * (self.today.year - self.start.year) + self.today.month - self.start.month
            months += (self.today - self.today.replace(day=1)).days / 30.4
            growth = (REFERRAL_RATE + ACTIVE_SALES_RATE + INBOUND_RATE) - LOSS_RATE * (
                1 - (1 - NATURAL_SHARE_NOW) * RETURN_SHARE
            )
            initial_size = round(self.target / (1 + growth) ** months)
        self.initial_size = max(1, initial_size)
        self._initial_base(self.initial_size)
        month = self.start
        while month <= self.last_day:
            self._month(month, min(_month_end(month), self.last_day))
            month = _add_months(month, 1)
        self._finish()

    def _initial_base(self, size: int) -> None:
        rng, start = self.rng, self.start
        starts = sorted(
            start - datetime.timedelta(days=int(rng.triangular(20, 8 * 365, 200)))
            for _draw in range(size)
        )
        keepers = [p for p in self.book_keepers if p.available(start)]
        weights = [p.capacity for p in keepers]
        earlier: list[_Client] = []
        for starts_on in starts:
            channel = self._weighted(
                ((AcquisitionChannel.REFERRAL, 35 if len(earlier) >= 5 else 0),
                 (AcquisitionChannel.ACTIVE_SALES, 25), (AcquisitionChannel.INBOUND, 40))
            )  # fmt: skip
            referrer = rng.choice(earlier) if channel == AcquisitionChannel.REFERRAL else None
            # Clients from before the history were handed over long ago: their first
            # assignment covers all of it.
            if referrer is not None:
                manager = referrer.manager
            else:
                manager = rng.choices(keepers, weights=weights)[0].id
            client = self._new_client(
                channel, starts_on, referrer=referrer, manager=manager, handover=False
            )
            earlier.append(client)
            contract = client.contracts[0]
            if (start - starts_on).days > 400 and rng.random() < 0.35:
                # An earlier fee: the first contract ended on the day before the new fee.
                changed = starts_on + self._days(180, (start - starts_on).days - 30)
                contract.ends_on = changed - ONE_DAY
                contract.ended_entered = changed
                self._contract(client, changed, contract.fee)
                contract.fee = Decimal(int(round(float(contract.fee) * 0.88 / 100) * 100))

    def _month(self, first: datetime.date, last: datetime.date) -> None:
        """One calendar month (``last`` is today − 1 in the current month). How many clients
        leave or refer is a quota (expected value with the remainder carried to the next month),
        so the KPIs stay near their targets at every seed; who does is drawn weighted by their
        manager's quality."""
        rng = self.rng
        days_in_month = calendar.monthrange(first.year, first.month)[1]
        share = ((last - first).days + 1) / days_in_month
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
        natural = self._quota("natural", loss * natural_share * base)
        controllable = self._quota("controllable", loss * (1 - natural_share) * sum(qualities))
        leaving = self._weighted_sample(snapshot, [1.0] * base, natural)
        natural_ids = dict.fromkeys(leaving)
        rest = [
            (cid, q) for cid, q in zip(snapshot, qualities, strict=True) if cid not in natural_ids
        ]
        leaving_controllable = self._weighted_sample(
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
            draw = rng.random()
            if draw < FEE_CHANGE_RATE:
                self._change_fee(client, first)
            elif draw < FEE_CHANGE_RATE + reassign_p:
                self._random_reassign(client, first, last)
            staying.append(client)
            referral_weights.append(max(0.2, 1 + (1 - quality) * 0.8))
        referral = REFERRAL_RATE * REFERRAL_SEASON[first.month - 1] * share
        referrers = self._weighted_sample(
            staying, referral_weights, self._quota("referral", referral * sum(referral_weights))
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
            for _draw in range(self._quota(channel, rate * base * share)):
                self._new_client(channel, self._start_day(first, last))

    def _quota(self, name: str, expected: float) -> int:
        """A whole number of events near ``expected``: the remainder carries over, jittered."""
        carried = self.carry.get(name, 0.0) + expected
        count = max(0, int(carried + self.rng.uniform(-0.5, 0.5)))
        self.carry[name] = carried - count
        return count

    def _weighted_sample(self, items: list, weights: list[float], count: int) -> list:
        """``count`` distinct items, each drawn with probability proportional to its weight
        (Efraimidis–Spirakis keys), in the order of ``items``."""
        if count <= 0 or not items:
            return []
        if count >= len(items):
            return list(items)
        rng = self.rng
        keys = [rng.random() ** (1.0 / w) for w in weights]
        chosen = set(heapq.nlargest(count, range(len(items)), key=keys.__getitem__))
        return [item for index, item in enumerate(items) if index in chosen]

    def _start_day(self, first: datetime.date, last: datetime.date) -> datetime.date:
        """Support contracts mostly start on the first of a month."""
        if self.rng.random() < 0.5:
            return first
        return self._day_in(first, last)

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

    def _dismiss(self, person: _Person) -> None:
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

    def _give_first_book(self, person: _Person) -> None:
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
            for client_id in self.rng.sample(movable, take):
                if self._reassign(
                    self.client_by_id[client_id],
                    person.id,
                    day,
                    AssignmentReason.REASSIGN,
                    person.mentor.id,
                ):
                    wanted -= 1

    def _random_reassign(self, client: _Client, first, last) -> None:
        day = self._day_in(first, last)
        manager = self.by_id[client.manager]
        if not manager.group:
            return
        target = self._pick(day, group=manager.group, exclude=(manager.id,))
        self._reassign(client, target, day, AssignmentReason.REASSIGN, self.by_id[manager.group].id)

    def _change_fee(self, client: _Client, first: datetime.date) -> None:
        current = self._current_paid(client)
        if first <= current.starts_on:
            return
        factor = (
            self.rng.uniform(1.04, 1.15)
            if self.rng.random() < 0.8
            else self.rng.uniform(0.85, 0.95)
        )
        fee = Decimal(int(round(float(current.fee) * factor / 100) * 100))
        if fee == current.fee:
            return
        current.ends_on = first - ONE_DAY
        entered = first - self._days(1, 10)
        current.ended_entered = max(entered, current.entered)
        self._contract(client, first, fee, entered=max(entered, current.entered))

    def _lose(self, client: _Client, first, last, *, natural: bool, snapshot: list[int]) -> None:
        rng = self.rng
        contract = self._current_paid(client)
        real_end = _month_end(first) == last
        day = last if real_end and rng.random() < 0.6 else self._day_in(first, last)
        floor = max(contract.starts_on, client.assignments[-1][2] or contract.starts_on)
        day = max(day, floor)
        if day > last:
            return
        if natural:
            reason = (
                TerminationReason.MERGER if rng.random() < 0.65 else TerminationReason.LIQUIDATION
            )
        else:
            reason = self._weighted(CONTROLLABLE_REASONS)
        contract.ends_on = day
        contract.reason = reason
        contract.comment = vocab.TERMINATION_COMMENTS[reason]
        contract.ended_entered = max(contract.entered, day - self._days(0, 20))
        del self.active[client.id]
        self.load[client.manager] -= 1
        if reason == TerminationReason.MERGER:
            for _draw in range(20):
                other = self.client_by_id[rng.choice(snapshot)]
                if (
                    other.id != client.id
                    and other.id in self.active
                    and other.region == client.region
                ):
                    client.parent = other.id
                    break
        if not natural:
            self._open_case(client, day, reason, contract.fee)

    def _open_case(self, client: _Client, ends_on, reason: str, fee: Decimal) -> None:
        """A controllable loss opens a case; its whole future is decided now and cut at today."""
        rng, today = self.rng, self.today
        case = _Case()
        case.id = self._id(LostCase)
        case.client = client.id
        case.lost_on = ends_on + ONE_DAY
        case.lost_by = client.manager_on(ends_on)
        case.reason, case.fee = reason, fee
        case.status = CaseStatus.OPEN
        case.return_manager = case.claimed_at = case.free = case.free_starts = None
        case.returned_on = case.new_manager = case.closed_on = None
        case.decline_reason = ""
        client.cases.append(case)
        self.cases.append(case)
        returner = rng.choice(self.returners)
        claim_day = case.lost_on + self._days(0, 6)
        claimed_at = self._at(claim_day, rng.randint(9, 17), rng.randint(0, 59))
        free_starts = returned_on = declined_on = None
        if self._quota("return", RETURN_SHARE):
            free_starts = claim_day + self._days(1, 8)
            returned_on = _free_month_end(free_starts) + ONE_DAY
        elif rng.random() < 0.55:
            if rng.random() < 0.35:
                free_starts = claim_day + self._days(1, 8)
                declined_on = _free_month_end(free_starts) + self._days(1, 10)
            else:
                declined_on = claim_day + self._days(3, 60)
            if declined_on >= case.lost_on + datetime.timedelta(days=settings.RETURN_WINDOW_DAYS):
                declined_on = None
        else:
            if rng.random() < 0.5:
                claim_day = claimed_at = None
        window_end = case.lost_on + datetime.timedelta(days=settings.RETURN_WINDOW_DAYS)
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
            case.free.ends_on = _free_month_end(free_starts)
        if returned_on is not None:
            if returned_on < today:
                case.returned_on = returned_on
                self.returns_due.setdefault((returned_on.year, returned_on.month), []).append(case)
        elif declined_on is not None and declined_on < today:
            case.status = CaseStatus.DECLINED
            case.closed_on = declined_on
            case.decline_reason = rng.choice(vocab.DECLINE_REASONS)
        elif declined_on is None and window_end < today:
            # The nightly job declines it on the day the window ran out (SPEC §3.3).
            case.status = CaseStatus.DECLINED
            case.closed_on = window_end
            case.decline_reason = vocab.WINDOW_RAN_OUT

    def _complete_return(self, case: _Case) -> None:
        """The return of SPEC §3.3: a new paid contract, and a manager who did not lose it."""
        client = self.client_by_id[case.client]
        day = case.returned_on
        current = client.manager
        manager = self._pick(day, exclude=(case.lost_by, current))
        fee = (
            case.fee
            if self.rng.random() < 0.65
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

    def _finish(self) -> None:
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
                and _covers(case.free.starts_on, case.free.ends_on, today)
            )
            client.status = derive_client_status(
                paid_periods=periods,
                active_case_status=active_case,
                in_free_month=in_free,
                today=today,
            )

    # --- results ---

    def base_today(self) -> int:
        return sum(1 for client in self.clients if client.status == ClientStatus.ACTIVE)

    def kpis(self) -> DemoKpis:
        return demo_kpis(
            contracts=(
                (c.client, c.kind, c.starts_on, c.ends_on, c.reason) for c in self.contracts
            ),
            channels={c.id: c.channel for c in self.clients},
            cases=((case.status, case.closed_on) for case in self.cases),
            today=self.today,
        )

    def logins(self) -> list[DemoLogin]:
        return [
            DemoLogin(p.username, p.full_name, p.role, DEMO_PASSWORD)
            for p in self.people
            if p.dismissed_on is None
        ]

    # --- writing ---

    def write(self, *, timings: dict[str, float]) -> None:
        tables = BulkTables()
        steps = (
            ("staff", self._write_staff),
            ("clients", self._write_clients),
            ("contracts", self._write_contracts),
            ("cases", self._write_cases),
            ("contacts", self._write_contacts),
            ("interactions", self._write_interactions),
            ("referrals and tasks", self._write_referrals_and_tasks),
        )
        for name, step in steps:
            mark = time.perf_counter()
            step(tables)
            tables.flush()
            timings[name] = time.perf_counter() - mark
        self.counts = dict(tables.counts)
        reset_sequences(_ASSIGNED_IDS)

    def _write_staff(self, tables: BulkTables) -> None:
        password = make_password(DEMO_PASSWORD, salt=_DEMO_SALT)
        users = tables.table(User)
        history = tables.history(User)
        for person in self.people:
            surname, first, _patronymic = person.full_name.split(" ")
            row = {
                "id": person.id,
                "password": password,
                "last_login": None,
                "is_superuser": False,
                "username": person.username,
                "first_name": first,
                "last_name": surname,
                "email": f"{person.username}@example.org",
                "is_staff": False,
                "is_active": person.dismissed_on is None,
                "date_joined": self._at(person.hired_on, 9),
                "full_name": person.full_name,
                "phone": f"+7 (391) 2{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}",
                "role": person.role,
                "mentor_id": person.mentor.id if person.mentor else None,
                "hired_on": person.hired_on,
                "ramp_until": person.ramp_until,
                "capacity": person.capacity,
                "dismissed_on": person.dismissed_on,
            }
            users.add(row)
            history.record(
                row, "+", self._at(person.hired_on, 9), self.director.id, "сотрудник принят"
            )
            if person.dismissed_on is not None:
                history.record(
                    {**row, "is_active": False},
                    "~",
                    self._at(person.dismissed_on, 18),
                    self.director.id,
                    "уволен",
                )

    def _write_clients(self, tables: BulkTables) -> None:
        clients = tables.table(Client)
        history = tables.history(Client)
        assignments = tables.table(ClientAssignment)
        assignment_history = tables.history(ClientAssignment)
        for client in self.clients:
            created = self._at(client.created, 10)
            last_change = created
            for row in client.assignments[1:]:
                last_change = max(last_change, self._at(row[6], 10))
            final = {
                "id": client.id,
                "name": client.name,
                "inn": client.inn,
                "kpp": client.kpp,
                "kind": client.kind,
                "region": client.region,
                "city": client.city,
                "parent_id": client.parent,
                "acquisition_channel": client.channel,
                "referred_by_id": client.referred_by,
                "manager_id": client.manager,
                "status": client.status,
                "created_at": created,
                "updated_at": last_change,
                # Derived from the interactions once they are written (contact_signals_refresh).
                **dict.fromkeys(CONTACT_SIGNAL_FIELDS),
            }
            clients.add(final)
            first = client.assignments[0]
            history.record(
                {**final, "manager_id": first[1], "status": ClientStatus.PROSPECT, "parent_id": None, "updated_at": created},
                "+", created, first[5], "клиент создан",
            )  # fmt: skip
            for index, (row_id, manager, starts_on, ends_on, reason, actor, entered) in enumerate(
                client.assignments
            ):
                entered_at = created if index == 0 else self._at(entered, 10)
                row = {
                    "id": row_id,
                    "client_id": client.id,
                    "manager_id": manager,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "reason": reason,
                    "created_by_id": actor,
                    "created_at": entered_at,
                }
                assignments.add(row)
                assignment_history.record(
                    {**row, "ends_on": None}, "+", entered_at, actor, "назначен менеджер"
                )
                if ends_on is not None:
                    following = client.assignments[index + 1]
                    changed_at = self._at(following[6], 10)
                    assignment_history.record(
                        row,
                        "~",
                        changed_at,
                        following[5],
                        f"передан: {self.by_id[following[1]].full_name}",
                    )
                    if index + 1 < len(client.assignments):
                        history.record(
                            {**final, "manager_id": following[1], "status": ClientStatus.ACTIVE, "updated_at": changed_at},
                            "~", changed_at, following[5], f"менеджер изменён на {self.by_id[following[1]].full_name}",
                        )  # fmt: skip

    def _write_contracts(self, tables: BulkTables) -> None:
        contracts = tables.table(Contract)
        history = tables.history(Contract)
        for contract in self.contracts:
            client = self.client_by_id[contract.client]
            entered = self._at(contract.entered, 11)
            row = {
                "id": contract.id,
                "client_id": contract.client,
                "number": contract.number,
                "kind": contract.kind,
                "starts_on": contract.starts_on,
                "ends_on": contract.ends_on,
                "monthly_fee": contract.fee,
                "termination_reason": contract.reason,
                "comment": contract.comment,
                "created_at": entered,
            }
            contracts.add(row)
            actor = client.manager_on(contract.entered)
            if contract.kind == ContractKind.FREE_MONTH:
                case = next(c for c in client.cases if c.free is contract)
                history.record(row, "+", entered, case.return_manager, "бесплатный месяц")
                continue
            if contract.ended_entered is None:
                history.record(row, "+", entered, actor, "договор добавлен")
                continue
            history.record(
                {**row, "ends_on": None, "termination_reason": "", "comment": ""},
                "+",
                entered,
                actor,
                "договор добавлен",
            )
            ended = self._at(contract.ended_entered, 15)
            why = "договор расторгнут" if contract.reason else "смена абонентской платы"
            history.record(
                row, "~", max(ended, entered), client.manager_on(contract.ended_entered), why
            )

    def _write_cases(self, tables: BulkTables) -> None:
        cases = tables.table(LostCase)
        history = tables.history(LostCase)
        for case in self.cases:
            created = self._at(case.lost_on - ONE_DAY, 17)
            row = {
                "id": case.id,
                "client_id": case.client,
                "lost_on": case.lost_on,
                "lost_by_id": case.lost_by,
                "reason": case.reason,
                "lost_fee": case.fee,
                "status": case.status,
                "return_manager_id": case.return_manager,
                "claimed_at": case.claimed_at,
                "free_month_contract_id": case.free.id if case.free else None,
                "returned_on": case.returned_on if case.status == CaseStatus.RETURNED else None,
                "new_manager_id": case.new_manager,
                "closed_on": case.closed_on,
                "decline_reason": case.decline_reason,
                "created_at": created,
            }
            cases.add(row)
            blank = {**row, "status": CaseStatus.OPEN, "return_manager_id": None, "claimed_at": None,
                     "free_month_contract_id": None, "returned_on": None, "new_manager_id": None,
                     "closed_on": None, "decline_reason": ""}  # fmt: skip
            history.record(blank, "+", created, case.lost_by, "клиент потерян")
            state = blank
            if case.claimed_at is not None:
                state = {
                    **state,
                    "status": CaseStatus.CLAIMED,
                    "return_manager_id": case.return_manager,
                    "claimed_at": case.claimed_at,
                }
                history.record(state, "~", case.claimed_at, case.return_manager, "взят в работу")
            if case.free is not None:
                state = {
                    **state,
                    "status": CaseStatus.FREE_MONTH,
                    "free_month_contract_id": case.free.id,
                }
                history.record(
                    state,
                    "~",
                    self._at(case.free.starts_on, 10),
                    case.return_manager,
                    "начат бесплатный месяц",
                )
            if case.status in (CaseStatus.RETURNED, CaseStatus.DECLINED):
                why = (
                    "клиент возвращён"
                    if case.status == CaseStatus.RETURNED
                    else "отказ от возврата"
                )
                history.record(row, "~", self._at(case.closed_on, 12), case.return_manager, why)

    def _write_contacts(self, tables: BulkTables) -> None:
        rng = self.rng
        contacts = tables.table(Contact, with_ids=False)
        for client in self.clients:
            leaders, others = vocab.POSITIONS[client.kind]
            for index in range(rng.choice((1, 2, 2, 3))):
                gender = 1 if rng.random() < 0.8 else 0  # accountants are mostly women
                surname = rng.choice(vocab.SURNAMES)[gender]
                first = rng.choice(vocab.FEMALE_FIRST_NAMES if gender else vocab.MALE_FIRST_NAMES)
                patronymic = rng.choice(vocab.PATRONYMICS)[gender]
                if client.phone_code == "391" and rng.random() < 0.6:
                    phone = f"+7 (391) 2{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
                else:
                    phone = f"+7 9{rng.randint(0, 99):02d} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
                contacts.add({
                    "client_id": client.id,
                    "name": f"{surname} {first} {patronymic}",
                    "position": rng.choice(leaders if index == 0 else others),
                    "phone": phone,
                    "email": f"buh{client.id}.{index + 1}@example.org",
                    "is_decision_maker": index == 0,
                })  # fmt: skip

    # --- interactions and requests ---

    def _write_interactions(self, tables: BulkTables) -> None:
        interactions = tables.table(Interaction, tuples=True, with_ids=False)
        requests = tables.table(ClientRequest)
        request_history = tables.history(ClientRequest)
        self.pending_refusals: dict[int, tuple[str, datetime.date]] = {}
        self.overdue: dict[int, str] = {}
        now = self._at(self.today, 0)
        for client in self.clients:
            paid = [
                (c.starts_on, c.ends_on, c.reason)
                for c in client.contracts
                if c.kind == ContractKind.PAID
            ]
            for start, end, reason in _coverage(paid):
                # Contacts and requests are logged from the day the history starts: years of
                # contracts before it were entered with the client, calls were not.
                start = max(start, self.start)
                last = self.last_day if end is None else min(end, self.last_day)
                if start > last:
                    continue
                self._contacts(client, start, last, reason if end is not None else "", interactions)
                self._requests(
                    client,
                    start,
                    last,
                    reason if end is not None else "",
                    requests,
                    request_history,
                    now,
                )
            for case in client.cases:
                self._return_attempts(client, case, interactions)

    def _contacts(self, client: _Client, start, last, reason: str, out) -> None:
        rng, tz = self.rng, self.tz
        stop = (
            last - datetime.timedelta(days=45) if reason == TerminationReason.NO_CONTACT else last
        )
        day = start + datetime.timedelta(days=rng.randint(0, 20))
        low, high = CONTACT_GAP_DAYS
        while day <= stop:
            staff = client.manager_on(day)
            quality = self.by_id[staff].quality
            reach = min(0.95, REACH_PROBABILITY / quality**0.5)
            for attempt in range(3):
                when = _workday(day)
                occurred = datetime.datetime(
                    when.year,
                    when.month,
                    when.day,
                    rng.randint(9, 17),
                    rng.randint(0, 59),
                    tzinfo=tz,
                )
                if rng.random() < reach or (attempt == 2 and rng.random() < 0.5):
                    draw = rng.random()
                    if draw < 0.025 * quality:
                        outcome, summary = (
                            InteractionOutcome.COMPLAINT,
                            rng.choice(vocab.COMPLAINT_SUMMARIES),
                        )
                    else:
                        outcome, summary = (
                            InteractionOutcome.REACHED,
                            rng.choice(vocab.REACHED_SUMMARIES),
                        )
                    kind = self._weighted(_REACHED_KINDS)
                    minutes = (
                        0
                        if kind in (InteractionKind.EMAIL, InteractionKind.MESSENGER)
                        else rng.randint(3, 25) * (3 if kind == InteractionKind.MEETING else 1)
                    )
                    follow = when + datetime.timedelta(days=30) if rng.random() < 0.5 else None
                    out.add((client.id, staff, kind, occurred, minutes, outcome, summary, follow))
                    client.last_reached = (
                        when if outcome == InteractionOutcome.REACHED else client.last_reached
                    )
                    break
                if rng.random() < 0.7:
                    outcome, summary, follow = (
                        InteractionOutcome.NO_ANSWER,
                        rng.choice(vocab.NO_ANSWER_SUMMARIES),
                        when + ONE_DAY,
                    )
                else:
                    outcome, summary, follow = (
                        InteractionOutcome.CALLBACK_REQUESTED,
                        rng.choice(vocab.CALLBACK_SUMMARIES),
                        when + self._days(1, 7),
                    )
                out.add(
                    (
                        client.id,
                        staff,
                        InteractionKind.CALL_OUT,
                        occurred,
                        rng.randint(0, 1),
                        outcome,
                        summary,
                        follow,
                    )
                )
                day += self._days(1, 3)
                if day > stop:
                    break
            day += datetime.timedelta(days=int(rng.randint(low, high) * (0.75 + 0.25 * quality)))
        if reason in _COMPLAINED_BEFORE_LEAVING:
            when = _workday(last - self._days(10, 40))
            if when >= start:
                summary = _COMPLAINED_BEFORE_LEAVING[reason]
                occurred = datetime.datetime(
                    when.year,
                    when.month,
                    when.day,
                    rng.randint(9, 17),
                    rng.randint(0, 59),
                    tzinfo=tz,
                )
                out.add(
                    (
                        client.id,
                        client.manager_on(when),
                        InteractionKind.CALL_IN,
                        occurred,
                        rng.randint(5, 20),
                        InteractionOutcome.COMPLAINT,
                        summary,
                        when + ONE_DAY,
                    )
                )

    def _return_attempts(self, client: _Client, case: _Case, out) -> None:
        if case.claimed_at is None:
            return
        rng, tz = self.rng, self.tz
        end = case.closed_on or self.last_day
        day = case.claimed_at.date()
        for _draw in range(rng.randint(1, 4)):
            if day > min(end, self.last_day):
                break
            when = _workday(day)
            occurred = datetime.datetime(
                when.year, when.month, when.day, rng.randint(9, 17), rng.randint(0, 59), tzinfo=tz
            )
            outcome = (
                InteractionOutcome.REACHED if rng.random() < 0.7 else InteractionOutcome.NO_ANSWER
            )
            summary = rng.choice(
                vocab.RETURN_SUMMARIES
                if outcome == InteractionOutcome.REACHED
                else vocab.NO_ANSWER_SUMMARIES
            )
            out.add(
                (
                    client.id,
                    case.return_manager,
                    InteractionKind.CALL_OUT,
                    occurred,
                    rng.randint(2, 15),
                    outcome,
                    summary,
                    None,
                )
            )
            day += self._days(2, 12)

    def _requests(self, client: _Client, start, last, reason: str, out, history, now) -> None:
        rng = self.rng
        mean_gap = 30.4 / REQUEST_RATE
        day = start + datetime.timedelta(days=int(rng.expovariate(1 / mean_gap)))
        while day <= last:
            self._request(client, _workday(day), out, history, now, refuse=False)
            day += datetime.timedelta(days=1 + int(rng.expovariate(1 / mean_gap)))
        if reason == TerminationReason.REFUSED_REQUEST:
            day = _workday(last - self._days(15, 50))
            if day >= start:
                self._request(client, day, out, history, now, refuse=True)

    def _request(self, client: _Client, day, out, history, now, *, refuse: bool) -> None:
        rng = self.rng
        staff = client.manager_on(day)
        urgency = RequestUrgency.URGENT if rng.random() < 0.2 else RequestUrgency.NORMAL
        opened = self._at(day, rng.randint(9, 17), rng.randint(0, 59))
        due = request_due_at(
            opened,
            urgency,
            urgent_hours=settings.REQUEST_SLA_URGENT_HOURS,
            normal_working_days=settings.REQUEST_SLA_NORMAL_WORKING_DAYS,
            tz=self.tz,
        )
        row = {
            "id": self._id(ClientRequest),
            "client_id": client.id,
            "logged_by_id": staff,
            "topic": rng.choice(vocab.REQUEST_TOPICS),
            "description": rng.choice(vocab.REQUEST_DESCRIPTIONS),
            "urgency": urgency,
            "opened_at": opened,
            "due_at": due,
            "status": RequestStatus.OPEN,
            "resolved_at": None,
            "refusal_reason": "",
            "refusal_requested_by_id": None,
            "refusal_approved_by_id": None,
        }
        history.record(row, "+", opened, staff, "заявка зарегистрирована")
        recent = (self.today - day).days <= RECENT_DAYS
        draw = rng.random()
        if refuse or (not recent and draw < 0.005):
            asked = opened + datetime.timedelta(hours=rng.randint(2, 30))
            approved = asked + datetime.timedelta(hours=rng.randint(1, 20))
            if approved >= now:
                refuse = False
            else:
                approver = self._approver(staff)
                pending = {
                    **row,
                    "status": RequestStatus.REFUSAL_PENDING,
                    "refusal_reason": rng.choice(vocab.REFUSAL_REASONS),
                    "refusal_requested_by_id": staff,
                }
                history.record(pending, "~", asked, staff, "запрошен отказ")
                row = {
                    **pending,
                    "status": RequestStatus.REFUSED,
                    "refusal_approved_by_id": approver,
                }
                history.record(row, "~", approved, approver, "отказ согласован")
                out.add(row)
                return
        if recent:
            if draw < 0.3:
                status = RequestStatus.OPEN
            elif draw < 0.65:
                status = RequestStatus.IN_PROGRESS
            elif draw < 0.93 or client.id in self.pending_refusals:
                status = RequestStatus.RESOLVED
            else:
                status = RequestStatus.REFUSAL_PENDING
        else:
            status = RequestStatus.RESOLVED
        if status == RequestStatus.RESOLVED:
            hours = rng.uniform(0.5, 6) if urgency == RequestUrgency.URGENT else rng.uniform(1, 60)
            resolved = opened + datetime.timedelta(hours=hours)
            if resolved >= now:
                status = RequestStatus.IN_PROGRESS
            else:
                row = {**row, "status": status, "resolved_at": resolved}
                history.record(row, "~", resolved, staff, "заявка решена")
        if status == RequestStatus.IN_PROGRESS:
            taken = min(
                opened + datetime.timedelta(minutes=rng.randint(10, 90)), now - ONE_DAY / 24
            )
            row = {**row, "status": status}
            history.record(row, "~", max(taken, opened), staff, "заявка в работе")
        elif status == RequestStatus.REFUSAL_PENDING:
            asked = min(opened + datetime.timedelta(hours=rng.randint(1, 8)), now - ONE_DAY / 24)
            row = {
                **row,
                "status": status,
                "refusal_reason": rng.choice(vocab.REFUSAL_REASONS),
                "refusal_requested_by_id": staff,
            }
            history.record(row, "~", max(asked, opened), staff, "запрошен отказ")
            self.pending_refusals[client.id] = (row["topic"], day)
        if status in (RequestStatus.OPEN, RequestStatus.IN_PROGRESS) and due < now:
            self.overdue.setdefault(client.id, row["topic"])
        out.add(row)

    # --- referrals, tasks, goal ---

    def _write_referrals_and_tasks(self, tables: BulkTables) -> None:
        rng, today = self.rng, self.today
        referrals = tables.table(Referral, with_ids=False)
        for (
            referrer,
            recorded_by,
            organisation,
            inn,
            contact,
            status,
            client_id,
            day,
        ) in self.referrals:
            referrals.add(
                self._referral(
                    referrer, recorded_by, organisation, inn, contact, status, client_id, day
                )
            )
            if rng.random() < 0.6:
                lost_day = day - self._days(0, 60)
                referrals.add(
                    self._referral(
                        referrer,
                        self.client_by_id[referrer].manager_on(lost_day),
                        *self._lead(),
                        ReferralStatus.LOST,
                        None,
                        lost_day,
                    )
                )
        active = [self.client_by_id[cid] for cid in self.active]
        expected = REFERRAL_RATE * len(active) * 1.5
        for _draw in range(int(expected)):
            referrer = rng.choice(active)
            day = self._day_in(
                max(today - datetime.timedelta(days=45), referrer.created), self.last_day
            )
            status = ReferralStatus.NEW if rng.random() < 0.4 else ReferralStatus.IN_PROGRESS
            referrals.add(
                self._referral(
                    referrer.id, referrer.manager_on(day), *self._lead(), status, None, day
                )
            )
        tasks = tables.table(Task, with_ids=False)
        night = self._at(today, 2)
        for client_id, (topic, day) in self.pending_refusals.items():
            approver = self._approver(self.client_by_id[client_id].manager)
            tasks.add(
                self._task(
                    approver,
                    client_id,
                    TaskKind.REFUSAL_APPROVAL,
                    topic,
                    day,
                    None,
                    self._at(day, 18),
                )
            )
        for client_id, topic in self.overdue.items():
            manager = self.by_id[self.client_by_id[client_id].manager]
            if manager.dismissed_on is None:
                tasks.add(
                    self._task(
                        manager.id, client_id, TaskKind.REQUEST_OVERDUE, topic, today, None, night
                    )
                )
        cadence = datetime.timedelta(days=settings.CONTACT_CADENCE_DAYS)
        for client in self.clients:
            manager = self.by_id[client.manager]
            if client.status != ClientStatus.ACTIVE or manager.dismissed_on is not None:
                continue
            if client.last_reached is None or client.last_reached < today - cadence:
                tasks.add(
                    self._task(manager.id, client.id, TaskKind.FOLLOW_UP, "", today, None, night)
                )
            elif rng.random() < 0.02:
                due = today + self._days(0, 10)
                tasks.add(
                    self._task(
                        manager.id,
                        client.id,
                        TaskKind.MANUAL,
                        rng.choice(vocab.MANUAL_TASK_TITLES),
                        due,
                        manager.id,
                        self._at(self.last_day, 16),
                    )
                )
        for case in self.cases:
            if (
                case.status == CaseStatus.FREE_MONTH
                and case.free.ends_on <= today + datetime.timedelta(days=7)
            ):
                tasks.add(
                    self._task(
                        case.return_manager,
                        case.client,
                        TaskKind.FREE_MONTH_ENDING,
                        "",
                        case.free.ends_on,
                        None,
                        night,
                    )
                )
        base_today = sum(1 for c in self.clients if c.status == ClientStatus.ACTIVE)
        tables.table(Goal, with_ids=False).add({
            "target_clients": GOAL_MULTIPLIER * self.target,
            "target_on": _years_later(today, GOAL_YEARS),
            "start_clients": max(1, base_today),
            "start_on": today,
            "created_by_id": self.director.id,
            "created_at": self._at(self.last_day, 17),
        })  # fmt: skip

    def _lead(self) -> tuple[str, str, str]:
        kind = self._weighted(vocab.KIND_WEIGHTS)
        region, city = self._place()
        inn = self._inn(region[1])[0] if self.rng.random() < 0.5 else ""
        return self._institution(kind, region, city), inn, self._contact_line()

    def _referral(
        self, referrer, recorded_by, organisation, inn, contact, status, client_id, day
    ) -> dict:
        return {
            "referrer_id": referrer,
            "recorded_by_id": recorded_by,
            "organisation": organisation,
            "inn": inn,
            "contact": contact,
            "comment": "",
            "status": status,
            "client_id": client_id,
            "created_at": self._at(day, 12),
        }

    @staticmethod
    def _task(assignee, client_id, kind, title, due_on, created_by, created_at) -> dict:
        return {
            "assignee_id": assignee,
            "client_id": client_id,
            "kind": kind,
            "title": title,
            "due_on": due_on,
            "done_at": None,
            "created_by_id": created_by,
            "created_at": created_at,
        }


_REACHED_KINDS = (
    (InteractionKind.CALL_OUT, 70),
    (InteractionKind.CALL_IN, 12),
    (InteractionKind.MESSENGER, 8),
    (InteractionKind.EMAIL, 6),
    (InteractionKind.MEETING, 4),
)

_COMPLAINED_BEFORE_LEAVING = {
    TerminationReason.SERVICE_QUALITY: vocab.COMPLAINT_SUMMARIES[2],
    TerminationReason.REFUSED_REQUEST: vocab.COMPLAINT_SUMMARIES[1],
    TerminationReason.PRICE: vocab.COMPLAINT_SUMMARIES[5],
    TerminationReason.COMPETITOR: vocab.COMPLAINT_SUMMARIES[4],
}
