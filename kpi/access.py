"""Who sees which KPI figures (SPEC §6): the director the department, every group and every
manager; a mentor their group and its members; anybody else their own manager row. Asked by the
dashboard page, the API and the workspace alike."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kpi.models import KpiSnapshot, Scope
from staff.access import group_member_ids
from staff.models import Capability, Role, User


def kpi_snapshots_visible_to(user: User) -> QuerySet[KpiSnapshot]:
    snapshots = KpiSnapshot.objects.all()
    if not user.is_authenticated or not user.is_active:
        return snapshots.none()
    if user.role == Role.DIRECTOR:
        return snapshots
    if user.role == Role.MENTOR:
        return snapshots.filter(
            Q(scope=Scope.GROUP, scope_id=user.pk)
            | Q(scope=Scope.MANAGER, scope_id__in=group_member_ids(user))
        )
    return snapshots.filter(scope=Scope.MANAGER, scope_id=user.pk)


def dashboard_group_for(user: User) -> User | None:
    """The dashboard ``user`` sees: the department (None) for the director, their own group for a
    mentor; anybody else is refused."""
    if not user.can(Capability.KPI_VIEW):
        raise PermissionDenied(_("The dashboard is for the director and mentors."))
    return None if user.can(Capability.KPI_DEPARTMENT) else user
