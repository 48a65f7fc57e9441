"""seed_demo and demo_logins (SPEC §8): a deterministic demo company whose rows keep every rule
of the domain and whose KPIs, counted straight from the contracts, look like today's company."""

from __future__ import annotations

import datetime
import hashlib
import io
import itertools
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientRequest,
    Contact,
    Contract,
    ContractKind,
    Interaction,
    Referral,
    ReferralStatus,
    RequestStatus,
    Task,
    TaskKind,
)
from clients.services import tasks_create_follow_ups, tasks_create_overdue_requests
from clients.validators import inn_is_valid, validate_kpp
from core.dates import add_months
from demo.logins import DEMO_PASSWORD
from demo.summary import demo_kpis
from kpi.models import Goal, KpiSnapshot, Scope
from kpi.services import kpi_snapshots_recompute
from retention.models import CaseStatus, LostCase
from retention.services import clients_refresh_statuses, tasks_create_free_month_ending
from staff.models import Role, User
from tests.factories import ClientFactory, UserFactory

TODAY = datetime.date(2026, 6, 15)
ONE_DAY = datetime.timedelta(days=1)
NATURAL = {"merger", "liquidation"}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def digest() -> str:
    """Everything the generator wrote that matters, in id order, as one hash."""
    users = dict(User.objects.values_list("pk", "username"))
    inns = dict(Client.objects.values_list("pk", "inn"))
    parts = [
        User.objects.order_by("pk").values_list(
            "pk",
            "username",
            "full_name",
            "role",
            "mentor_id",
            "hired_on",
            "ramp_until",
            "dismissed_on",
            "is_active",
            "capacity",
        ),
        Client.objects.order_by("pk").values_list(
            "pk",
            "inn",
            "kpp",
            "name",
            "kind",
            "region",
            "city",
            "parent_id",
            "acquisition_channel",
            "referred_by_id",
            "manager_id",
            "status",
            "created_at",
        ),
        Contract.objects.order_by("pk").values_list(
            "pk",
            "client_id",
            "number",
            "kind",
            "starts_on",
            "ends_on",
            "monthly_fee",
            "termination_reason",
            "comment",
            "created_at",
        ),
        ClientAssignment.objects.order_by("pk").values_list(
            "pk", "client_id", "manager_id", "starts_on", "ends_on", "reason", "created_by_id"
        ),
        LostCase.objects.order_by("pk").values_list(
            "pk",
            "client_id",
            "lost_on",
            "lost_by_id",
            "reason",
            "lost_fee",
            "status",
            "return_manager_id",
            "claimed_at",
            "free_month_contract_id",
            "returned_on",
            "new_manager_id",
            "closed_on",
            "decline_reason",
        ),
        ClientRequest.objects.order_by("pk").values_list(
            "pk",
            "client_id",
            "logged_by_id",
            "topic",
            "opened_at",
            "due_at",
            "status",
            "resolved_at",
            "refusal_approved_by_id",
        ),
        # Rows whose ids the database assigns: compared in id order, without the ids.
        Interaction.objects.order_by("pk").values_list(
            "client_id",
            "staff_id",
            "kind",
            "occurred_at",
            "duration_min",
            "outcome",
            "summary",
            "next_contact_on",
        ),
        Contact.objects.order_by("pk").values_list("client_id", "name", "position", "phone"),
        Referral.objects.order_by("pk").values_list(
            "referrer_id",
            "recorded_by_id",
            "organisation",
            "inn",
            "status",
            "client_id",
            "created_at",
        ),
    ]
    text = repr([list(rows) for rows in parts]) + repr(sorted(users.items()))
    text += repr(sorted(inns.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def seeded_digest(*args: str) -> str:
    """Seed inside a savepoint, take the digest, roll the savepoint back."""

    class Rollback(Exception):
        pass

    result = ""
    try:
        with transaction.atomic():
            seed(*args)
            result = digest()
            raise Rollback
    except Rollback:
        pass
    assert not Client.objects.exists()
    return result


@pytest.mark.django_db
def test_same_seed_and_day_give_identical_rows_and_another_seed_does_not():
    args = ("--clients", "150", "--years", "2", "--today", TODAY.isoformat())

    first = seeded_digest(*args, "--seed", "7")
    again = seeded_digest(*args, "--seed", "7")
    other = seeded_digest(*args, "--seed", "8")

    assert first == again
    assert other != first


def start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def paid_periods() -> dict[int, list[tuple]]:
    periods: dict[int, list[tuple]] = {}
    for row in Contract.objects.filter(kind=ContractKind.PAID).order_by("starts_on", "pk"):
        periods.setdefault(row.client_id, []).append(row)
    return periods


def manager_on(assignments: list[ClientAssignment], day: datetime.date) -> int:
    for row in assignments:
        if (row.starts_on is None or row.starts_on <= day) and (
            row.ends_on is None or day <= row.ends_on
        ):
            return row.manager_id
    raise AssertionError(f"nobody served the client on {day}")


@pytest.mark.django_db
def test_small_company_keeps_every_rule_of_the_domain():
    output = seed("--clients", "150", "--years", "3", "--seed", "3", "--today", TODAY.isoformat())

    # Staff: a director, 3 mentors, 12 client managers in their groups, one returner, 2 sales
    # managers and one dismissed manager whose book was handed over.
    roles = {role: User.objects.filter(role=role, is_active=True).count() for role in Role.values}
    assert roles == {
        Role.DIRECTOR: 1,
        Role.MENTOR: 3,
        Role.CLIENT_MANAGER: 12,
        Role.RETURN_MANAGER: 1,
        Role.SALES_MANAGER: 2,
    }
    assert User.objects.get(username="director").role == Role.DIRECTOR
    assert User.objects.get(username="returner").role == Role.RETURN_MANAGER
    managers = User.objects.filter(role=Role.CLIENT_MANAGER, is_active=True)
    assert not managers.filter(mentor__isnull=True).exists()
    assert set(managers.values_list("mentor__role", flat=True)) == {Role.MENTOR}
    assert managers.filter(ramp_until__gt=TODAY).count() >= 2
    former = User.objects.get(is_active=False)
    assert former.dismissed_on is not None
    assert former.dismissed_on < TODAY
    assert not Client.objects.filter(manager=former).exists()
    assert not ClientAssignment.objects.filter(manager=former, ends_on__isnull=True).exists()
    assert ClientAssignment.objects.filter(
        reason=AssignmentReason.DISMISSAL, starts_on=former.dismissed_on
    ).exists()
    for user in User.objects.filter(is_active=True):
        assert user.check_password(DEMO_PASSWORD)
        assert f"{user.username} " in output
    assert DEMO_PASSWORD in output

    # Clients: valid unique INNs and KPPs, a referrer exactly for referral clients.
    clients = list(Client.objects.all())
    assert len(clients) > 150
    assert len({c.inn for c in clients}) == len(clients)
    for client in clients:
        assert inn_is_valid(client.inn), client.inn
        validate_kpp(client.kpp)
        assert (client.acquisition_channel == AcquisitionChannel.REFERRAL) == (
            client.referred_by_id is not None
        )
    assert {c.acquisition_channel for c in clients} == set(AcquisitionChannel.values)

    # Assignments: one open to the past, one current, contiguous in between.
    assignments: dict[int, list[ClientAssignment]] = {}
    for row in ClientAssignment.objects.order_by("client_id", "pk"):
        assignments.setdefault(row.client_id, []).append(row)
    for client in clients:
        rows = assignments[client.pk]
        assert rows[0].starts_on is None
        assert [r.starts_on is None for r in rows].count(True) == 1
        assert [r.ends_on is None for r in rows].count(True) == 1
        assert rows[-1].ends_on is None
        assert rows[-1].manager_id == client.manager_id
        for before, after in itertools.pairwise(rows):
            assert before.ends_on == after.starts_on - ONE_DAY
            assert before.manager_id != after.manager_id

    # Paid contracts never overlap; a fee change is a new contract on the next day.
    periods = paid_periods()
    fee_changes = 0
    for client_id, rows in periods.items():
        for before, after in itertools.pairwise(rows):
            assert before.ends_on is not None, client_id
            assert before.ends_on < after.starts_on, client_id
            if after.starts_on == before.ends_on + ONE_DAY and not before.termination_reason:
                fee_changes += 1
        assert all(r.monthly_fee >= Decimal(2000) for r in rows)
    assert fee_changes > 0

    # Referral clients: the referrer was paying on the day the new client started.
    for client in clients:
        if client.referred_by_id is None:
            continue
        start = periods[client.pk][0].starts_on
        assert any(
            r.starts_on <= start and (r.ends_on is None or start <= r.ends_on)
            for r in periods[client.referred_by_id]
        )
        assert Referral.objects.filter(
            referrer_id=client.referred_by_id, client=client, status=ReferralStatus.WON
        ).exists()

    # Cases: one per controllable loss, with the right date, owner and fee.
    cases = list(LostCase.objects.select_related("free_month_contract", "client", "agreed_manager"))
    statuses = {case.status for case in cases}
    assert {CaseStatus.RETURNED, CaseStatus.DECLINED} <= statuses
    controllable_losses = 0
    for client_id, rows in periods.items():
        for before, after in zip(rows, [*rows[1:], None], strict=True):
            if before.ends_on is None or (after and after.starts_on == before.ends_on + ONE_DAY):
                continue
            if before.termination_reason in NATURAL:
                assert not LostCase.objects.filter(
                    client_id=client_id, lost_on=before.ends_on + ONE_DAY
                ).exists()
                continue
            controllable_losses += 1
            case = LostCase.objects.get(client_id=client_id, lost_on=before.ends_on + ONE_DAY)
            assert case.reason == before.termination_reason
            assert case.lost_fee == before.monthly_fee
            assert case.lost_by_id == manager_on(assignments[client_id], before.ends_on)
    assert controllable_losses == len(cases)
    window = datetime.timedelta(days=90)
    for case in cases:
        assert case.new_manager_id != case.lost_by_id
        if case.status == CaseStatus.RETURNED:
            free = case.free_month_contract
            assert free.kind == ContractKind.FREE_MONTH
            assert free.monthly_fee == 0
            assert free.ends_on == case.returned_on - ONE_DAY
            assert case.closed_on == case.returned_on < TODAY
            assert Contract.objects.filter(
                client=case.client, kind=ContractKind.PAID, starts_on=case.returned_on
            ).exists()
            assert ClientAssignment.objects.filter(
                client=case.client,
                manager=case.new_manager,
                starts_on=case.returned_on,
                reason=AssignmentReason.RETURN,
            ).exists()
        elif case.status == CaseStatus.DECLINED:
            assert case.lost_on < case.closed_on <= case.lost_on + window
            assert case.closed_on < TODAY
        else:
            assert case.lost_on + window >= TODAY
            assert (case.return_manager_id is None) == (case.status == CaseStatus.OPEN)
        if case.agreed_starts_on is not None:
            assert_agreed_return_keeps_the_rules(case)

    # Requests and contacts.
    assert not ClientRequest.objects.filter(due_at__lt=F("opened_at")).exists()
    for request in ClientRequest.objects.filter(status=RequestStatus.REFUSED).select_related(
        "logged_by"
    ):
        expected = request.logged_by.mentor_id or User.objects.get(username="director").pk
        assert request.refusal_approved_by_id == expected
    assert ClientRequest.objects.filter(status=RequestStatus.RESOLVED).exists()
    assert not Client.objects.filter(contacts__isnull=True).exists()
    assert Contact.objects.filter(is_decision_maker=True).count() == len(clients)
    last = Interaction.objects.order_by("-occurred_at").first()
    assert last.occurred_at.date() < TODAY

    # Today's system tasks are the nightly job's: running it again gives none.
    assert Task.objects.filter(kind=TaskKind.FOLLOW_UP, created_by=None).exists()
    assert tasks_create_follow_ups(today=TODAY) == 0
    assert tasks_create_overdue_requests(now=start_of(TODAY)) == 0
    assert tasks_create_free_month_ending(today=TODAY) == 0

    # Statuses are right and the goal starts from today's base.
    assert clients_refresh_statuses(today=TODAY) == 0
    goal = Goal.objects.get()
    assert goal.start_on == TODAY
    assert goal.target_clients == 600
    assert goal.start_clients == Client.objects.filter(status="active").count()


def assert_agreed_return_keeps_the_rules(case: LostCase) -> None:
    """An agreed return (SPEC §3.3): in the free month, from the day after it, still ahead,
    agreed by the case's return manager, to an active book keeper who did not lose the client."""
    free = case.free_month_contract
    assert case.status == CaseStatus.FREE_MONTH
    assert case.agreed_starts_on == free.ends_on + ONE_DAY > TODAY
    assert free.starts_on < case.agreed_on < TODAY
    assert (case.agreed_by_id, case.agreed_fee) == (case.return_manager_id, case.lost_fee)
    assert case.agreed_manager_id not in (case.lost_by_id, case.client.manager_id)
    assert case.agreed_manager.is_active
    assert case.agreed_manager.role in (Role.CLIENT_MANAGER, Role.MENTOR)
    assert case.closed_on is None


def department_figures(today: datetime.date) -> dict[str, float]:
    """SPEC §4 counted by hand over the 12 complete months before ``today``'s month: loss and
    entry events from the union of each client's paid contracts."""
    month = add_months(today, -1)
    first = add_months(month, -11)
    last = today.replace(day=1) - ONE_DAY
    year_ago = first - ONE_DAY
    referral = set(
        Client.objects.filter(acquisition_channel=AcquisitionChannel.REFERRAL).values_list(
            "pk", flat=True
        )
    )
    base_start = base_today = churned = natural = referrals = 0
    for client_id, rows in paid_periods().items():
        coverage: list[list] = []
        for row in rows:
            if (
                coverage
                and coverage[-1][1] is not None
                and row.starts_on <= coverage[-1][1] + ONE_DAY
            ):
                coverage[-1][1:] = [row.ends_on, row.termination_reason]
            else:
                coverage.append([row.starts_on, row.ends_on, row.termination_reason])
        for index, (start, end, reason) in enumerate(coverage):
            base_start += start <= year_ago and (end is None or year_ago <= end)
            base_today += start <= today and (end is None or today <= end)
            if end is not None and first <= end + ONE_DAY <= last:
                churned += 1
                natural += reason in NATURAL
            referrals += index == 0 and client_id in referral and first <= start <= last
    closed = LostCase.objects.filter(closed_on__gte=first, closed_on__lte=last)
    returned = closed.filter(status=CaseStatus.RETURNED).count()
    return {
        "month": month,
        "base_today": base_today,
        "annual_churn": churned / base_start,
        "natural_share": natural / churned,
        "referrals_per_month": referrals / 12,
        "return_rate": returned / closed.count(),
    }


@pytest.mark.django_db
def test_default_company_has_the_kpis_of_todays_company():
    """SPEC §1 at 1,500 clients: ≈22 % annual churn (≈15 % natural), ≈40 referral clients a
    month, ≈40 % of closed cases returned — and the KPI engine counts the same."""
    output = seed("--today", TODAY.isoformat())

    figures = department_figures(TODAY)
    assert 1350 <= figures["base_today"] <= 1650
    assert 0.17 <= figures["annual_churn"] <= 0.27
    assert 0.08 <= figures["natural_share"] <= 0.25
    assert 32 <= figures["referrals_per_month"] <= 48
    assert 0.32 <= figures["return_rate"] <= 0.48
    assert DEMO_PASSWORD in output
    printed = demo_kpis(today=TODAY)
    assert printed.base_today == figures["base_today"]
    assert printed.annual_churn == pytest.approx(figures["annual_churn"])
    assert printed.natural_share == pytest.approx(figures["natural_share"])
    assert printed.referrals_per_month == pytest.approx(figures["referrals_per_month"])
    assert printed.return_rate_12m == pytest.approx(figures["return_rate"])

    # The return manager's workspace has agreed returns to show.
    agreed = LostCase.objects.filter(agreed_starts_on__isnull=False).select_related(
        "free_month_contract", "client", "agreed_manager"
    )
    assert 1 <= len(agreed) <= 8
    for case in agreed:
        assert_agreed_return_keeps_the_rules(case)

    kpi_snapshots_recompute(today=TODAY)
    snapshot = KpiSnapshot.objects.get(scope=Scope.DEPARTMENT, month=figures["month"])
    assert snapshot.annual_churn_rate == pytest.approx(figures["annual_churn"])
    assert snapshot.return_rate_12m == pytest.approx(figures["return_rate"])


@pytest.mark.django_db
def test_if_empty_does_nothing_when_there_are_clients():
    ClientFactory()
    users = User.objects.count()

    output = seed("--if-empty", "--clients", "20", "--today", TODAY.isoformat())

    assert output.strip()
    assert Client.objects.count() == 1
    assert User.objects.count() == users


@pytest.mark.django_db
def test_seeding_a_database_with_clients_is_refused():
    ClientFactory()

    with pytest.raises(CommandError):
        seed("--clients", "20", "--today", TODAY.isoformat())

    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_taken_demo_username_is_refused_and_nothing_is_written():
    UserFactory(username="director", role=Role.DIRECTOR)

    with pytest.raises(CommandError, match="director"):
        seed("--clients", "20", "--today", TODAY.isoformat())

    assert User.objects.count() == 1
    assert not Client.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("--clients", "5"),
        ("--years", "0"),
        ("--years", "11"),
        ("--today", "15.06.2026"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(args):
    with pytest.raises(CommandError, match=args[0].lstrip("-")):
        seed(*args)

    assert not User.objects.exists()
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_demo_logins_lists_the_active_demo_users():
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()
    UserFactory(username="outsider", role=Role.CLIENT_MANAGER)  # another password
    seed("--clients", "20", "--years", "1", "--today", TODAY.isoformat())

    out = io.StringIO()
    call_command("demo_logins", stdout=out)

    listed = out.getvalue()
    usernames = [line.split()[0] for line in listed.splitlines()[2:]]
    assert usernames[0] == "director"
    assert set(usernames) == set(
        User.objects.filter(is_active=True)
        .exclude(username="outsider")
        .values_list("username", flat=True)
    )
    assert "former1" not in usernames
    assert DEMO_PASSWORD in listed


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--clients", "1000000000"], "--clients"),
        (["--clients", "3"], "--clients"),
        (["--years", "40"], "--years"),
        (["--today", "0001-01-01"], "--today"),
        (["--today", "9999-12-31"], "--today"),
        (["--today", "2001-06-01", "--years", "3"], "--years"),
    ],
)
def test_out_of_range_arguments_are_refused_by_name_and_seed_nothing(db, arguments, named):
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", *arguments)

    assert str(refused.value).startswith(f"{named}:")
    assert Client.objects.count() == 0
    assert User.objects.count() == 0
