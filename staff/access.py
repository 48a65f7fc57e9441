"""Who may see whom among the staff: one home for the rule, asked by pages, the API and services."""

from __future__ import annotations

from django.db.models import (
    Q,
    QuerySet,
)

from staff.models import BOOK_ROLES, Role, User


def group_member_ids(mentor: User) -> list[int]:
    """The mentor and the active or former mentees whose ``mentor`` is this mentor."""
    return [mentor.pk, *User.objects.filter(mentor=mentor).values_list("pk", flat=True)]


def staff_visible_to(user: User) -> QuerySet[User]:
    """People ``user`` may see and name in a request (a new manager, a mentor):

    - director: everyone;
    - mentor: their group (themselves and their mentees, former ones included);
    - return manager, sales manager: themselves and the active client managers and mentors, to
      whom they hand returned or won clients;
    - client manager: themselves.
    """
    people = User.objects.all()
    if not user.is_authenticated or not user.is_active:
        return people.none()
    if user.role == Role.DIRECTOR:
        return people
    if user.role == Role.MENTOR:
        return people.filter(pk__in=group_member_ids(user))
    if user.role in (Role.RETURN_MANAGER, Role.SALES_MANAGER):
        return people.filter(Q(pk=user.pk) | Q(is_active=True, role__in=BOOK_ROLES))
    return people.filter(pk=user.pk)


def task_assignees_for(user: User) -> QuerySet[User]:
    """Whom ``user`` may give a task (SPEC §11: the assignee is told):

    - director: every active colleague;
    - mentor: the active members of their group, themselves included;
    - anyone else: themselves.
    """
    people = User.objects.filter(is_active=True)
    if not user.is_authenticated or not user.is_active:
        return people.none()
    if user.role == Role.DIRECTOR:
        return people
    if user.role == Role.MENTOR:
        return people.filter(Q(pk=user.pk) | Q(mentor=user))  # the group, one query
    return people.filter(pk=user.pk)
