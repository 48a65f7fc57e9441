"""A random but valid company history written in bulk, for the KPI tests and the KPI benchmark.

Each client runs a little random process: paid contracts with fee changes (no gap), terminations
with a controllable or natural reason, win-backs within the return window to a different manager,
declined cases, a few late comebacks and reassignments while active. Rows go in with
``bulk_create`` (no services, no history rows), so even 60,000 clients take seconds.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientKind,
    Contract,
    ContractKind,
    TerminationReason,
)
from clients.validators import inn_with_check_digits
from retention.models import CaseStatus, LostCase
from staff.models import Role, User

ONE_DAY = datetime.timedelta(days=1)
CONTROLLABLE = [
    TerminationReason.COMPETITOR,
    TerminationReason.SERVICE_QUALITY,
    TerminationReason.REFUSED_REQUEST,
    TerminationReason.PRICE,
    TerminationReason.NO_CONTACT,
    TerminationReason.BUDGET,
]
NATURAL = [TerminationReason.MERGER, TerminationReason.LIQUIDATION]
RETURN_WINDOW = datetime.timedelta(days=90)


@dataclass
class _Book:
    """One client's story before it is written."""

    channel: str
    contracts: list[tuple] = field(default_factory=list)  # (start, end, fee, reason)
    managers: list[tuple] = field(default_factory=list)  # (manager, starts_on | None)
    cases: list[dict] = field(default_factory=list)


def _manager_on(book: _Book, day: datetime.date) -> int:
    current = book.managers[0][0]
    for manager, starts_on in book.managers[1:]:
        if starts_on <= day:
            current = manager
    return current


def _story(rng: random.Random, managers: list[int], today: datetime.date, years: int) -> _Book:
    period_start = today - datetime.timedelta(days=365 * years)
    channel = rng.choices(
        [AcquisitionChannel.REFERRAL, AcquisitionChannel.ACTIVE_SALES, AcquisitionChannel.INBOUND],
        weights=[45, 25, 30],
    )[0]
    book = _Book(channel=channel, managers=[(rng.choice(managers), None)])
    if rng.random() < 0.6:  # entered with years of past contracts
        start = period_start - datetime.timedelta(days=rng.randint(0, 365 * 5))
    else:
        start = period_start + datetime.timedelta(days=rng.randint(0, 365 * years - 1))
    fee = Decimal(rng.randrange(3000, 15000, 100))

    def reassign(day: datetime.date, *, avoid: int | None = None) -> None:
        last_start = book.managers[-1][1]
        if day > today or (last_start is not None and day <= last_start):
            return
        choices = [m for m in managers if m not in (avoid, book.managers[-1][0])]
        book.managers.append((rng.choice(choices), day))

    while start <= today:
        to_churn = int(rng.expovariate(0.22) * 365)
        to_fee_change = int(rng.expovariate(0.3) * 365) + 1
        if rng.random() < 0.03:
            reassign(start + datetime.timedelta(days=rng.randint(1, 200)))
        if min(to_churn, to_fee_change) > (today - start).days:
            book.contracts.append((start, None, fee, ""))
            break
        if to_fee_change < to_churn:
            end = start + datetime.timedelta(days=to_fee_change - 1)
            book.contracts.append((start, end, fee, ""))
            start, fee = end + ONE_DAY, fee + Decimal(rng.randrange(-1000, 2000, 100))
            fee = max(fee, Decimal(1000))
            continue
        end = start + datetime.timedelta(days=to_churn)
        natural = rng.random() < 0.1
        reason = rng.choice(NATURAL if natural else CONTROLLABLE)
        book.contracts.append((start, end, fee, reason))
        lost_on = end + ONE_DAY
        if natural:
            break
        lost_by = _manager_on(book, end)
        case = {"lost_on": lost_on, "lost_by": lost_by, "reason": reason, "fee": fee}
        book.cases.append(case)
        back_on = lost_on + datetime.timedelta(days=rng.randint(10, 89))
        if rng.random() < 0.4 and back_on <= today:
            case.update(status=CaseStatus.RETURNED, closed_on=back_on, new_manager=None)
            reassign(back_on, avoid=lost_by)
            case["new_manager"] = _manager_on(book, back_on)
            if case["new_manager"] == lost_by:
                case["new_manager"] = None
            start = back_on
            continue
        if lost_on + RETURN_WINDOW > today:
            case.update(status=CaseStatus.OPEN, closed_on=None)
            break
        case.update(status=CaseStatus.DECLINED, closed_on=lost_on + RETURN_WINDOW)
        if rng.random() < 0.05:  # comes back by itself much later
            start = lost_on + RETURN_WINDOW + datetime.timedelta(days=rng.randint(30, 400))
            continue
        break
    return book


def history_build(
    *, clients: int, years: int = 3, seed: int = 7, today: datetime.date
) -> dict[str, int]:
    """Write a department and ``clients`` clients with their whole history; return row counts.
    Histories with different seeds can live in one database (up to 999,999 clients each)."""
    rng = random.Random(seed)
    inn_base = 100_000_000 + (seed % 800) * 1_000_000
    n_mentors = max(3, clients // 1000)
    per_group = 4 if clients < 5000 else 9
    mentors = User.objects.bulk_create(
        [
            User(username=f"kpi{seed}-mentor-{i}", full_name=f"Наставник {i}", role=Role.MENTOR)
            for i in range(n_mentors)
        ]
    )
    members = User.objects.bulk_create(
        [
            User(
                username=f"kpi{seed}-manager-{g}-{i}",
                full_name=f"Клиент-менеджер {g}-{i}",
                role=Role.CLIENT_MANAGER,
                mentor=mentor,
            )
            for g, mentor in enumerate(mentors)
            for i in range(per_group)
        ]
    )
    managers = [user.pk for user in (*mentors, *members)]
    books = [_story(rng, managers, today, years) for _ in range(clients)]

    root = Client.objects.create(
        name="Опорная школа",
        inn=inn_with_check_digits(f"{inn_base + 999_999:09d}"),
        kind=ClientKind.SCHOOL,
        acquisition_channel=AcquisitionChannel.INBOUND,
    )
    rows = Client.objects.bulk_create(
        [
            Client(
                name=f"Учреждение {i}",
                inn=inn_with_check_digits(f"{inn_base + i:09d}"),
                kind=ClientKind.SCHOOL,
                acquisition_channel=book.channel,
                referred_by=root if book.channel == AcquisitionChannel.REFERRAL else None,
                manager_id=book.managers[-1][0],
            )
            for i, book in enumerate(books)
        ],
        batch_size=2000,
    )
    contracts, assignments, cases = [], [], []
    for client, book in zip(rows, books, strict=True):
        for n, (start, end, fee, reason) in enumerate(book.contracts):
            contracts.append(
                Contract(
                    client_id=client.pk,
                    number=f"K-{client.pk}-{n}",
                    kind=ContractKind.PAID,
                    starts_on=start,
                    ends_on=end,
                    monthly_fee=fee,
                    termination_reason=reason,
                )
            )
        for n, (manager, starts_on) in enumerate(book.managers):
            following = book.managers[n + 1][1] if n + 1 < len(book.managers) else None
            assignments.append(
                ClientAssignment(
                    client_id=client.pk,
                    manager_id=manager,
                    starts_on=starts_on,
                    ends_on=following - ONE_DAY if following else None,
                    reason=AssignmentReason.INITIAL if n == 0 else AssignmentReason.REASSIGN,
                )
            )
        for case in book.cases:
            cases.append(
                LostCase(
                    client_id=client.pk,
                    lost_on=case["lost_on"],
                    lost_by_id=case["lost_by"],
                    reason=case["reason"],
                    lost_fee=case["fee"],
                    status=case["status"],
                    closed_on=case["closed_on"],
                    returned_on=case["closed_on"]
                    if case["status"] == CaseStatus.RETURNED
                    else None,
                    new_manager_id=case.get("new_manager"),
                )
            )
    Contract.objects.bulk_create(contracts, batch_size=5000)
    ClientAssignment.objects.bulk_create(assignments, batch_size=5000)
    LostCase.objects.bulk_create(cases, batch_size=5000)
    return {
        "clients": len(rows) + 1,
        "contracts": len(contracts),
        "assignments": len(assignments),
        "cases": len(cases),
        "managers": len(managers),
    }
