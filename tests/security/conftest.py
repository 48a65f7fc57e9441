"""The fixture world of the IDOR harness (RELIABILITY §2.0) and really logged-in clients.

A director; two mentors, each with two client managers owning three clients apiece (each client
with a paid contract, a call and a request); a return manager with three lost clients (two open
cases, one claimed); a sales manager outside every group with one won client; a dismissed
(deactivated) manager; and anonymous.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clients.models import ClientRequest, ClientStatus, Referral
from retention.models import CaseStatus, LostCase
from staff.models import Role, User
from tests.conftest import PASSWORD
from tests.factories import ClientFactory, ContractFactory, InteractionFactory, UserFactory
from tests.security.oracle import Org

# Every role of the matrix; "anonymous" logs in as nobody, "inactive" cannot log in at all.
ROLES = (
    "director",
    "mentor",
    "mentor2",
    "manager",
    "colleague",
    "other_manager",
    "other_manager2",
    "return_manager",
    "sales_manager",
    "inactive",
    "anonymous",
)


@dataclass
class World:
    users: dict[str, User]
    clients: dict[str, list] = field(default_factory=dict)  # owner role → its clients
    lost: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    won: object = None

    def user(self, role: str) -> User | None:
        return self.users.get(role)

    def oracle(self) -> Org:
        return Org.snapshot()

    @property
    def all_clients(self) -> list:
        return [c for book in self.clients.values() for c in book] + self.lost + [self.won]


def _book(manager: User, tag: str) -> list:
    book = []
    opened = timezone.now() - datetime.timedelta(days=1)
    for n in range(3):
        client = ClientFactory(
            manager=manager, name=f"{tag} клиент {n}", status=ClientStatus.ACTIVE
        )
        ContractFactory(client=client)
        InteractionFactory(client=client, staff=manager)
        ClientRequest.objects.create(
            client=client,
            logged_by=manager,
            topic=f"Заявка {tag} {n}",
            opened_at=opened,
            due_at=opened + datetime.timedelta(days=2),
        )
        if n == 0:
            Referral.objects.create(
                referrer=client, recorded_by=manager, organisation=f"Рекомендация {tag}"
            )
        book.append(client)
    return book


def build_world() -> World:
    director = UserFactory(username="sec-director", role=Role.DIRECTOR)
    mentor = UserFactory(username="sec-mentor", role=Role.MENTOR)
    mentor2 = UserFactory(username="sec-mentor2", role=Role.MENTOR)
    users = {
        "director": director,
        "mentor": mentor,
        "mentor2": mentor2,
        "manager": UserFactory(username="sec-a1", role=Role.CLIENT_MANAGER, mentor=mentor),
        "colleague": UserFactory(username="sec-a2", role=Role.CLIENT_MANAGER, mentor=mentor),
        "other_manager": UserFactory(username="sec-b1", role=Role.CLIENT_MANAGER, mentor=mentor2),
        "other_manager2": UserFactory(username="sec-b2", role=Role.CLIENT_MANAGER, mentor=mentor2),
        "return_manager": UserFactory(username="sec-rm", role=Role.RETURN_MANAGER),
        "sales_manager": UserFactory(username="sec-sales", role=Role.SALES_MANAGER),
    }
    inactive = UserFactory(username="sec-gone", role=Role.CLIENT_MANAGER, mentor=mentor)
    inactive.is_active = False
    inactive.dismissed_on = datetime.date(2026, 1, 31)
    inactive.save(update_fields=["is_active", "dismissed_on"])
    users["inactive"] = inactive
    world = World(users=users)
    for role in ("manager", "colleague", "other_manager", "other_manager2"):
        world.clients[role] = _book(users[role], role)
    lost_by = users["other_manager2"]
    for n, status in enumerate((CaseStatus.OPEN, CaseStatus.OPEN, CaseStatus.CLAIMED)):
        client = ClientFactory(manager=lost_by, name=f"Потерянный {n}", status=ClientStatus.LOST)
        ContractFactory(
            client=client,
            ends_on=datetime.date(2026, 9, 30),
            termination_reason="competitor",
        )
        claimed = status == CaseStatus.CLAIMED
        world.cases.append(
            LostCase.objects.create(
                client=client,
                lost_on=datetime.date(2026, 10, 1),
                lost_by=lost_by,
                reason="competitor",
                lost_fee=Decimal("5000.00"),
                status=status,
                return_manager=users["return_manager"] if claimed else None,
                claimed_at=timezone.now() if claimed else None,
            )
        )
        world.lost.append(client)
    world.won = ClientFactory(manager=users["sales_manager"], name="Выигранный у конкурента")
    return world


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def two_factor_on(settings):
    """Two-factor required of directors and in the admin, as in production."""
    settings.OTP_REQUIRED_FOR_DIRECTORS = True
    settings.OTP_REQUIRED_FOR_ADMIN = True


def login(world: World, role: str) -> APIClient:
    """An API client holding a real session: the password goes through ``authenticate``."""
    client = APIClient()
    user = world.user(role)
    if user is not None:
        logged_in = client.login(username=user.username, password=PASSWORD)
        assert logged_in == user.is_active, role
    return client
