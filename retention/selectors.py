"""Reads of lost cases: the queue, the picker, and who may open which case."""

from __future__ import annotations

from django.db.models import Q

from clients.selectors import clients_editable_by, manager_loads
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from staff.models import Role, User


def lost_cases_queue():
    """Open cases first by the monthly fee lost, then the most recent loss."""
    return LostCase.objects.filter(status__in=ACTIVE_CASE_STATUSES).order_by(
        "-lost_fee", "-lost_on", "pk"
    )


def return_candidates(case: LostCase):
    """Active client managers for the return picker, least loaded first, never ``lost_by``."""
    return manager_loads(User.objects.book_keepers().exclude(pk=case.lost_by_id))


def cases_workable_by(user: User):
    """Cases a user may open: the return manager sees the pool and their own; the director all."""
    if user.role == Role.DIRECTOR:
        return LostCase.objects.all()
    if user.role == Role.RETURN_MANAGER:
        return LostCase.objects.filter(Q(status=CaseStatus.OPEN) | Q(return_manager=user))
    return LostCase.objects.filter(client__in=clients_editable_by(user))
