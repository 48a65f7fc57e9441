"""Writes to clients, their managers and their everyday work (SPEC §3.1, §3.6).

Each service is one transaction, validates before it writes and names the offending field in its
``ValidationError``. Contract services live in ``retention.services``: every contract change may open
or close a lost case, and retention depends on clients, not the other way round.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import (
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    Contact,
    Interaction,
    InteractionOutcome,
    Referral,
    ReferralStatus,
    Task,
    TaskKind,
)
from clients.selectors import group_member_ids, manager_loads
from crm.audit import save_audited
from staff.models import BOOK_ROLES, OWNER_ROLES, Role, User

SPREAD = "spread"


def _require_owner(manager: User | None, *, field: str = "manager", roles=OWNER_ROLES) -> User:
    if manager is None:
        raise ValidationError({field: _("Choose a manager.")})
    if not manager.is_active:
        raise ValidationError({field: _("%(name)s is dismissed.") % {"name": manager}})
    if manager.role not in roles:
        raise ValidationError({field: _("%(name)s cannot keep clients.") % {"name": manager}})
    return manager


def _full_clean(instance, *, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude), validate_constraints=False)


@transaction.atomic
def client_create(
    *,
    actor: User,
    name: str,
    inn: str,
    kind: str,
    acquisition_channel: str,
    kpp: str = "",
    region: str = "",
    city: str = "",
    referred_by: Client | None = None,
    parent: Client | None = None,
    manager: User | None = None,
) -> Client:
    """SPEC §3.1: a new client with its first assignment (open to the past).

    The manager defaults to the actor when the actor keeps a book; a referral client names its
    referrer, and a matching open referral of that referrer is marked won.
    """
    if actor.role not in (Role.DIRECTOR, Role.MENTOR, Role.CLIENT_MANAGER, Role.SALES_MANAGER):
        raise PermissionDenied(_("Your role cannot create clients."))
    if manager is None and actor.role in OWNER_ROLES:
        manager = actor
    _require_owner(manager)
    if acquisition_channel == AcquisitionChannel.REFERRAL and referred_by is None:
        raise ValidationError({"referred_by": _("A referral client needs the referring client.")})
    if acquisition_channel != AcquisitionChannel.REFERRAL and referred_by is not None:
        raise ValidationError(
            {"referred_by": _("Only a client that came by referral has a referrer.")}
        )
    client = Client(
        name=name.strip(),
        inn=inn.strip(),
        kpp=kpp.strip(),
        kind=kind,
        region=region.strip(),
        city=city.strip(),
        acquisition_channel=acquisition_channel,
        referred_by=referred_by,
        parent=parent,
        manager=manager,
    )
    client.full_clean()
    save_audited(client, actor=actor, reason=_("client created"))
    assignment = ClientAssignment(
        client=client, manager=manager, reason=AssignmentReason.INITIAL, created_by=actor
    )
    save_audited(assignment, actor=actor, reason=_("first manager"))
    if referred_by is not None:
        Referral.objects.filter(
            referrer=referred_by,
            inn=client.inn,
            status__in=[ReferralStatus.NEW, ReferralStatus.IN_PROGRESS],
        ).update(status=ReferralStatus.WON, client=client)
    return client


# Fields a user may edit on the card; the manager changes only through a reassignment and the
# status is derived.
CLIENT_EDITABLE_FIELDS = ("name", "inn", "kpp", "kind", "region", "city", "parent")


@transaction.atomic
def client_update(*, actor: User, client: Client, **changes) -> Client:
    unknown = set(changes) - set(CLIENT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed here.") for field in unknown})
    for field, value in changes.items():
        setattr(client, field, value.strip() if isinstance(value, str) else value)
    if client.parent_id is not None and client.parent_id == client.pk:
        raise ValidationError({"parent": _("A client cannot be merged into itself.")})
    client.full_clean()
    save_audited(
        client, actor=actor, reason=_("client edited"), update_fields=[*changes, "updated_at"]
    )
    return client


@transaction.atomic
def contact_create(
    *,
    actor: User,
    client: Client,
    name: str,
    position: str = "",
    phone: str = "",
    email: str = "",
    is_decision_maker: bool = False,
) -> Contact:
    contact = Contact(
        client=client,
        name=name.strip(),
        position=position.strip(),
        phone=phone.strip(),
        email=email.strip(),
        is_decision_maker=is_decision_maker,
    )
    contact.full_clean()
    contact.save()
    return contact


def _can_reassign(actor: User, client: Client) -> bool:
    if actor.role == Role.DIRECTOR:
        return True
    if actor.role == Role.MENTOR:
        return client.manager_id in group_member_ids(actor)
    # A sales manager hands their own won client over (SPEC §3.1).
    return actor.role == Role.SALES_MANAGER and client.manager_id == actor.pk


@transaction.atomic
def client_reassign(
    *,
    actor: User,
    client: Client,
    manager: User,
    effective_on: datetime.date | None = None,
    reason: str = AssignmentReason.REASSIGN,
    check_permission: bool = True,
) -> ClientAssignment:
    """SPEC §2: reassignment effective on day d closes the current assignment on d−1 and opens a
    new one on d, in one transaction. Back-dating is allowed down to the day after the current
    assignment began; a future date is refused (the book must show who serves the client today).
    """
    if check_permission and not _can_reassign(actor, client):
        raise PermissionDenied(_("You cannot reassign this client."))
    today = timezone.localdate()
    effective_on = effective_on or today
    _require_owner(manager, roles=BOOK_ROLES if reason != AssignmentReason.INITIAL else OWNER_ROLES)
    if reason not in AssignmentReason.values or reason == AssignmentReason.INITIAL:
        raise ValidationError({"reason": _("Choose a reason for the reassignment.")})
    if effective_on > today:
        raise ValidationError({"effective_on": _("The date cannot be in the future.")})
    # Lock the client so two reassignments of one client run one after the other.
    client = Client.objects.select_for_update().get(pk=client.pk)
    current = ClientAssignment.objects.select_for_update().get(client=client, ends_on__isnull=True)
    if current.manager_id == manager.pk:
        raise ValidationError({"manager": _("The client is already with this manager.")})
    if current.starts_on is not None and effective_on <= current.starts_on:
        raise ValidationError(
            {
                "effective_on": _("The current manager has served the client since %(day)s.")
                % {"day": current.starts_on.isoformat()}
            }
        )
    current.ends_on = effective_on - datetime.timedelta(days=1)
    save_audited(
        current,
        actor=actor,
        reason=_("handed to %(name)s") % {"name": manager},
        update_fields=["ends_on"],
    )
    new = ClientAssignment(
        client=client, manager=manager, starts_on=effective_on, reason=reason, created_by=actor
    )
    _full_clean(new)
    save_audited(new, actor=actor, reason=_("taken from %(name)s") % {"name": current.manager})
    client.manager = manager
    save_audited(
        client,
        actor=actor,
        reason=_("manager changed to %(name)s") % {"name": manager},
        update_fields=["manager", "updated_at"],
    )
    return new


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
    if dismissed_on > timezone.localdate():
        raise ValidationError({"dismissed_on": _("The date cannot be in the future.")})
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
        assignments.append(
            client_reassign(
                actor=actor,
                client=client,
                manager=target,
                effective_on=dismissed_on,
                reason=AssignmentReason.DISMISSAL,
                check_permission=False,
            )
        )
    user.is_active = False
    user.dismissed_on = dismissed_on
    save_audited(
        user, actor=actor, reason=_("dismissed"), update_fields=["is_active", "dismissed_on"]
    )
    return assignments


@transaction.atomic
def interaction_log(
    *,
    actor: User,
    client: Client,
    kind: str,
    outcome: str,
    occurred_at: datetime.datetime | None = None,
    duration_min: int = 0,
    summary: str = "",
    next_contact_on: datetime.date | None = None,
) -> Interaction:
    """Log a call, meeting or message. A reached contact completes the client's open follow-up
    task (SPEC §3.5: the cadence is kept by reaching the client)."""
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("A contact cannot be logged in the future.")})
    if next_contact_on is not None and next_contact_on < timezone.localtime(occurred_at).date():
        raise ValidationError({"next_contact_on": _("The next contact must be after this one.")})
    interaction = Interaction(
        client=client,
        staff=actor,
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at,
        duration_min=duration_min,
        summary=summary.strip(),
        next_contact_on=next_contact_on,
    )
    interaction.full_clean()
    interaction.save()
    if outcome == InteractionOutcome.REACHED:
        Task.objects.filter(client=client, kind=TaskKind.FOLLOW_UP, done_at__isnull=True).update(
            done_at=timezone.now()
        )
    return interaction


@transaction.atomic
def referral_create(
    *,
    actor: User,
    referrer: Client,
    organisation: str,
    inn: str = "",
    contact: str = "",
    comment: str = "",
) -> Referral:
    if not organisation.strip():
        raise ValidationError({"organisation": _("Name the organisation.")})
    referral = Referral(
        referrer=referrer,
        recorded_by=actor,
        organisation=organisation.strip(),
        inn=inn.strip(),
        contact=contact.strip(),
        comment=comment.strip(),
    )
    referral.full_clean()
    referral.save()
    return referral


def task_open_system(
    *, assignee: User, client: Client, kind: str, due_on: datetime.date, title: str = ""
) -> Task | None:
    """Open a system task unless one is already open for (client, kind): SPEC §2 idempotence.
    Returns the new task, or None when one was open. Safe when two jobs race (the partial unique
    constraint decides)."""
    if Task.objects.filter(
        client=client, kind=kind, done_at__isnull=True, created_by__isnull=True
    ).exists():
        return None
    try:
        with transaction.atomic():
            return Task.objects.create(
                assignee=assignee, client=client, kind=kind, due_on=due_on, title=title
            )
    except IntegrityError:
        return None


@transaction.atomic
def task_complete(*, actor: User, task: Task) -> Task:
    if task.assignee_id != actor.pk and actor.role != Role.DIRECTOR:
        raise PermissionDenied(_("This task is someone else's."))
    updated = Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=timezone.now())
    task.refresh_from_db()
    if not updated:
        raise ValidationError({"task": _("The task is already done.")})
    return task
