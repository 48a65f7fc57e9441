"""A small department with one object of each kind, and API clients that log in with a token."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clients.models import (
    ClientRequest,
    ClientStatus,
    Referral,
    RequestStatus,
    Task,
    TaskKind,
)
from kpi.models import KpiSnapshot, Scope
from kpi.planning import PlannerInputs
from kpi.services import planner_scenario_save
from retention.models import CaseStatus
from staff.models import User
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, LostCaseFactory

ROLES = (
    "director",
    "mentor",
    "manager",
    "outsider",
    "return_manager",
    "sales_manager",
    "anonymous",
)


def api_client(user: User | None = None) -> APIClient:
    """An API client authenticated the way integrations are: ``Authorization: Token …``."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@dataclass
class World:
    director: User
    mentor: User
    manager: User
    colleague: User
    outsider: User
    return_manager: User
    sales_manager: User
    acme: object  # manager's active client
    prospect: object  # manager's client without contracts
    colleague_client: object
    outsider_client: object
    contract: object  # acme's open paid contract
    open_case: object  # an unclaimed lost case of a client of manager
    claimed_case: object  # a lost case claimed by return_manager
    open_request: object
    pending_request: object  # a refusal waiting for the mentor
    task: object  # manager's open task
    interaction: object
    referral: object
    scenario: object  # a saved growth planner scenario

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def world(director, mentor, manager, colleague, outsider, return_manager, sales_manager):
    today = timezone.localdate()
    now = timezone.now()
    acme = ClientFactory(name="Школа № 1", manager=manager, status=ClientStatus.ACTIVE)
    contract = ContractFactory(client=acme, starts_on=datetime.date(2024, 1, 1))
    prospect = ClientFactory(name="Детский сад № 7", manager=manager)
    colleague_client = ClientFactory(name="Больница № 3", manager=colleague)
    ContractFactory(client=colleague_client)
    outsider_client = ClientFactory(name="Администрация района", manager=outsider)
    ContractFactory(client=outsider_client)

    lost_on = today - datetime.timedelta(days=10)
    open_lost = ClientFactory(name="Дом культуры", manager=manager, status=ClientStatus.LOST)
    ContractFactory(
        client=open_lost,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=lost_on - datetime.timedelta(days=1),
        termination_reason="competitor",
    )
    open_case = LostCaseFactory(client=open_lost, lost_on=lost_on, lost_by=manager)
    claimed_lost = ClientFactory(name="Гимназия № 2", manager=manager, status=ClientStatus.LOST)
    ContractFactory(
        client=claimed_lost,
        starts_on=datetime.date(2024, 1, 1),
        ends_on=lost_on - datetime.timedelta(days=1),
        termination_reason="price",
        monthly_fee=Decimal("8000.00"),
    )
    claimed_case = LostCaseFactory(
        client=claimed_lost,
        lost_on=lost_on,
        lost_by=manager,
        lost_fee=Decimal("8000.00"),
        status=CaseStatus.CLAIMED,
        return_manager=return_manager,
        claimed_at=now,
    )
    open_request = ClientRequest.objects.create(
        client=acme,
        logged_by=manager,
        topic="Обновить зарплатный модуль",
        opened_at=now,
        due_at=now + datetime.timedelta(days=2),
    )
    pending_request = ClientRequest.objects.create(
        client=acme,
        logged_by=manager,
        topic="Доработать отчёт",
        opened_at=now,
        due_at=now + datetime.timedelta(days=2),
        status=RequestStatus.REFUSAL_PENDING,
        refusal_reason="Не входит в договор",
        refusal_requested_by=manager,
    )
    task = Task.objects.create(
        assignee=manager, client=acme, kind=TaskKind.MANUAL, title="Позвонить", due_on=today
    )
    interaction = InteractionFactory(client=acme, staff=manager, occurred_at=now)
    referral = Referral.objects.create(referrer=acme, recorded_by=manager, organisation="МБДОУ № 9")
    for scope, scope_id in (
        (Scope.DEPARTMENT, 0),
        (Scope.GROUP, mentor.pk),
        (Scope.MANAGER, manager.pk),
        (Scope.MANAGER, outsider.pk),
    ):
        KpiSnapshot.objects.create(
            month=datetime.date(2026, 1, 1), scope=scope, scope_id=scope_id, computed_at=now
        )
    scenario = planner_scenario_save(
        actor=director,
        name="Рефералы 60 в месяц",
        inputs=PlannerInputs(1500, 0.015, 0.002, 4.0, 5, 3, 0.4, 9000),
    )
    return World(
        scenario=scenario,
        director=director,
        mentor=mentor,
        manager=manager,
        colleague=colleague,
        outsider=outsider,
        return_manager=return_manager,
        sales_manager=sales_manager,
        acme=acme,
        prospect=prospect,
        colleague_client=colleague_client,
        outsider_client=outsider_client,
        contract=contract,
        open_case=open_case,
        claimed_case=claimed_case,
        open_request=open_request,
        pending_request=pending_request,
        task=task,
        interaction=interaction,
        referral=referral,
    )


@pytest.fixture
def as_role(world):
    """``as_role("manager")`` → an API client logged in as that member of the world."""

    def make(role: str) -> APIClient:
        return api_client(world.user(role))

    return make
