"""Reads of clients. ``clients_visible_to`` is the one place that encodes who sees which client
(SPEC §1): every page, API queryset and export starts from it, so another manager's client is a 404
everywhere by construction."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from clients.models import Client, ClientAssignment, ClientStatus
from staff.models import Role, User


def group_member_ids(mentor: User) -> list[int]:
    """The mentor and the active or former mentees whose ``mentor`` is this mentor."""
    return [mentor.pk, *User.objects.filter(mentor=mentor).values_list("pk", flat=True)]


def clients_visible_to(user: User) -> QuerySet[Client]:
    """Clients ``user`` may read.

    - director: every client;
    - mentor: own clients and the clients of their group's managers;
    - client manager, sales manager: own clients;
    - return manager: clients with a case in the lost pool, and clients of cases they claimed.
    """
    clients = Client.objects.all()
    if not user.is_authenticated or not user.is_active:
        return clients.none()
    if user.role == Role.DIRECTOR:
        return clients
    if user.role == Role.MENTOR:
        return clients.filter(manager__in=group_member_ids(user))
    if user.role in (Role.CLIENT_MANAGER, Role.SALES_MANAGER):
        return clients.filter(manager=user)
    if user.role == Role.RETURN_MANAGER:
        # Imported here: retention depends on clients, not the other way round.
        from retention.models import ACTIVE_CASE_STATUSES, LostCase

        cases = LostCase.objects.filter(client=OuterRef("pk"))
        return clients.filter(
            Exists(cases.filter(status__in=ACTIVE_CASE_STATUSES))
            | Exists(cases.filter(return_manager=user))
        )
    return clients.none()


def clients_editable_by(user: User) -> QuerySet[Client]:
    """Clients ``user`` may change (log calls, requests, contracts): a mentor reads the group's
    book but works it too (SPEC §1: "sees and works the group's clients"), so edit scope equals read
    scope except for the return manager, who works only the cases they claimed."""
    if user.is_authenticated and user.role == Role.RETURN_MANAGER:
        from retention.models import ACTIVE_CASE_STATUSES, LostCase

        return Client.objects.filter(
            Exists(
                LostCase.objects.filter(
                    client=OuterRef("pk"), return_manager=user, status__in=ACTIVE_CASE_STATUSES
                )
            )
        )
    return clients_visible_to(user)


def assignment_on(client: Client, day: datetime.date) -> ClientAssignment | None:
    """The assignment that covered ``client`` on ``day`` (the first one covers all earlier days)."""
    return (
        ClientAssignment.objects.filter(client=client)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .select_related("manager")
        .first()
    )


def manager_loads(managers: QuerySet[User]) -> QuerySet[User]:
    """Annotate each manager with ``load``: clients currently in their book that are served
    (active or in a free month), for capacity checks and "least loaded first" pickers."""
    return managers.annotate(
        load=Count(
            "clients",
            filter=Q(clients__status__in=[ClientStatus.ACTIVE, ClientStatus.FREE_MONTH]),
        )
    ).order_by("load", "full_name")
