"""Writes to clients, their managers and their everyday work (SPEC §3.1, §3.6).

Each service is one transaction, validates before it writes and names the offending field in its
``ValidationError``. Contract services live in ``retention.services``: every contract change may open
or close a lost case, and retention depends on clients, not the other way round.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.access import (
    client_reassignable_by,
    clients_editable_by,
    clients_visible_to,
    task_answerable_by,
    task_completable_by,
)
from clients.models import (
    OPEN_REFERRAL_STATUSES,
    STATE_MIRRORING_TASKS,
    AcquisitionChannel,
    AssignmentReason,
    Client,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    Contact,
    Interaction,
    InteractionOutcome,
    Referral,
    ReferralAsk,
    ReferralStageChange,
    ReferralStatus,
    RequestStatus,
    RequestUrgency,
    Task,
    TaskKind,
)
from clients.selectors import contact_cadence_cutoff, referral_ask_due, spread_candidates
from clients.validators import normalise_inn
from core.audit import record_update, save_audited
from core.bounds import business_date_check, call_duration_check
from core.errors import Conflict
from core.working_days import add_working_days
from inbox.models import NotificationKind
from inbox.services import notify
from staff.access import group_member_ids, task_assignees_for
from staff.capacity import spread_among
from staff.models import BOOK_ROLES, OWNER_ROLES, Capability, Role, SecurityEventKind, User
from staff.security_events import security_event_on_commit

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


def rename_error_field(error: ValidationError, old: str, new: str) -> ValidationError:
    """The same errors with ``old`` reported on ``new``: a service that calls another names the
    field its own caller filled in."""
    return ValidationError(
        {
            (new if field == old else field): messages
            for field, messages in error.message_dict.items()
        }
    )


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
    if not actor.can(Capability.CLIENT_CREATE):
        raise PermissionDenied(_("Your role cannot create clients."))
    if manager is None and actor.can(Capability.KEEP_BOOK):
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
    today = timezone.localdate()
    if manager.pk != actor.pk:
        # SPEC §11: a client created into someone else's book does not land there silently.
        _welcome_new_manager(
            actor=actor,
            client=client,
            previous=actor,
            manager=manager,
            reason=AssignmentReason.INITIAL,
            notice={},
            today=today,
        )
    if referred_by is not None:
        open_leads = Referral.objects.filter(
            referrer=referred_by, inn=client.inn, status__in=OPEN_REFERRAL_STATUSES
        )
        referrals_mark_won(open_leads, client=client, actor=actor, today=today)
        _thank_referrer(actor=actor, referrer=referred_by, client=client, today=today)
    return client


def referral_stage_record(
    referral: Referral, *, to_status: str, actor: User, from_status: str = "", note: str = ""
) -> ReferralStageChange:
    """One row of a lead's history (SPEC §14): every stage change writes one."""
    return ReferralStageChange.objects.create(
        referral=referral,
        from_status=from_status,
        to_status=to_status,
        changed_by=actor,
        note=note[: ReferralStageChange._meta.get_field("note").max_length],
    )


def referrals_mark_won(
    leads: QuerySet[Referral], *, client: Client, actor: User, today: datetime.date
) -> int:
    """Close open ``leads`` as won by ``client`` on ``today``, each with its history row."""
    won = 0
    for lead in leads.select_for_update().filter(status__in=OPEN_REFERRAL_STATUSES):
        previous = lead.status
        lead.status = ReferralStatus.WON
        lead.client = client
        lead.closed_on = today
        lead.next_step_on = None
        lead.save(update_fields=["status", "client", "closed_on", "next_step_on"])
        referral_stage_record(lead, from_status=previous, to_status=lead.status, actor=actor)
        won += 1
    return won


THANK_REFERRER_WORKING_DAYS = 3


def _thank_referrer(
    *, actor: User, referrer: Client, client: Client, today: datetime.date
) -> Task | None:
    """SPEC §14: a referral client gives the referrer's manager a ``thank_referrer`` task, and
    the word about it (one open task per referrer: a second client while it is open adds the
    word, not a second task)."""
    manager = referrer.manager
    if manager is None or not manager.is_active:
        return None
    due_on = add_working_days(today, THANK_REFERRER_WORKING_DAYS)
    task = task_open_system(
        assignee=manager,
        client=referrer,
        kind=TaskKind.THANK_REFERRER,
        due_on=due_on,
        title=_("Thank «%(referrer)s» for recommending «%(client)s»")
        % {"referrer": referrer.name, "client": client.name},
    )
    notify(
        recipient=manager,
        actor=actor,
        kind=NotificationKind.THANK_REFERRER,
        client=referrer,
        url=reverse("clients:detail", args=[referrer.pk]),
        new_client=client.name,
        due_on=due_on.isoformat(),
    )
    return task


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
    client.full_clean()  # the merge lineage stays a tree (``Client.clean``)
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


@transaction.atomic
def client_reassign(
    *,
    actor: User,
    client: Client,
    manager: User,
    effective_on: datetime.date | None = None,
    reason: str = AssignmentReason.REASSIGN,
    check_permission: bool = True,
    notice: Mapping[str, str] | None = None,
) -> ClientAssignment:
    """SPEC §2: reassignment effective on day d closes the current assignment on d−1 and opens a
    new one on d, in one transaction. Back-dating is allowed down to the day after the current
    assignment began; a future date is refused (the book must show who serves the client today).

    SPEC §11: the client never lands in a book silently. In the same transaction the new manager
    gets the previous manager's open tasks on the client, a ``welcome_call`` task due in
    WELCOME_CALL_WORKING_DAYS working days and a notification saying why the client came
    (``notice`` adds what the text needs beyond that, e.g. a return's fee).
    """
    if check_permission and not client_reassignable_by(actor, client):
        raise PermissionDenied(_("You cannot reassign this client."))
    today = timezone.localdate()
    effective_on = effective_on or today
    _require_owner(manager, roles=BOOK_ROLES if reason != AssignmentReason.INITIAL else OWNER_ROLES)
    if check_permission and actor.role == Role.MENTOR and manager.pk not in group_member_ids(actor):
        # A mentor moves clients inside the group; moving them between groups is the director's.
        raise ValidationError({"manager": _("Choose a member of your group.")})
    if reason not in AssignmentReason.values or reason == AssignmentReason.INITIAL:
        raise ValidationError({"reason": _("Choose a reason for the reassignment.")})
    business_date_check(effective_on, field="effective_on", not_after_today=True, today=today)
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
    security_event_on_commit(
        SecurityEventKind.OWNER_CHANGED,
        user=actor,
        client=client.pk,
        previous_manager=current.manager_id,
        manager=manager.pk,
        reason=reason,
        effective_on=effective_on,
    )
    _welcome_new_manager(
        actor=actor,
        client=client,
        previous=current.manager,
        manager=manager,
        reason=reason,
        notice=notice or {},
        today=today,
    )
    return new


WELCOME_CALL_WORKING_DAYS = 2


def _welcome_new_manager(
    *,
    actor: User,
    client: Client,
    previous: User,
    manager: User,
    reason: str,
    notice: Mapping[str, str],
    today: datetime.date,
) -> None:
    # The previous manager's open work on the client follows it (a refusal waits for its
    # approver, not for whoever serves the client).
    Task.objects.filter(client=client, assignee=previous, done_at__isnull=True).exclude(
        kind=TaskKind.REFUSAL_APPROVAL
    ).update(assignee=manager)
    due_on = add_working_days(today, WELCOME_CALL_WORKING_DAYS)
    moved = Task.objects.filter(
        client=client, kind=TaskKind.WELCOME_CALL, done_at__isnull=True, created_by__isnull=True
    ).update(assignee=manager, due_on=due_on)
    if not moved:
        task_open_system(assignee=manager, client=client, kind=TaskKind.WELCOME_CALL, due_on=due_on)
    notify(
        recipient=manager,
        actor=actor,
        kind=NotificationKind.CLIENT_ASSIGNED,
        client=client,
        url=reverse("clients:detail", args=[client.pk]),
        reason=reason,
        previous=previous.get_full_name() or previous.get_username(),
        welcome_due=due_on.isoformat(),
        **notice,
    )


# A selection reassigned at once: a page of the list is 50; the API takes larger batches.
REASSIGN_BATCH_MAX = 500


def default_reassign_reason(actor: User) -> str:
    """The reason a page records when nobody names one: a sales manager giving away their won
    client is the handover of SPEC §3.1; anyone else reassigns."""
    if actor.role == Role.SALES_MANAGER:
        return AssignmentReason.HANDOVER
    return AssignmentReason.REASSIGN


def _for_client(error: ValidationError, client: Client) -> ValidationError:
    """``error`` from one client of a batch, each message naming the client; the service's
    ``manager`` is the batch's ``target``."""
    return ValidationError(
        {
            ("target" if field == "manager" else field): [
                _("%(client)s: %(message)s") % {"client": client.name, "message": message}
                for message in messages
            ]
            for field, messages in error.message_dict.items()
        }
    )


@transaction.atomic
def clients_reassign_many(
    *,
    actor: User,
    clients: Iterable[Client],
    target: User | str,
    effective_on: datetime.date | None = None,
    reason: str = AssignmentReason.REASSIGN,
) -> list[ClientAssignment]:
    """A selection of clients to one person, or spread (SPEC §3.6 rule), in one transaction: all
    or nothing. Each client goes through ``client_reassign`` with its rules; a client the actor
    may not reassign refuses the whole batch, named.

    ``target`` is a person or ``"spread"``: each client then goes to the rest of its manager's
    group (``spread_candidates``, the managers the batch takes clients from excluded) by
    ``staff.capacity.spread_plan``, the managers taken in name order, their clients by id."""
    if not actor.can(Capability.CLIENT_REASSIGN):
        raise PermissionDenied(_("Your role cannot reassign clients."))
    ids = {client.pk for client in clients}
    if not ids:
        raise ValidationError({"clients": _("Choose at least one client.")})
    if len(ids) > REASSIGN_BATCH_MAX:
        raise ValidationError(
            {
                "clients": _("Choose at most %(count)d clients at once.")
                % {"count": REASSIGN_BATCH_MAX}
            }
        )
    today = timezone.localdate()
    effective_on = effective_on or today
    business_date_check(effective_on, field="effective_on", not_after_today=True, today=today)
    batch = list(
        Client.objects.select_for_update(of=("self",))
        .select_related("manager")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    refused = [client.name for client in batch if not client_reassignable_by(actor, client)]
    if refused or len(batch) != len(ids):
        raise ValidationError(
            {
                "clients": _("You cannot reassign: %(names)s.")
                % {"names": ", ".join(refused[:10]) or _("clients that do not exist")}
            }
        )
    if target == SPREAD:
        plan = _spread_batch(batch, on=today)
    elif isinstance(target, User):
        plan = dict.fromkeys((client.pk for client in batch), target)
    else:
        raise ValidationError({"target": _('Choose a manager or "spread".')})
    assignments = []
    for client in batch:
        try:
            assignments.append(
                client_reassign(
                    actor=actor,
                    client=client,
                    manager=plan[client.pk],
                    effective_on=effective_on,
                    reason=reason,
                )
            )
        except ValidationError as error:
            raise _for_client(error, client) from None
    return assignments


def _spread_batch(batch: list[Client], *, on: datetime.date) -> dict[int, User]:
    """Client id → new manager for "spread": per current manager, over the rest of their group."""
    by_manager: dict[int | None, list[Client]] = {}
    for client in batch:
        by_manager.setdefault(client.manager_id, []).append(client)
    leaving = [pk for pk in by_manager if pk is not None]
    managers = sorted(
        {client.manager for client in batch},
        key=lambda person: ("", 0) if person is None else (person.full_name, person.pk),
    )
    plan, loads = {}, {}
    for manager in managers:
        candidates = spread_candidates(manager, leaving=leaving)
        if not candidates:
            raise ValidationError({"target": _("There is nobody to give the clients to.")})
        for person in candidates:
            loads.setdefault(person.pk, person.load)
        own = by_manager[manager.pk if manager is not None else None]
        chosen = spread_among(candidates, len(own), loads=loads, on=on)
        plan.update(zip((client.pk for client in own), chosen, strict=True))
    return plan


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
    referral_asked: str = "",
) -> Interaction:
    """Log a call, meeting or message. A reached contact completes the client's open follow-up
    task (SPEC §3.5: the cadence is kept by reaching the client).

    SPEC §14: a reached contact with a client in good standing (``referral_ask_due``) is one
    where a referral should be asked for; whether it was is ``referral_asked`` (not answered
    counts as not asked). The eligibility is decided now and stored, so the figure stays the same
    whenever it is recomputed."""
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("A contact cannot be logged in the future.")})
    business_date_check(occurred_at, field="occurred_at")
    duration_min = call_duration_check(duration_min)
    business_date_check(next_contact_on, field="next_contact_on")
    if next_contact_on is not None and next_contact_on < timezone.localtime(occurred_at).date():
        raise ValidationError({"next_contact_on": _("The next contact must be after this one.")})
    if referral_asked not in ("", *ReferralAsk.values):
        raise ValidationError({"referral_asked": _("Choose yes, no or declined.")})
    eligible = outcome == InteractionOutcome.REACHED and referral_ask_due(client, now=occurred_at)
    interaction = Interaction(
        client=client,
        staff=actor,
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at,
        duration_min=duration_min,
        summary=summary.strip(),
        next_contact_on=next_contact_on,
        referral_ask_eligible=eligible,
        referral_asked=referral_asked or (ReferralAsk.NO if eligible else ""),
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
    next_step_on: datetime.date | None = None,
) -> Referral:
    """SPEC §14: a new lead, owned by whoever recorded it, its next step on the next working
    day unless given. An INN of an existing client is refused without naming the client or its
    manager (the actor may not see them); one shared with another open lead is accepted and
    flagged at read time (``selectors.referrals_with_duplicates``)."""
    if not organisation.strip():
        raise ValidationError({"organisation": _("Name the organisation.")})
    inn = normalise_inn(inn.strip())
    if inn and Client.objects.filter(inn=inn).exists():
        raise ValidationError({"inn": _("This organisation is already a client of the company.")})
    today = timezone.localdate()
    next_step_on = referral_next_step_check(next_step_on, today=today)
    referral = Referral(
        referrer=referrer,
        recorded_by=actor,
        owner=actor,
        organisation=organisation.strip(),
        inn=inn,
        contact=contact.strip(),
        comment=comment.strip(),
        next_step_on=next_step_on or add_working_days(today, 1),
    )
    referral.full_clean()
    referral.save()
    referral_stage_record(referral, to_status=referral.status, actor=actor)
    return referral


def referral_next_step_check(
    next_step_on: datetime.date | None, *, today: datetime.date, field: str = "next_step_on"
) -> datetime.date | None:
    """A lead's next step is today or later, within SPEC §10's range."""
    business_date_check(next_step_on, field=field, today=today)
    if next_step_on is not None and next_step_on < today:
        raise ValidationError({field: _("The next step is today or later.")})
    return next_step_on


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
    """Tick a task off. A task that mirrors a state (SPEC §11: a refusal waiting, an overdue
    request, a free month ending) is refused with a Conflict saying what must happen instead: it
    closes when that state ends (``tasks_close_ended_states``), on the page and the API alike."""
    if not task_answerable_by(actor, task):
        raise PermissionDenied(_("This task is someone else's."))
    if not task_completable_by(actor, task):
        raise Conflict(str(STATE_MIRRORING_TASKS[task.kind]))
    updated = Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=timezone.now())
    task.refresh_from_db()
    if not updated:
        raise ValidationError({"task": _("The task is already done.")})
    return task


@transaction.atomic
def task_give(
    *,
    actor: User,
    assignee: User,
    title: str,
    due_on: datetime.date,
    client: Client | None = None,
) -> Task:
    """A task one person gives another, or themselves (SPEC §11): the assignee is told in the
    same transaction. Whom each role may give tasks is ``staff.access.task_assignees_for``; the
    client, if any, must be one the actor sees; the due date is today or later, within SPEC §10."""
    if client is not None and not clients_visible_to(actor).filter(pk=client.pk).exists():
        raise PermissionDenied(_("You cannot see this client."))
    if assignee is None or not task_assignees_for(actor).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": _("You cannot give a task to this person.")})
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say what is to be done.")})
    if len(title) > Task._meta.get_field("title").max_length:
        raise ValidationError({"title": _("The task is too long.")})
    today = timezone.localdate()
    business_date_check(due_on, field="due_on", today=today)
    if due_on < today:
        raise ValidationError({"due_on": _("A task is due today or later.")})
    task = Task.objects.create(
        assignee=assignee,
        client=client,
        kind=TaskKind.MANUAL,
        title=title,
        due_on=due_on,
        created_by=actor,
    )
    notify(
        recipient=assignee,
        actor=actor,
        kind=NotificationKind.TASK_GIVEN,
        client=client,
        url=reverse("clients:detail", args=[client.pk]) if client else reverse("clients:my"),
        by=actor.get_full_name(),
        title=title,
        due_on=due_on.isoformat(),
    )
    return task


# --- client requests (SPEC §3.4) ------------------------------------------------------------


def request_due_at(
    opened_at: datetime.datetime,
    urgency: str,
    *,
    urgent_hours: int,
    normal_working_days: int,
    tz: datetime.tzinfo | None = None,
) -> datetime.datetime:
    """SPEC §2 request SLA. Urgent: ``urgent_hours`` after opening. Normal: the same local time of
    day ``normal_working_days`` working days later (``core.working_days``: weekends and Russian
    public holidays skipped; opened on Friday 15:00 with 2 days → due Tuesday 15:00)."""
    if urgency == RequestUrgency.URGENT:
        return opened_at + datetime.timedelta(hours=urgent_hours)
    local = timezone.localtime(opened_at, tz)
    day = add_working_days(local.date(), normal_working_days)
    naive = datetime.datetime.combine(day, local.time().replace(tzinfo=None))
    return timezone.make_aware(naive, local.tzinfo)


def _require_works_client(actor: User, client: Client) -> None:
    if not clients_editable_by(actor).filter(pk=client.pk).exists():
        raise PermissionDenied(_("You do not work with this client."))


@transaction.atomic
def client_request_create(
    *,
    actor: User,
    client: Client,
    topic: str,
    description: str = "",
    urgency: str = RequestUrgency.NORMAL,
    opened_at: datetime.datetime | None = None,
) -> ClientRequest:
    """Log a client's request; ``due_at`` comes from the SLA in settings (SPEC §2)."""
    _require_works_client(actor, client)
    topic = (topic or "").strip()
    if not topic:
        raise ValidationError({"topic": _("Say what the client asks for.")})
    if urgency not in RequestUrgency.values:
        raise ValidationError({"urgency": _("Choose the urgency.")})
    now = timezone.now()
    opened_at = opened_at or now
    if opened_at > now + datetime.timedelta(minutes=5):
        raise ValidationError({"opened_at": _("A request cannot be logged in the future.")})
    business_date_check(opened_at, field="opened_at")
    request = ClientRequest(
        client=client,
        logged_by=actor,
        topic=topic,
        description=(description or "").strip(),
        urgency=urgency,
        opened_at=opened_at,
        due_at=request_due_at(
            opened_at,
            urgency,
            urgent_hours=settings.REQUEST_SLA_URGENT_HOURS,
            normal_working_days=settings.REQUEST_SLA_NORMAL_WORKING_DAYS,
        ),
    )
    request.full_clean()
    save_audited(request, actor=actor, reason=_("request logged"))
    return request


def _request_move(
    *, actor: User, request: ClientRequest, from_statuses, reason: str, **changes
) -> ClientRequest:
    """A race-free transition: a conditional UPDATE from the expected statuses (0 rows → the
    request moved meanwhile: Conflict), then its history row."""
    moved = ClientRequest.objects.filter(pk=request.pk, status__in=from_statuses).update(**changes)
    request.refresh_from_db()
    if not moved:
        raise Conflict(
            _("The request is already “%(status)s”.") % {"status": request.get_status_display()}
        )
    record_update(request, actor=actor, reason=reason)
    tasks_close_ended_states(request.client)
    return request


@transaction.atomic
def client_request_take(*, actor: User, request: ClientRequest) -> ClientRequest:
    """open → in_progress (optional: a request may be resolved or refused straight from open)."""
    _require_works_client(actor, request.client)
    return _request_move(
        actor=actor,
        request=request,
        from_statuses=[RequestStatus.OPEN],
        reason=_("request taken"),
        status=RequestStatus.IN_PROGRESS,
    )


@transaction.atomic
def client_request_resolve(*, actor: User, request: ClientRequest) -> ClientRequest:
    _require_works_client(actor, request.client)
    return _request_move(
        actor=actor,
        request=request,
        from_statuses=[RequestStatus.OPEN, RequestStatus.IN_PROGRESS],
        reason=_("request resolved"),
        status=RequestStatus.RESOLVED,
        resolved_at=timezone.now(),
    )


def refusal_approver(client: Client, *, requested_by: User | None) -> User | None:
    """Who approves refusing a request of ``client`` (SPEC §3.4): the mentor of the client's
    manager, or the first active director when there is no active mentor — or when the mentor
    is the one asking, since nobody approves their own refusal."""
    manager = client.manager
    mentor = manager.mentor if manager is not None else None
    if refusal_goes_to_mentor(
        mentor_id=mentor.pk if mentor else None,
        mentor_active=bool(mentor and mentor.is_active),
        requested_by_id=requested_by.pk if requested_by else None,
    ):
        return mentor
    return User.objects.active().filter(role=Role.DIRECTOR).order_by("pk").first()


def refusal_goes_to_mentor(
    *, mentor_id: int | None, mentor_active: bool, requested_by_id: int | None
) -> bool:
    """SPEC §3.4, the rule itself: the mentor of the client's manager decides, when there is one,
    still employed, and not the person asking; otherwise the first active director. Plain values,
    so the demo's simulation of past days asks the same rule as the service."""
    return mentor_id is not None and mentor_active and mentor_id != requested_by_id


def _require_refusal_approver(actor: User, request: ClientRequest) -> None:
    if actor.role == Role.DIRECTOR:
        return
    approver = refusal_approver(request.client, requested_by=request.refusal_requested_by)
    if approver is None or approver.pk != actor.pk:
        raise PermissionDenied(_("Only the manager's mentor or the director decides on a refusal."))


def system_tasks_close(client: Client | int, kinds) -> int:
    """Close the client's open system tasks of ``kinds``: the states they mirror have ended."""
    return Task.objects.filter(
        client=client, kind__in=kinds, done_at__isnull=True, created_by__isnull=True
    ).update(done_at=timezone.now())


def tasks_close_ended_states(client: Client) -> int:
    """Close the client's refusal approval task once no refusal of the client waits, and its
    overdue-request task once no unfinished request of the client is past due (SPEC §11)."""
    requests = ClientRequest.objects.filter(client=client)
    ended = []
    if not requests.filter(status=RequestStatus.REFUSAL_PENDING).exists():
        ended.append(TaskKind.REFUSAL_APPROVAL)
    if not requests.filter(
        status__in=[RequestStatus.OPEN, RequestStatus.IN_PROGRESS], due_at__lt=timezone.now()
    ).exists():
        ended.append(TaskKind.REQUEST_OVERDUE)
    return system_tasks_close(client, ended)


@transaction.atomic
def client_request_refuse(*, actor: User, request: ClientRequest, reason: str) -> ClientRequest:
    """SPEC §3.4: a manager never refuses a request alone. "Refuse" only asks: the request waits
    in ``refusal_pending`` and the approver (see ``refusal_approver``) gets a refusal_approval
    task."""
    _require_works_client(actor, request.client)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the request should be refused.")})
    approver = refusal_approver(request.client, requested_by=actor)
    if approver is None:
        raise ValidationError({"request": _("There is nobody to approve a refusal.")})
    request = _request_move(
        actor=actor,
        request=request,
        from_statuses=[RequestStatus.OPEN, RequestStatus.IN_PROGRESS],
        reason=_("refusal requested"),
        status=RequestStatus.REFUSAL_PENDING,
        refusal_reason=reason,
        refusal_requested_by=actor,
        refusal_approved_by=None,
    )
    task_open_system(
        assignee=approver,
        client=request.client,
        kind=TaskKind.REFUSAL_APPROVAL,
        due_on=timezone.localdate(),
        title=request.topic,
    )
    notify(
        recipient=approver,
        actor=actor,
        kind=NotificationKind.REFUSAL_REQUESTED,
        client=request.client,
        url=reverse("team:team") + "#refusals",
        by=actor.get_full_name(),
        topic=request.topic,
        reason=reason,
    )
    return request


@transaction.atomic
def client_request_approve_refusal(*, actor: User, request: ClientRequest) -> ClientRequest:
    """refusal_pending → refused, only by the approver or a director; closes the approval task."""
    _require_refusal_approver(actor, request)
    request = _request_move(
        actor=actor,
        request=request,
        from_statuses=[RequestStatus.REFUSAL_PENDING],
        reason=_("refusal approved"),
        status=RequestStatus.REFUSED,
        refusal_approved_by=actor,
    )
    tasks_close_ended_states(request.client)
    notify(
        recipient=request.refusal_requested_by,
        actor=actor,
        kind=NotificationKind.REFUSAL_APPROVED,
        client=request.client,
        url=reverse("clients:detail", args=[request.client_id]),
        by=actor.get_full_name(),
        topic=request.topic,
    )
    return request


@transaction.atomic
def client_request_reject_refusal(
    *, actor: User, request: ClientRequest, comment: str = ""
) -> ClientRequest:
    """The approver says no: the request goes back to work (in_progress) and the approval task
    closes. The refused reason stays in the request's history."""
    _require_refusal_approver(actor, request)
    requested_by = request.refusal_requested_by
    comment = comment.strip()
    reason = _("refusal rejected")
    if comment:
        reason = f"{reason}: {comment}"
    request = _request_move(
        actor=actor,
        request=request,
        from_statuses=[RequestStatus.REFUSAL_PENDING],
        reason=reason[:100],
        status=RequestStatus.IN_PROGRESS,
        refusal_reason="",
        refusal_requested_by=None,
    )
    tasks_close_ended_states(request.client)
    if requested_by is not None and requested_by.is_active:
        # SPEC §11: the approver's word comes back as work, not only as a line on the timeline.
        Task.objects.create(
            assignee=requested_by,
            client=request.client,
            kind=TaskKind.FOLLOW_UP,
            due_on=timezone.localdate(),
            title=(comment or request.topic)[: Task._meta.get_field("title").max_length],
            created_by=actor,
        )
    notify(
        recipient=requested_by,
        actor=actor,
        kind=NotificationKind.REFUSAL_REJECTED,
        client=request.client,
        url=reverse("clients:detail", args=[request.client_id]),
        by=actor.get_full_name(),
        topic=request.topic,
        comment=comment,
    )
    return request


# --- system tasks of the nightly job (SPEC §3.4, §3.5, §5) ----------------------------------


def _open_system_tasks(kind: str):
    return Task.objects.filter(
        client=OuterRef("pk"), kind=kind, done_at__isnull=True, created_by__isnull=True
    )


def tasks_create_follow_ups(*, today: datetime.date | None = None) -> int:
    """SPEC §3.5: every active client not reached within CONTACT_CADENCE_DAYS (or never) gives
    its manager a follow_up task due today. One query finds the clients, one bulk insert writes
    the tasks; a task opened meanwhile by a concurrent run is skipped by the unique constraint.
    Returns the number of tasks written."""
    today = today or timezone.localdate()
    reached = Interaction.objects.filter(
        client=OuterRef("pk"),
        outcome=InteractionOutcome.REACHED,
        occurred_at__gte=contact_cadence_cutoff(today),
    )
    due = (
        Client.objects.filter(status=ClientStatus.ACTIVE, manager__is_active=True)
        .exclude(Exists(reached))
        .exclude(Exists(_open_system_tasks(TaskKind.FOLLOW_UP)))
        .order_by("pk")
        .values_list("pk", "manager_id")
    )
    tasks = [
        Task(assignee_id=manager_id, client_id=client_id, kind=TaskKind.FOLLOW_UP, due_on=today)
        for client_id, manager_id in due
    ]
    Task.objects.bulk_create(tasks, batch_size=1000, ignore_conflicts=True)
    return len(tasks)


def tasks_create_overdue_requests(*, now: datetime.datetime | None = None) -> int:
    """SPEC §3.4: open or in-progress requests past ``due_at`` give the client's manager a
    request_overdue task (one per client, titled with the oldest overdue request's topic).
    Returns the number of tasks written."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    open_task = Task.objects.filter(
        client=OuterRef("client_id"),
        kind=TaskKind.REQUEST_OVERDUE,
        done_at__isnull=True,
        created_by__isnull=True,
    )
    overdue = (
        ClientRequest.objects.filter(
            status__in=[RequestStatus.OPEN, RequestStatus.IN_PROGRESS],
            due_at__lt=now,
            client__manager__is_active=True,
        )
        .exclude(Exists(open_task))
        .order_by("client_id", "due_at", "pk")
        .values_list("client_id", "client__manager_id", "topic")
    )
    tasks: dict[int, Task] = {}
    for client_id, manager_id, topic in overdue:
        tasks.setdefault(
            client_id,
            Task(
                assignee_id=manager_id,
                client_id=client_id,
                kind=TaskKind.REQUEST_OVERDUE,
                due_on=today,
                title=topic,
            ),
        )
    Task.objects.bulk_create(tasks.values(), batch_size=1000, ignore_conflicts=True)
    return len(tasks)
