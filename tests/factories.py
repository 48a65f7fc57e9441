"""factory_boy factories for the domain. They write rows directly (no services), to build a
given state quickly; tests of behaviour call the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientKind,
    Contract,
    ContractKind,
    Interaction,
    InteractionKind,
    InteractionOutcome,
)
from clients.validators import inn_with_check_digits
from retention.models import LostCase
from staff.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"Сотрудник {n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.CLIENT_MANAGER
    password = factory.PostGenerationMethodCall("set_password", "pass-12345")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


def make_inn(n: int) -> str:
    """A valid INN a test names on purpose; never one the factories hand out by themselves."""
    return inn_with_check_digits(f"{240000000 + n:09d}")


def _factory_inn(n: int) -> str:
    # Its own range, so a factory-made client never takes the INN a test chose with make_inn.
    return inn_with_check_digits(f"{380000000 + n:09d}")


class ClientFactory(factory.django.DjangoModelFactory):
    """A client with its first assignment to ``manager``."""

    class Meta:
        model = Client
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"МБОУ СОШ № {n}")
    inn = factory.Sequence(_factory_inn)
    kind = ClientKind.SCHOOL
    region = "Красноярский край"
    city = "Красноярск"
    acquisition_channel = AcquisitionChannel.INBOUND
    manager = factory.SubFactory(UserFactory)

    @factory.post_generation
    def assignment(obj, create, extracted, **kwargs):
        if create and obj.manager_id:
            ClientAssignment.objects.create(
                client=obj, manager=obj.manager, reason=AssignmentReason.INITIAL
            )


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    client = factory.SubFactory(ClientFactory)
    number = factory.Sequence(lambda n: f"АО-{n:05d}")
    kind = ContractKind.PAID
    starts_on = datetime.date(2024, 1, 1)
    ends_on = None
    monthly_fee = Decimal("5000.00")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    client = factory.SubFactory(ClientFactory)
    staff = factory.SelfAttribute("client.manager")
    kind = InteractionKind.CALL_OUT
    occurred_at = factory.LazyFunction(
        lambda: datetime.datetime(2026, 11, 1, 10, 0, tzinfo=datetime.UTC)
    )
    outcome = InteractionOutcome.REACHED
    summary = "Обсудили обновление 1С"


class LostCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LostCase

    client = factory.SubFactory(ClientFactory)
    lost_on = datetime.date(2026, 10, 1)
    lost_by = factory.SelfAttribute("client.manager")
    reason = "competitor"
    lost_fee = Decimal("5000.00")
