"""Team services: dismissal with the handover of every client (SPEC §3.6)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import (
    AssignmentReason,
    Client,
    ClientAssignment,
)
from clients.selectors import manager_loads
from clients.services import (
    SPREAD,
    client_reassign,
    rename_error_field,
)
from core.audit import save_audited
from core.bounds import business_date_check
from staff.access import group_member_ids
from staff.models import Role, User


def _spread_targets(user: User) -> list[User]:
    """Who takes a leaving manager's clients when the director says "spread evenly": the rest of
    their mentor group (the mentor included), or every active book keeper when there is no group."""
    candidates = User.objects.book_keepers().exclude(pk=user.pk)
    group_lead = user if user.role == Role.MENTOR else user.mentor
    if group_lead is not None:
        in_group = candidates.filter(pk__in=group_member_ids(group_lead))
        if in_group.exists():
            candidates = in_group
    return list(manager_loads(candidates))


@transaction.atomic
def staff_dismiss(
    *,
    actor: User,
    user: User,
    dismissed_on: datetime.date | None = None,
    handover: Mapping[int, User] | str = SPREAD,
) -> list[ClientAssignment]:
    """SPEC §3.6: dismissing a manager hands over every client of their book in one transaction;
    nothing is left without a manager, and the person is deactivated, never deleted.

    ``handover`` maps client id → new manager, or is ``"spread"``: the group's least loaded
    members get the clients one by one.
    """
    if actor.role != Role.DIRECTOR:
        raise PermissionDenied(_("Only the director dismisses staff."))
    if user.pk == actor.pk:
        raise ValidationError({"user": _("You cannot dismiss yourself.")})
    if not user.is_active:
        raise ValidationError({"user": _("%(name)s is already dismissed.") % {"name": user}})
    dismissed_on = dismissed_on or timezone.localdate()
    business_date_check(dismissed_on, field="dismissed_on", not_after_today=True)
    if User.objects.filter(mentor=user, is_active=True).exists():
        raise ValidationError(
            {"user": _("Give %(name)s's group another mentor first.") % {"name": user}}
        )
    book = list(Client.objects.select_for_update().filter(manager=user).order_by("pk"))
    if handover == SPREAD:
        targets = _spread_targets(user)
        if book and not targets:
            raise ValidationError({"handover": _("There is nobody to hand the clients to.")})
        loads = {t.pk: t.load for t in targets}
        plan = {}
        for client in book:
            target = min(targets, key=lambda t: (loads[t.pk], t.full_name, t.pk))
            plan[client.pk] = target
            loads[target.pk] += 1
    elif isinstance(handover, Mapping):
        plan = dict(handover)
        missing = [c.name for c in book if c.pk not in plan]
        if missing:
            raise ValidationError(
                {
                    "handover": _("Choose a new manager for: %(names)s.")
                    % {"names": ", ".join(missing[:10])}
                }
            )
        foreign = set(plan) - {c.pk for c in book}
        if foreign:
            raise ValidationError({"handover": _("Some clients are not in this manager's book.")})
    else:
        raise ValidationError({"handover": _('Give a manager per client or "spread".')})
    assignments = []
    for client in book:
        target = plan[client.pk]
        if target.pk == user.pk:
            raise ValidationError({"handover": _("Clients cannot stay with the leaving manager.")})
        try:
            assignment = client_reassign(
                actor=actor,
                client=client,
                manager=target,
                effective_on=dismissed_on,
                reason=AssignmentReason.DISMISSAL,
                check_permission=False,
            )
        except ValidationError as error:
            raise rename_error_field(error, "effective_on", "dismissed_on") from None
        assignments.append(assignment)
    user.is_active = False
    user.dismissed_on = dismissed_on
    save_audited(
        user, actor=actor, reason=_("dismissed"), update_fields=["is_active", "dismissed_on"]
    )
    return assignments
