"""Reads of the team page (SPEC §6 /team/): whose work a director or a mentor controls, with their figures."""

from __future__ import annotations

import datetime

from django.db.models import (
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from clients.models import (
    Client,
    ClientRequest,
    ClientStatus,
    RequestStatus,
    Task,
)
from clients.selectors import SERVED_STATUSES, UNFINISHED_REQUEST_STATUSES, _reached_since
from staff.access import group_member_ids
from staff.models import Role, User


def team_members(user: User) -> QuerySet[User]:
    """SPEC §6 /team/: the active people whose work ``user`` controls — a mentor their group
    (themselves included), the director every active client manager and mentor — with
    ``group_name``, ordered by group (the mentor first), then by name. Their figures come from
    ``team_member_figures`` for one page of them at a time."""
    if user.role == Role.DIRECTOR:
        people = User.objects.book_keepers()
    elif user.role == Role.MENTOR:
        people = User.objects.active().filter(pk__in=group_member_ids(user))
    else:
        return User.objects.none()
    return people.annotate(
        group_name=Case(
            When(role=Role.MENTOR, then=F("full_name")), default=F("mentor__full_name")
        ),
        is_lead=Case(When(role=Role.MENTOR, then=Value(0)), default=Value(1)),
    ).order_by(F("group_name").asc(nulls_last=True), "is_lead", "full_name", "pk")


def team_member_figures(
    members: list[User], *, today: datetime.date, now: datetime.datetime | None = None
) -> list[User]:
    """Set each member's figures on the objects: ``book`` (clients kept), ``load`` (served
    clients, against ``capacity``), ``cadence_active`` and ``cadence_in_time`` (SPEC §3.5),
    ``overdue_tasks``, ``overdue_requests`` and ``refusals_pending``.

    Three grouped queries for the whole list, whatever its length: the director's team runs to
    hundreds of people, and per-person subqueries would read each book several times."""
    now = now or timezone.now()
    ids = [member.pk for member in members]
    books = {
        row["manager"]: row
        for row in Client.objects.filter(manager__in=ids)
        .values("manager")
        .annotate(
            book=Count("pk"),
            load=Count("pk", filter=Q(status__in=SERVED_STATUSES)),
            cadence_active=Count("pk", filter=Q(status=ClientStatus.ACTIVE)),
            cadence_in_time=Count(
                "pk", filter=Q(status=ClientStatus.ACTIVE) & _reached_since(today)
            ),
        )
        .order_by()
    }
    asked = {
        row["client__manager"]: row
        for row in ClientRequest.objects.filter(client__manager__in=ids)
        .filter(
            Q(status__in=UNFINISHED_REQUEST_STATUSES, due_at__lt=now)
            | Q(status=RequestStatus.REFUSAL_PENDING)
        )
        .values("client__manager")
        .annotate(
            overdue_requests=Count("pk", filter=Q(status__in=UNFINISHED_REQUEST_STATUSES)),
            refusals_pending=Count("pk", filter=Q(status=RequestStatus.REFUSAL_PENDING)),
        )
        .order_by()
    }
    late_tasks = dict(
        Task.objects.filter(assignee__in=ids, done_at__isnull=True, due_on__lt=today)
        .values("assignee")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("assignee", "n")
    )
    for member in members:
        book = books.get(member.pk, {})
        for name in ("book", "load", "cadence_active", "cadence_in_time"):
            setattr(member, name, book.get(name, 0))
        their_requests = asked.get(member.pk, {})
        member.overdue_requests = their_requests.get("overdue_requests", 0)
        member.refusals_pending = their_requests.get("refusals_pending", 0)
        member.overdue_tasks = late_tasks.get(member.pk, 0)
    return members


def team_groups(user: User) -> list[User]:
    """The mentor groups the director can narrow /team/ to (active mentors by name); none for a
    mentor, whose page is their own group."""
    if user.role != Role.DIRECTOR:
        return []
    return list(User.objects.active().filter(role=Role.MENTOR).order_by("full_name", "pk"))
