"""Who may see and who may work which lost-client case (SPEC §3.3): the one home of the rule, asked
by the lost-client pages, the API's querysets and commands, and the services.

- director: every case, and may act on any case in work (and close an unclaimed one);
- return manager: the whole pool still being worked (so a case a colleague just claimed reads
  "claimed by …", not "not found") and every case they claimed; acts on the cases they hold;
- mentor, client manager, sales manager: the cases of the clients they may read (their lost
  clients' win-back), read-only.

The return manager's clients are defined by these cases, so this module also registers that
scope with ``clients.access`` (which sits below and never imports ``retention``).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from clients.access import ClientScope, client_scope_register, visible_through
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from staff.models import Capability, Role, User

IN_WORK_STATUSES = (CaseStatus.CLAIMED, CaseStatus.FREE_MONTH)


def cases_visible_to(user: User) -> QuerySet[LostCase]:
    """Cases whose page and API detail ``user`` may read (the rules above)."""
    cases = LostCase.objects.all()
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.role == Role.DIRECTOR:
        return cases
    if user.role == Role.RETURN_MANAGER:
        return cases.filter(Q(status__in=ACTIVE_CASE_STATUSES) | Q(return_manager=user))
    return cases.filter(visible_through(user))


def cases_in_queue_for(user: User) -> QuerySet[LostCase]:
    """The cases of ``user``'s lost-client queue: the pool and their own for a return manager,
    every case for the director, none for anybody else (the queue is a worklist)."""
    if not user.can(Capability.CASE_WORK):
        return LostCase.objects.none()
    if user.role == Role.DIRECTOR:
        return LostCase.objects.all()
    return LostCase.objects.filter(Q(status=CaseStatus.OPEN) | Q(return_manager=user))


def has_return_workspace(user: User) -> bool:
    """Whether ``user``'s workspace (/my/, SPEC §11) is the return manager's: a role with a
    workspace of its own whose work is lost-client cases."""
    return user.can(Capability.WORKSPACE) and user.can(Capability.CASE_WORK)


def case_held_by(user: User, case: LostCase) -> bool:
    """Whether ``user`` holds ``case``: the return manager who claimed it, or the director."""
    return user.can(Capability.CASE_WORK) and (
        user.can(Capability.CASES_OVERSEE) or case.return_manager_id == user.pk
    )


def case_worked_by(user: User, case: LostCase) -> bool:
    """Whether ``user`` may act on ``case`` now (log attempts, free month, return, decline): its
    holder, while it is claimed or in its free month."""
    return case.status in IN_WORK_STATUSES and case_held_by(user, case)


def case_declinable_by(user: User, case: LostCase) -> bool:
    """Whether ``user`` may decline ``case`` now: its holder while in work, and the director also
    an unclaimed case."""
    if case.status == CaseStatus.OPEN:
        return user.can(Capability.CASES_OVERSEE)
    return case_worked_by(user, case)


def _return_manager_reads(user: User) -> Q:
    """Clients with a case in the pool, and clients of cases the return manager claimed."""
    cases = LostCase.objects.filter(client=OuterRef("pk"))
    return Q(Exists(cases.filter(status__in=ACTIVE_CASE_STATUSES))) | Q(
        Exists(cases.filter(return_manager=user))
    )


def _return_manager_edits(user: User) -> Q:
    """Only the clients of the cases the return manager holds and is still working."""
    return Q(
        Exists(
            LostCase.objects.filter(
                client=OuterRef("pk"), return_manager=user, status__in=ACTIVE_CASE_STATUSES
            )
        )
    )


def register_client_scope() -> None:
    client_scope_register(
        Role.RETURN_MANAGER, ClientScope(read=_return_manager_reads, edit=_return_manager_edits)
    )
