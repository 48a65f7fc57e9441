"""The demo's simulation keeps the product's rules on the days it simulates."""

from __future__ import annotations

import datetime

import pytest

from demo.simulation import Company
from staff.models import Role

TODAY = datetime.date(2026, 6, 15)


@pytest.fixture
def company() -> Company:
    company = Company(clients=150, years=1, seed=5, today=TODAY)
    company.simulate()
    return company


def client_of(company: Company, role: str):
    return next(
        client
        for client in company.clients
        if company.by_id[client.manager].role == role
        and company.by_id[client.manager].available(company.last_day)
    )


@pytest.mark.django_db
def test_refusal_is_approved_by_the_mentor_of_the_clients_manager(company):
    client = client_of(company, Role.CLIENT_MANAGER)
    manager = company.by_id[client.manager]

    approver = company.refusal_approver(client, requested_by=manager.id, day=company.last_day)

    assert approver == manager.mentor.id


@pytest.mark.django_db
def test_refusal_goes_to_the_director_when_the_mentor_asks(company):
    client = client_of(company, Role.CLIENT_MANAGER)
    mentor = company.by_id[client.manager].mentor

    approver = company.refusal_approver(client, requested_by=mentor.id, day=company.last_day)

    assert approver == company.director.id


@pytest.mark.django_db
def test_refusal_goes_to_the_director_when_the_mentor_has_left(company):
    client = client_of(company, Role.CLIENT_MANAGER)
    manager = company.by_id[client.manager]
    manager.mentor.dismissed_on = company.last_day

    approver = company.refusal_approver(client, requested_by=manager.id, day=company.last_day)

    assert approver == company.director.id
    # The day before, the mentor still worked there and decided.
    day_before = company.last_day - datetime.timedelta(days=1)
    assert company.refusal_approver(client, requested_by=manager.id, day=day_before) == (
        manager.mentor.id
    )


@pytest.mark.django_db
def test_refusal_for_a_mentors_own_client_goes_to_the_director(company):
    client = client_of(company, Role.MENTOR)
    mentor = company.by_id[client.manager]

    approver = company.refusal_approver(client, requested_by=mentor.id, day=company.last_day)

    assert approver == company.director.id
