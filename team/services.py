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
from clients.selectors import spread_candidates
from clients.services import (
    SPREAD,
    client_reassign,
    rename_error_field,
)
from core.audit import save_audited
from core.bounds import business_date_check
from staff.capacity import spread_among
from staff.models import Role, User


@transaction.atomic
def staff_dismiss(
    *,
    actor: User,
    user: User,
    dismissed_on: datetime.date | None = None,
    handover: Mapping[int, User | str] | str = SPREAD,
) -> list[ClientAssignment]:
    """SPEC §3.6: dismissing a manager hands over every client of their book in one transaction;
    nothing is left without a manager, and the person is deactivated, never deleted.

    ``handover`` maps each client id of the book to a new manager or to ``"spread"``, or is
    ``"spread"`` for the whole book. Spread clients go to the rest of the group by the spread
    rule (``staff.capacity.spread_plan``: least loaded relative to effective capacity, nobody
    above capacity while anyone has room), counting the clients given by name first.
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
    plan = _handover_plan(user, book, handover)
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


def _handover_plan(
    user: User, book: list[Client], handover: Mapping[int, User | str] | str
) -> dict[int, User]:
    """Client id → new manager for every client of ``user``'s book."""
    if handover == SPREAD:
        handover = dict.fromkeys((client.pk for client in book), SPREAD)
    if not isinstance(handover, Mapping) or any(
        not (target == SPREAD or isinstance(target, User)) for target in handover.values()
    ):
        raise ValidationError({"handover": _('Give a manager per client or "spread".')})
    missing = [client.name for client in book if client.pk not in handover]
    if missing:
        raise ValidationError(
            {
                "handover": _("Choose a new manager for: %(names)s.")
                % {"names": ", ".join(missing[:10])}
            }
        )
    if set(handover) - {client.pk for client in book}:
        raise ValidationError({"handover": _("Some clients are not in this manager's book.")})
    plan = {pk: target for pk, target in handover.items() if target != SPREAD}
    spread = [client for client in book if handover[client.pk] == SPREAD]
    if not spread:
        return plan
    targets = spread_candidates(user)
    if not targets:
        raise ValidationError({"handover": _("There is nobody to hand the clients to.")})
    loads = {target.pk: target.load for target in targets}
    for target in plan.values():  # the clients given by name count first
        if target.pk in loads:
            loads[target.pk] += 1
    chosen = spread_among(targets, len(spread), loads=loads, on=timezone.localdate())
    plan.update(zip((client.pk for client in spread), chosen, strict=True))
    return plan
