"""Data integrity in the database (RELIABILITY R28, R29, R31)."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import Client, ClientAssignment, Contract, ContractKind
from retention.models import CaseStatus, LostCase
from retention.services import contract_terminate, lost_case_return
from staff.models import Role, User
from team.services import staff_dismiss
from tests.conftest import requires_postgres
from tests.db_faults import FAULT, refused_update
from tests.factories import ClientFactory, ContractFactory, UserFactory

# --- R28: overlapping paid contracts are refused by PostgreSQL itself ---------------------------

BASE = datetime.date(2025, 1, 1)
interval = st.tuples(
    st.integers(min_value=0, max_value=40),  # start, days after BASE
    st.one_of(st.none(), st.integers(min_value=0, max_value=20)),  # length - 1, None = open
    st.sampled_from([ContractKind.PAID, ContractKind.FREE_MONTH]),
)


def _dates(spec) -> tuple[datetime.date, datetime.date | None]:
    start, length, _kind = spec
    starts_on = BASE + datetime.timedelta(days=start)
    return starts_on, None if length is None else starts_on + datetime.timedelta(days=length)


def _overlap(first, second) -> bool:
    """Closed intervals [start, end], an open end being infinity."""
    (s1, e1), (s2, e2) = _dates(first), _dates(second)
    return (e2 is None or s1 <= e2) and (e1 is None or s2 <= e1)


def _insert(client: Client, spec, number: str) -> Contract:
    starts_on, ends_on = _dates(spec)
    kind = spec[2]
    return Contract.objects.create(
        client=client,
        number=number,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        monthly_fee=Decimal("0") if kind == ContractKind.FREE_MONTH else Decimal("5000.00"),
    )


@requires_postgres
@pytest.mark.postgres
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=interval, second=interval)
def test_postgres_accepts_a_second_contract_iff_the_oracle_sees_no_paid_overlap(db, first, second):
    with transaction.atomic():
        client = ClientFactory(manager=None)
        _insert(client, first, "A-1")
        clash = first[2] == second[2] == ContractKind.PAID and _overlap(first, second)
        try:
            with transaction.atomic():
                _insert(client, second, "A-2")
            accepted = True
        except IntegrityError as error:
            message = str(error)
            accepted = False
        if not accepted:
            assert "contract_paid_no_overlap" in message
        assert accepted is not clash, (first, second)
        assert Contract.objects.filter(client=client).count() == (1 if clash else 2)
        transaction.set_rollback(True)


@requires_postgres
@pytest.mark.postgres
def test_the_exclusion_constraint_and_the_check_constraints_exist(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'clients_contract'::regclass"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "contract_paid_no_overlap",
        "contract_ends_after_start",
        "contract_fee_not_negative",
        "contract_kind_valid",
    } <= names


# --- R29: a failing last step leaves nothing behind ---------------------------------------------


def _history_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in apps.get_models()
        if model.__name__.startswith("Historical")
    }


def _table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Client, Contract, ClientAssignment, LostCase, User)
    }


def test_contract_terminate_is_all_or_nothing(db, director, manager):
    contract = ContractFactory(client=ClientFactory(manager=manager))
    before = (
        _table_counts(),
        _history_counts(),
        Contract.objects.filter(pk=contract.pk).values()[0],
    )
    # The last step, storing the client's new status, is refused by the database itself.
    with refused_update(Client, "status"), pytest.raises(DatabaseError, match=FAULT):
        contract_terminate(
            actor=director, contract=contract, ends_on=datetime.date(2026, 3, 31), reason="price"
        )
    after = (
        _table_counts(),
        _history_counts(),
        Contract.objects.filter(pk=contract.pk).values()[0],
    )
    assert after == before
    assert not LostCase.objects.exists()


def test_lost_case_return_is_all_or_nothing(db, return_manager, manager, colleague):
    client = ClientFactory(manager=manager, status="lost")
    ContractFactory(client=client, ends_on=datetime.date(2026, 9, 30), termination_reason="price")
    case = LostCase.objects.create(
        client=client,
        lost_on=datetime.date(2026, 10, 1),
        lost_by=manager,
        reason="price",
        status=CaseStatus.CLAIMED,
        return_manager=return_manager,
    )
    before = (_table_counts(), _history_counts(), LostCase.objects.filter(pk=case.pk).values()[0])
    with refused_update(Client, "status"), pytest.raises(DatabaseError, match=FAULT):
        lost_case_return(
            actor=return_manager,
            case=case,
            manager=colleague,
            starts_on=datetime.date(2026, 10, 15),
            monthly_fee=Decimal("6000"),
        )
    after = (_table_counts(), _history_counts(), LostCase.objects.filter(pk=case.pk).values()[0])
    assert after == before
    client.refresh_from_db()
    assert client.manager == manager


def test_staff_dismiss_is_all_or_nothing(db, director, manager, colleague):
    book = [ClientFactory(manager=manager) for _ in range(3)]
    before = (_table_counts(), _history_counts())
    # The last step, deactivating the person once the book is handed over, is refused.
    with refused_update(User, "is_active"), pytest.raises(DatabaseError, match=FAULT):
        staff_dismiss(actor=director, user=manager, handover="spread")
    assert (_table_counts(), _history_counts()) == before
    manager.refresh_from_db()
    assert manager.is_active is True
    assert [Client.objects.get(pk=c.pk).manager for c in book] == [manager] * 3
    assert ClientAssignment.objects.filter(manager=colleague).count() == 0


# --- R31: bounded queries ------------------------------------------------------------------------


@requires_postgres
@pytest.mark.postgres
def test_postgres_connections_carry_statement_lock_and_idle_timeouts(db):
    from django.conf import settings as django_settings

    expected = {
        "statement_timeout": django_settings.DB_STATEMENT_TIMEOUT_MS,
        "lock_timeout": django_settings.DB_LOCK_TIMEOUT_MS,
        "idle_in_transaction_session_timeout": django_settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    }
    assert expected == {
        "statement_timeout": 30_000,
        "lock_timeout": 10_000,
        "idle_in_transaction_session_timeout": 60_000,
    }
    with connection.cursor() as cursor:
        for name, value in expected.items():
            cursor.execute("SELECT setting::int, unit FROM pg_settings WHERE name = %s", [name])
            assert cursor.fetchone() == (value, "ms"), name
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("30s",)


@requires_postgres
@pytest.mark.postgres
def test_a_statement_over_the_timeout_fails_fast_instead_of_hanging(db):
    def sleep_in_a_request() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 200")
            cursor.execute("SELECT pg_sleep(5)")

    started = time.monotonic()
    with pytest.raises(DatabaseError, match="statement timeout"):
        sleep_in_a_request()
    assert time.monotonic() - started < 2


@requires_postgres
@pytest.mark.postgres
def test_background_jobs_get_longer_timeouts_and_give_them_back(db):
    from core.tasks import background_db_timeouts

    def current() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]

    assert current() == "30s"
    with background_db_timeouts(statement_ms=120_000):
        assert current() == "2min"
    assert current() == "30s"


def test_no_role_but_a_book_keeper_can_take_a_returned_client(db, return_manager, manager):
    """The database rule of SPEC §2 behind R29: a case's new manager is never the one who lost it."""
    client = ClientFactory(manager=manager)
    case = LostCase.objects.create(
        client=client,
        lost_on=datetime.date(2026, 10, 1),
        lost_by=manager,
        reason="price",
        status=CaseStatus.CLAIMED,
        return_manager=return_manager,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LostCase.objects.filter(pk=case.pk).update(new_manager=manager)
    assert LostCase.objects.get(pk=case.pk).new_manager is None
    assert UserFactory(role=Role.CLIENT_MANAGER).is_active
