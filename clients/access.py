"""Who may read and who may change which client (SPEC §1): the one home of the rule. Every page,
API queryset, template flag, export and service check of a client, and of anything hanging off one
(contracts, calls, requests, tasks, referrals), asks these functions, so another manager's client
is a 404 everywhere by construction.

The director, mentors, client managers and sales managers are scoped by the book (``manager``).
A role whose clients are defined by a higher app's rows (the return manager: clients with a lost
case, in ``retention``) registers its scope from that app with ``client_scope_register``:
``clients`` sits below ``retention`` and never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from clients.models import Client, Task
from staff.models import Capability, Role, User


@dataclass(frozen=True)
class ClientScope:
    """A role's clients as filters on ``Client``: those it reads, and those it changes (None:
    the same as it reads)."""

    read: Callable[[User], Q]
    edit: Callable[[User], Q] | None = None


_ROLE_SCOPES: dict[str, ClientScope] = {}


def client_scope_register(role: str, scope: ClientScope) -> None:
    """Called once at start-up by the app that owns the rows defining ``role``'s clients."""
    _ROLE_SCOPES[role] = scope


def clients_visible_to(user: User) -> QuerySet[Client]:
    """Clients ``user`` may read.

    - director: every client;
    - mentor: own clients and the clients of their group's managers;
    - client manager, sales manager: own clients;
    - a role registered by a higher app (the return manager: ``retention.access``).
    """
    clients = Client.objects.all()
    if not user.is_authenticated or not user.is_active:
        return clients.none()
    if user.role == Role.DIRECTOR:
        return clients
    if user.role == Role.MENTOR:
        # The group (``group_member_ids``) read through the manager's mentor, not queried first:
        # a page asking this twice stays within its query budget.
        return clients.filter(Q(manager=user) | Q(manager__mentor=user))
    if user.role in (Role.CLIENT_MANAGER, Role.SALES_MANAGER):
        return clients.filter(manager=user)
    scope = _ROLE_SCOPES.get(user.role)
    return clients.filter(scope.read(user)) if scope else clients.none()


# Roles whose visible clients are their own book or their group's books.
BOUNDED_SCOPE_ROLES = (Role.CLIENT_MANAGER, Role.SALES_MANAGER, Role.MENTOR)


def visible_through(user: User, field: str = "client") -> Q:
    """A filter on a model with a required foreign key ``field`` to Client: its rows whose client
    ``user`` may read. For the director it is no filter at all, so that lists over millions of
    rows use their ordering index instead of joining every client (SPEC §9)."""
    if user.is_authenticated and user.is_active and user.role == Role.DIRECTOR:
        return Q()
    if user.is_authenticated and user.role in BOUNDED_SCOPE_ROLES:
        # A book or a group's books: a few hundred ids, passed as a list that the planner
        # estimates exactly. Given a subquery, PostgreSQL walks the time index of millions of
        # interactions looking for the few that match.
        ids = list(clients_visible_to(user).order_by().values_list("pk", flat=True))
        return Q(**{f"{field}__in": ids})
    return Q(**{f"{field}__in": clients_visible_to(user)})


def clients_editable_by(user: User) -> QuerySet[Client]:
    """Clients ``user`` may change (log calls, requests, contracts): a mentor reads the group's
    book but works it too (SPEC §1: "sees and works the group's clients"), so edit scope equals read
    scope except for the return manager, who works only the cases they claimed."""
    scope = _ROLE_SCOPES.get(getattr(user, "role", None))
    if scope is not None and scope.edit is not None:
        if not (user.is_authenticated and user.is_active):
            return Client.objects.none()
        return Client.objects.filter(scope.edit(user))
    return clients_visible_to(user)


def client_reassignable_by(user: User, client: Client) -> bool:
    """Whether ``user`` may give ``client`` to another manager (SPEC §3.1, §3.6): the director any
    client, a mentor a client of their group, a sales manager their own won client (the
    handover)."""
    if not user.can(Capability.CLIENT_REASSIGN):
        return False
    if user.role == Role.DIRECTOR:
        return True
    if user.role == Role.MENTOR:
        # The group is the mentor and their mentees (``group_member_ids``), read off the
        # client's manager rather than queried, so a page asking per client stays one query.
        return client.manager_id is not None and (
            client.manager_id == user.pk or client.manager.mentor_id == user.pk
        )
    return client.manager_id == user.pk


def reassign_targets(user: User) -> QuerySet[User]:
    """Whom ``user`` may give clients to (the rule ``clients.services.client_reassign`` applies):
    a mentor, the active book keepers of their group; the director and a sales manager, every
    active client manager and mentor; anyone else, nobody."""
    if not user.can(Capability.CLIENT_REASSIGN):
        return User.objects.none()
    keepers = User.objects.book_keepers()
    if user.role == Role.MENTOR:
        return keepers.filter(Q(pk=user.pk) | Q(mentor=user))  # ``group_member_ids``
    return keepers


def tasks_answerable_by(user: User) -> QuerySet[Task]:
    """The tasks ``user`` may close: their own, and for the director every task of a client they
    see (``task_answerable_by`` as a queryset)."""
    tasks = Task.objects.all()
    if not (user.is_authenticated and user.is_active):
        return tasks.none()
    if user.role == Role.DIRECTOR:
        return tasks
    return tasks.filter(assignee=user)


def task_answerable_by(user: User, task) -> bool:
    """Whether ``task`` is ``user``'s to close: its assignee's, or any task for the director."""
    return task.assignee_id == user.pk or user.role == Role.DIRECTOR


def task_completable_by(user: User, task) -> bool:
    """Whether ``user`` may tick ``task`` off by hand (SPEC §11): theirs to close, and not a task
    that mirrors a state (that one closes when the state ends)."""
    return task_answerable_by(user, task) and not task.mirrors_state
