"""Reads of clients. ``clients_visible_to`` is the one place that encodes who sees which client
(SPEC §1): every page, API queryset and export starts from it, so another manager's client is a 404
everywhere by construction."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from clients.access import clients_editable_by, clients_visible_to
from clients.models import (
    OPEN_REFERRAL_STATUSES,
    OPEN_REQUEST_STATUSES,
    Client,
    ClientAssignment,
    ClientRequest,
    ClientStatus,
    Contract,
    ContractKind,
    Interaction,
    Referral,
    RequestStatus,
    Task,
)
from core.dates import add_months, month_end
from staff.access import group_member_ids
from staff.models import Role, User


def assignment_on(client: Client, day: datetime.date) -> ClientAssignment | None:
    """The assignment that covered ``client`` on ``day`` (the first one covers all earlier days)."""
    return (
        ClientAssignment.objects.filter(client=client)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .select_related("manager")
        .first()
    )


def manager_loads(managers: QuerySet[User]) -> QuerySet[User]:
    """Annotate each manager with ``load``: clients currently in their book that are served
    (active or in a free month), for capacity checks and "least loaded first" pickers."""
    return managers.annotate(
        load=Count(
            "clients",
            filter=Q(clients__status__in=[ClientStatus.ACTIVE, ClientStatus.FREE_MONTH]),
        )
    ).order_by("load", "full_name")


def spread_candidates(user: User | None, *, leaving: Iterable[int] = ()) -> list[User]:
    """Who takes ``user``'s clients when they are spread (SPEC §3.6): the rest of their mentor
    group (the mentor included), or every active book keeper when the group has nobody else (or
    the clients have no manager). ``leaving`` names more people whose clients are moving away at
    the same time (a bulk reassignment): they take none. Each comes with ``load``
    (``manager_loads``)."""
    excluded = [*leaving, *([user.pk] if user is not None else [])]
    candidates = User.objects.book_keepers().exclude(pk__in=excluded)
    group_lead = None
    if user is not None:
        group_lead = user if user.role == Role.MENTOR else user.mentor
    if group_lead is not None:
        in_group = candidates.filter(pk__in=group_member_ids(group_lead))
        if in_group.exists():
            candidates = in_group
    return list(manager_loads(candidates))


# --- rules about a client, written once as filters for correlated subqueries -------------------


def paid_contracts_covering(day: datetime.date) -> QuerySet[Contract]:
    """The paid contracts of the outer query's client (``OuterRef("pk")``) whose service covers
    ``day``: the client is in the base on that day (SPEC §4)."""
    return Contract.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day),
        client=OuterRef("pk"),
        kind=ContractKind.PAID,
        starts_on__lte=day,
    )


def requests_overdue_of_client(now: datetime.datetime) -> QuerySet[ClientRequest]:
    """The outer query's client's requests still open or in progress past their due time."""
    return ClientRequest.objects.filter(
        client=OuterRef("pk"), status__in=UNFINISHED_REQUEST_STATUSES, due_at__lt=now
    )


# An open complaint: a contact with outcome "complaint" and no reached contact after it (the
# contact signals are columns of the client row, ``clients.contact_signals``).
OPEN_COMPLAINT = Q(last_complaint_at__isnull=False) & (
    Q(last_reached_at__isnull=True) | Q(last_reached_at__lt=F("last_complaint_at"))
)


def clients_with_current_fee(clients: QuerySet[Client], *, on: datetime.date) -> QuerySet[Client]:
    """Annotate ``current_fee``: the monthly fee of the paid contract covering ``on`` (None when
    none does). One correlated subquery, so a page of clients stays one query."""
    covering = paid_contracts_covering(on)
    return clients.annotate(
        current_fee=Subquery(covering.order_by("-starts_on").values("monthly_fee")[:1])
    )


# --- risk of losing a client, and whom a user sees among the staff (SPEC §3.5, §7) -----------

# Weights of ``risk_score`` (0–100); each signal counts once.
RISK_NO_CONTACT_LONG = 40  # no reached contact for two cadence periods, or never
RISK_NO_CONTACT = 30  # no reached contact within the cadence
RISK_CONTACT_AGEING = 10  # more than half the cadence since the last reached contact
RISK_OPEN_COMPLAINT = 25  # a complaint with no reached contact after it
RISK_OVERDUE_REQUEST = 20  # an unfinished request past its due time
RISK_PENDING_REFUSAL = 15  # a request the manager wants to refuse


# SPEC §14: a client is asked for a referral once it has been in the base this long.
REFERRAL_ASK_MIN_MONTHS = 3


def referral_ask_due(client: Client, *, now: datetime.datetime | None = None) -> bool:
    """Whether a reached call with ``client`` is one where a referral should be asked for
    (SPEC §14): the client is in good standing — active and in the base for at least three
    months (paid coverage both today and three months ago), no open complaint (a complaint with
    no reached contact after it) and no request past its due time."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    three_back = add_months(today, -REFERRAL_ASK_MIN_MONTHS)
    since = three_back.replace(day=min(today.day, month_end(three_back).day))
    # One query whatever the client's history: the card asks this on every view.
    return (
        Client.objects.filter(pk=client.pk, status=ClientStatus.ACTIVE)
        .exclude(OPEN_COMPLAINT)
        .filter(
            Exists(paid_contracts_covering(today)),
            Exists(paid_contracts_covering(since)),
            ~Exists(requests_overdue_of_client(now)),
        )
        .exists()
    )


def clients_with_risk(
    clients: QuerySet[Client], *, now: datetime.datetime | None = None
) -> QuerySet[Client]:
    """Annotate ``at_risk`` and ``risk_score`` (0–100) with correlated subqueries: no per-row
    queries, so a page of 50 clients stays one query.

    Only served clients (active or in a free month) carry risk; for the others both are
    false/0. A served client is **at risk** when any of these holds:

    - no interaction with outcome ``reached`` since ``contact_cadence_cutoff`` (SPEC §3.5, the
      same cut-off as the nightly follow-up tasks);
    - an open complaint: an interaction with outcome ``complaint`` and no reached contact after it;
    - an overdue request: open or in progress past ``due_at`` (as the overdue-request tasks).

    ``risk_score`` adds up the RISK_* weights above: contact age (10 past half the cadence, 30
    past the cadence, 40 past twice the cadence or never), open complaint (25), overdue request
    (20), a refusal awaiting approval (15).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    cadence_days = settings.CONTACT_CADENCE_DAYS

    def midnight_days_ago(days: int) -> datetime.datetime:
        return timezone.make_aware(
            datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time.min)
        )

    cutoff = contact_cadence_cutoff(today)  # == midnight_days_ago(cadence_days)
    long_cutoff = midnight_days_ago(2 * cadence_days)
    ageing_cutoff = midnight_days_ago(cadence_days // 2)
    # The contact signals are columns of the client row (clients.contact_signals).
    requests = ClientRequest.objects.filter(client=OuterRef("pk"))
    clients = clients.annotate(
        _overdue_request=Exists(requests_overdue_of_client(now)),
        _pending_refusal=Exists(requests.filter(status=RequestStatus.REFUSAL_PENDING)),
    )
    served = Q(status__in=[ClientStatus.ACTIVE, ClientStatus.FREE_MONTH])
    no_contact = Q(last_reached_at__isnull=True) | Q(last_reached_at__lt=cutoff)
    no_contact_long = Q(last_reached_at__isnull=True) | Q(last_reached_at__lt=long_cutoff)
    open_complaint = OPEN_COMPLAINT

    def points(condition: Q, weight: int) -> Case:
        return Case(When(condition, then=Value(weight)), default=Value(0))

    score = (
        Case(
            When(no_contact_long, then=Value(RISK_NO_CONTACT_LONG)),
            When(no_contact, then=Value(RISK_NO_CONTACT)),
            When(last_reached_at__lt=ageing_cutoff, then=Value(RISK_CONTACT_AGEING)),
            default=Value(0),
        )
        + points(open_complaint, RISK_OPEN_COMPLAINT)
        + points(Q(_overdue_request=True), RISK_OVERDUE_REQUEST)
        + points(Q(_pending_refusal=True), RISK_PENDING_REFUSAL)
    )
    return clients.annotate(
        at_risk=Case(
            When(served & (no_contact | open_complaint | Q(_overdue_request=True)), then=True),
            default=False,
            output_field=BooleanField(),
        ),
        risk_score=Case(When(served, then=score), default=Value(0), output_field=IntegerField()),
    )


def clients_filter_at_risk(
    clients: QuerySet[Client], at_risk: bool, *, now: datetime.datetime | None = None
) -> QuerySet[Client]:
    """Keep the clients whose ``at_risk`` (see ``clients_with_risk``) equals ``at_risk``."""
    if "at_risk" not in clients.query.annotations:
        clients = clients_with_risk(clients, now=now)
    return clients.filter(at_risk=at_risk)


# --- contact cadence (SPEC §3.5) -------------------------------------------------------------


def contact_cadence_cutoff(today: datetime.date) -> datetime.datetime:
    """The earliest moment a reached contact keeps a client within the cadence on ``today``:
    local midnight ``CONTACT_CADENCE_DAYS`` days earlier. A client last reached 30 days ago is
    still in time (cadence 30); 31 days ago is past it."""
    day = today - datetime.timedelta(days=settings.CONTACT_CADENCE_DAYS)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def cadence_compliance_by_manager(*, today: datetime.date) -> dict[int, tuple[int, int]]:
    """SPEC §3.5 control KPI: manager id → (active clients reached in time, active clients), for
    the clients each manager currently keeps. One aggregate query."""
    rows = (
        Client.objects.filter(status=ClientStatus.ACTIVE, manager__isnull=False)
        .values("manager")
        .annotate(active=Count("pk"), in_time=Count("pk", filter=_reached_since(today)))
        .order_by()
    )
    return {row["manager"]: (row["in_time"], row["active"]) for row in rows}


# --- the manager's workspace, the client card and the team page (SPEC §3.4–§3.6, §6) ---------

SERVED_STATUSES = (ClientStatus.ACTIVE, ClientStatus.FREE_MONTH)
# Requests the manager still has to act on; one awaiting refusal approval waits on the approver.
UNFINISHED_REQUEST_STATUSES = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS)


def _count_of(rows: QuerySet) -> Coalesce:
    """COUNT(*) of ``rows`` (filtered on an ``OuterRef``) as a correlated subquery: a page of N
    rows stays one query, and counting several relations never multiplies joined rows."""
    counted = rows.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _reached_since(today: datetime.date) -> Q:
    """Clients reached within the contact cadence on ``today`` (SPEC §3.5)."""
    return Q(last_reached_at__gte=contact_cadence_cutoff(today))


def book_of(user: User) -> QuerySet[Client]:
    """The clients ``user`` keeps personally (their book on /my/), through the visibility
    chokepoint."""
    return clients_visible_to(user).filter(manager=user)


def clients_with_workspace_signals(
    clients: QuerySet[Client], *, now: datetime.datetime | None = None
) -> QuerySet[Client]:
    """Annotate what the workspace shows and filters on per client: ``last_contact_at`` (any
    logged contact), ``last_reached_at``, ``next_contact_on`` (planned at the latest contact),
    ``open_requests``, ``overdue_requests`` (open or in progress past ``due_at``),
    ``overdue_tasks`` (the manager's open tasks for the client past their day), ``current_fee``,
    ``at_risk`` and ``risk_score`` (``clients_with_risk``). Correlated subqueries only."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    requests = ClientRequest.objects.filter(client=OuterRef("pk"))
    unfinished = requests.filter(status__in=UNFINISHED_REQUEST_STATUSES)
    late_tasks = Task.objects.filter(
        client=OuterRef("pk"), assignee=OuterRef("manager"), done_at__isnull=True, due_on__lt=today
    )
    clients = clients_with_current_fee(clients_with_risk(clients, now=now), on=today)
    return clients.annotate(
        open_requests=_count_of(requests.filter(status__in=OPEN_REQUEST_STATUSES)),
        overdue_requests=_count_of(unfinished.filter(due_at__lt=now)),
        overdue_tasks=_count_of(late_tasks),
    )


def tasks_due_for(user: User, *, today: datetime.date) -> QuerySet[Task]:
    """``user``'s open tasks due on ``today`` or earlier, oldest first. Tasks about a client the
    user can no longer see (it moved to another manager) are left out: they cannot be worked."""
    return (
        Task.objects.filter(assignee=user, done_at__isnull=True, due_on__lte=today)
        .filter(Q(client__isnull=True) | Q(client__in=clients_visible_to(user)))
        .select_related("client")
        .order_by("due_on", "pk")
    )


def contacts_planned(clients: QuerySet[Client], *, today: datetime.date) -> QuerySet[Client]:
    """Served clients whose latest logged contact planned the next one for ``today`` or earlier,
    and nobody has contacted them since: the day's call list, most overdue first."""
    return (
        clients.filter(status__in=SERVED_STATUSES, next_contact_on__lte=today)
        .annotate(planned_on=F("next_contact_on"))
        .order_by("planned_on", "name", "pk")
    )


def requests_overdue(
    clients: QuerySet[Client], *, now: datetime.datetime | None = None
) -> QuerySet[ClientRequest]:
    """SPEC §3.4: requests of ``clients`` still open or in progress past ``due_at``, most overdue
    first."""
    return (
        ClientRequest.objects.filter(
            client__in=clients,
            status__in=UNFINISHED_REQUEST_STATUSES,
            due_at__lt=now or timezone.now(),
        )
        .select_related("client", "client__manager")
        .order_by("due_at", "pk")
    )


def clients_at_risk(clients: QuerySet[Client], *, now: datetime.datetime | None = None):
    """Served clients at risk (``clients_with_risk``), highest score first, with the signals
    under public names: ``last_reached_at``, ``overdue_request``, ``pending_refusal``."""
    return (
        clients_with_risk(clients, now=now)
        .filter(at_risk=True)
        .annotate(
            overdue_request=F("_overdue_request"),
            pending_refusal=F("_pending_refusal"),
        )
        .order_by("-risk_score", "name", "pk")
    )


def manager_book_figures(user: User, *, today: datetime.date) -> dict[str, int]:
    """Live figures of ``user``'s own book for /my/ (one query): ``book`` (every client kept),
    ``served`` (active or in a free month: the load against capacity), ``active`` and
    ``in_time`` (active clients reached within the cadence, SPEC §3.5)."""
    active = Q(status=ClientStatus.ACTIVE)
    return Client.objects.filter(manager=user).aggregate(
        book=Count("pk"),
        served=Count("pk", filter=Q(status__in=SERVED_STATUSES)),
        active=Count("pk", filter=active),
        in_time=Count("pk", filter=active & _reached_since(today)),
    )


def referrals_recorded(user: User, *, since: datetime.date) -> int:
    """Referrals ``user`` recorded from ``since`` (a local date) on."""
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    return Referral.objects.filter(recorded_by=user, created_at__gte=start).count()


def refusals_awaiting(user: User) -> QuerySet[ClientRequest]:
    """SPEC §3.4: refusals ``user`` may decide. A mentor decides those of their group's managers'
    clients except the ones they asked for themselves (``clients.services.refusal_approver``);
    the director decides any."""
    pending = ClientRequest.objects.filter(status=RequestStatus.REFUSAL_PENDING)
    if user.role == Role.MENTOR:
        pending = pending.filter(
            client__manager__mentor=user, client__manager__is_active=True
        ).exclude(refusal_requested_by=user)
    elif user.role != Role.DIRECTOR:
        return pending.none()
    return pending.select_related(
        "client", "client__manager", "client__manager__mentor", "refusal_requested_by"
    ).order_by("opened_at", "pk")


def client_card_queryset(user: User, *, today: datetime.date) -> QuerySet[Client]:
    """Clients whose card ``user`` may open, with ``can_edit`` (may log calls and requests),
    ``current_fee`` on ``today``, ``last_reached_at`` and ``cadence_late`` (not reached within
    the cadence)."""
    editable = clients_editable_by(user).filter(pk=OuterRef("pk"))
    clients = (
        clients_visible_to(user)
        .select_related("manager", "manager__mentor", "referred_by", "parent")
        .annotate(can_edit=Exists(editable))
    )
    return clients_with_current_fee(clients, on=today).annotate(
        cadence_late=Case(
            When(
                Q(last_reached_at__isnull=True)
                | Q(last_reached_at__lt=contact_cadence_cutoff(today)),
                then=True,
            ),
            default=False,
            output_field=BooleanField(),
        )
    )


def client_open_requests(client: Client) -> QuerySet[ClientRequest]:
    return (
        ClientRequest.objects.filter(client=client, status__in=OPEN_REQUEST_STATUSES)
        .select_related("logged_by", "refusal_requested_by")
        .order_by("due_at", "pk")
    )


def client_open_tasks(client: Client) -> QuerySet[Task]:
    return (
        Task.objects.filter(client=client, done_at__isnull=True)
        .select_related("assignee")
        .order_by("due_on", "pk")
    )


# --- the client timeline (SPEC §3.7) ----------------------------------------------------------

TIMELINE_LIMIT = 50
TIMELINE_MAX_LIMIT = 500
# Audit fields not worth a line on the timeline: keys, bookkeeping, and foreign keys (the change
# reason names the people and clients involved).
_AUDIT_SKIPPED = {"id", "created_at", "updated_at", "opened_at", "due_at"}


@dataclass(frozen=True)
class AuditChange:
    label: str
    old: object
    new: object


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the client timeline. ``kind`` is interaction, request, referral, task or
    change; ``item`` is the row (for a change, the history row, with ``subject`` naming what
    changed: client, contract, assignment or request)."""

    at: datetime.datetime
    kind: str
    item: object
    actor: User | None = None
    subject: str = ""
    changes: tuple[AuditChange, ...] = field(default_factory=tuple)


def _displayed(model_field, value):
    if model_field.choices and value not in (None, ""):
        return dict(model_field.flatchoices).get(value, value)
    return value


def _audit_changes(history_model, older, newer) -> tuple[AuditChange, ...]:
    changes = []
    for model_field in history_model.tracked_fields:
        if model_field.name in _AUDIT_SKIPPED or model_field.is_relation:
            continue
        old = getattr(older, model_field.attname)
        new = getattr(newer, model_field.attname)
        if old != new:
            changes.append(
                AuditChange(
                    str(model_field.verbose_name),
                    _displayed(model_field, old),
                    _displayed(model_field, new),
                )
            )
    return tuple(changes)


def _audit_entries(history, *, subject: str, limit: int, skip_created: bool = False):
    """History rows as timeline entries, each with its changes against the previous version of
    the same object (when that version is among the rows read)."""
    rows = list(history.select_related("history_user").order_by("-history_date", "-pk")[:limit])
    rows.reverse()
    previous: dict[int, object] = {}
    changes: dict[int, tuple[AuditChange, ...]] = {}
    for row in rows:
        older = previous.get(row.id)
        if older is not None and row.history_type == "~":
            changes[row.pk] = _audit_changes(history.model, older, row)
        previous[row.id] = row
    return [
        TimelineEntry(
            at=row.history_date,
            kind="change",
            item=row,
            actor=row.history_user,
            subject=subject,
            changes=changes.get(row.pk, ()),
        )
        for row in reversed(rows)
        if not (skip_created and row.history_type == "+")
    ]


def referrals_with_duplicates(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """SPEC §14: annotate ``is_duplicate`` — an open lead whose INN is also the INN of another
    open lead (of any referrer), so both leads carry the flag. Computed at read time: it changes
    whenever another lead opens or closes. An empty INN never matches."""
    other_open = (
        Referral.objects.filter(inn=OuterRef("inn"), status__in=OPEN_REFERRAL_STATUSES)
        .exclude(pk=OuterRef("pk"))
        .exclude(inn="")
    )
    return referrals.annotate(
        is_duplicate=Case(
            When(
                Q(status__in=OPEN_REFERRAL_STATUSES) & ~Q(inn="") & Exists(other_open),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def client_timeline(
    client: Client, *, limit: int = TIMELINE_LIMIT
) -> tuple[list[TimelineEntry], bool]:
    """SPEC §3.7, §6: everything that happened with ``client`` as one list, newest first — calls
    and other contacts, requests, referrals it gave, tasks, and the audit trail of the client, its
    contracts, assignments and requests. Eight queries whatever the history: each source reads its
    ``limit`` newest rows (and one more). Returns the entries and whether older ones were left out.

    A request appears once as logged (with its current status); its later transitions come from
    its history. A request's creation row in the history is not repeated."""
    limit = max(1, min(limit, TIMELINE_MAX_LIMIT))
    # One row more than shown per source tells whether anything older was left out.
    read = limit + 1
    interactions = Interaction.objects.filter(client=client).select_related("staff")
    requests = ClientRequest.objects.filter(client=client).select_related("logged_by")
    referrals = referrals_with_duplicates(
        Referral.objects.filter(referrer=client).select_related("recorded_by", "client")
    )
    tasks = Task.objects.filter(client=client).select_related("assignee", "created_by")
    entries = [
        *(
            TimelineEntry(row.occurred_at, "interaction", row, row.staff)
            for row in interactions.order_by("-occurred_at", "-pk")[:read]
        ),
        *(
            TimelineEntry(row.opened_at, "request", row, row.logged_by)
            for row in requests.order_by("-opened_at", "-pk")[:read]
        ),
        *(
            TimelineEntry(row.created_at, "referral", row, row.recorded_by)
            for row in referrals.order_by("-created_at", "-pk")[:read]
        ),
        *(
            TimelineEntry(row.created_at, "task", row, row.created_by)
            for row in tasks.order_by("-created_at", "-pk")[:read]
        ),
        *_audit_entries(Client.history.filter(id=client.pk), subject="client", limit=read),
        *_audit_entries(
            Contract.history.filter(client_id=client.pk), subject="contract", limit=read
        ),
        *_audit_entries(
            ClientAssignment.history.filter(client_id=client.pk).select_related("manager"),
            subject="assignment",
            limit=read,
        ),
        *_audit_entries(
            ClientRequest.history.filter(client_id=client.pk),
            subject="request",
            limit=read,
            skip_created=True,
        ),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit], len(entries) > limit


def referrals_due(user: User, *, today: datetime.date, limit: int = 10) -> list[Referral]:
    """SPEC §14: ``user``'s own open leads whose next step is today or overdue, oldest first
    (the workspace's "referral next steps")."""
    return list(
        Referral.objects.filter(
            owner=user, status__in=OPEN_REFERRAL_STATUSES, next_step_on__lte=today
        )
        .select_related("referrer")
        .order_by("next_step_on", "pk")[:limit]
    )
