"""RELIABILITY §2.0 step 5 (R02, R03): for random org trees and ownership, the SQL scoping of
``clients_visible_to`` equals the plain-Python oracle for every user, with no duplicate rows."""

from __future__ import annotations

import datetime
import itertools

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.access import clients_editable_by, clients_visible_to
from clients.models import Client
from retention.models import CaseStatus, LostCase
from staff.models import Role, User
from tests.factories import make_inn
from tests.security.oracle import Org

_serial = itertools.count(50_000)

people = st.lists(
    st.tuples(
        st.sampled_from(Role.values),
        st.integers(min_value=0, max_value=20),  # the mentor: index into people, if a mentor
        st.booleans(),  # active
    ),
    min_size=1,
    max_size=9,
)
books = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(min_value=0, max_value=20)),  # owner
        st.lists(
            st.tuples(
                st.sampled_from(CaseStatus.values),
                st.one_of(st.none(), st.integers(min_value=0, max_value=20)),  # case worker
            ),
            max_size=3,
        ),
    ),
    max_size=10,
)


def _build(people_spec, books_spec) -> list[User]:
    users = []
    for role, _mentor, active in people_spec:
        n = next(_serial)
        users.append(
            User.objects.create(
                username=f"prop{n}", full_name=f"Сотрудник {n}", role=role, is_active=active
            )
        )
    mentors = [u for u in users if u.role == Role.MENTOR]
    for user, (_role, mentor, _active) in zip(users, people_spec, strict=True):
        if mentors and user.role == Role.CLIENT_MANAGER:
            user.mentor = mentors[mentor % len(mentors)]
            user.save(update_fields=["mentor"])
    workers = [u for u in users if u.role == Role.RETURN_MANAGER]
    for owner, cases in books_spec:
        n = next(_serial)
        client = Client.objects.create(
            name=f"Клиент {n}",
            inn=make_inn(n),
            kind="school",
            acquisition_channel="inbound",
            manager=None if owner is None else users[owner % len(users)],
        )
        has_active = False
        for status, worker in cases:
            active = status in (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.FREE_MONTH)
            if active and has_active:
                continue  # the database allows one active case per client
            has_active = has_active or active
            manager = None if worker is None or not workers else workers[worker % len(workers)]
            unclaimed = (CaseStatus.OPEN, CaseStatus.DECLINED, CaseStatus.RETURNED)
            if status not in unclaimed and manager is None:
                continue
            closed = status in (CaseStatus.RETURNED, CaseStatus.DECLINED)
            LostCase.objects.create(
                client=client,
                lost_on=datetime.date(2026, 1, 1),
                reason="competitor",
                status=status,
                return_manager=manager,
                claimed_at=timezone.now() if manager else None,
                closed_on=datetime.date(2026, 2, 1) if closed else None,
            )
    return users


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people_spec=people, books_spec=books)
def test_clients_visible_to_equals_the_oracle_for_every_user(db, people_spec, books_spec):
    with transaction.atomic():
        users = _build(people_spec, books_spec)
        oracle = Org.snapshot()
        for user in users:
            visible = list(clients_visible_to(user).values_list("pk", flat=True))
            assert len(visible) == len(set(visible)), "duplicate rows"
            assert set(visible) == oracle.visible(user), user.role
            assert clients_visible_to(user).count() == len(visible)
            editable = list(clients_editable_by(user).values_list("pk", flat=True))
            assert len(editable) == len(set(editable))
            assert set(editable) == oracle.editable(user), user.role
        transaction.set_rollback(True)
