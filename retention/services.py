"""The contract lifecycle, the client status it derives, and the win-back workflow
(SPEC §2 status, §3.2–§3.3).

Contract services live here, not in ``clients``, because every one of them may open or close a lost
case: this module is the single home of the rule "terminating the last paid contract opens a case".
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import (
    NATURAL_REASONS,
    AssignmentReason,
    Client,
    ClientStatus,
    Contract,
    ContractKind,
    Task,
    TaskKind,
    TerminationReason,
)
from clients.selectors import assignment_on, paid_contracts_covering
from clients.services import client_reassign, rename_error_field, system_tasks_close
from core.audit import record_update, save_audited
from core.bounds import business_date_check, monthly_fee_ceiling_check
from core.dates import one_month_period_end
from core.errors import Conflict
from inbox.models import Notification, NotificationKind
from inbox.services import notify_many
from retention.access import case_declinable_by, case_held_by
from retention.models import ACTIVE_CASE_STATUSES, CaseStatus, LostCase
from retention.selectors import agreed_return_latest
from staff.models import Capability, User

ONE_DAY = datetime.timedelta(days=1)


# --- status ---------------------------------------------------------------------------------


def derive_client_status(
    *,
    paid_periods: list[tuple[datetime.date, datetime.date | None]],
    active_case_status: str | None,
    in_free_month: bool,
    today: datetime.date,
) -> str:
    """SPEC §2 client status, as a pure function of the client's paid periods and its case.

    active (paid coverage today) → free_month (a free month of the return workflow runs today) →
    lost (an open case) → closed (was a client: natural loss or declined case) → prospect.
    """
    if any(start <= today and (end is None or today <= end) for start, end in paid_periods):
        return ClientStatus.ACTIVE
    if active_case_status is not None and in_free_month:
        return ClientStatus.FREE_MONTH
    if active_case_status is not None:
        return ClientStatus.LOST
    if any(start <= today for start, _end in paid_periods):
        return ClientStatus.CLOSED
    return ClientStatus.PROSPECT


def _status_expression(today: datetime.date) -> Case:
    """``derive_client_status`` as one SQL expression, for refreshing every client at once."""
    paid = Contract.objects.filter(client=OuterRef("pk"), kind=ContractKind.PAID)
    covering = paid_contracts_covering(today)
    active_case = LostCase.objects.filter(client=OuterRef("pk"), status__in=ACTIVE_CASE_STATUSES)
    free_month = Contract.objects.filter(
        client=OuterRef("pk"),
        kind=ContractKind.FREE_MONTH,
        starts_on__lte=today,
        ends_on__gte=today,
    )
    return Case(
        When(Exists(covering), then=Value(ClientStatus.ACTIVE)),
        When(Exists(active_case) & Exists(free_month), then=Value(ClientStatus.FREE_MONTH)),
        When(Exists(active_case), then=Value(ClientStatus.LOST)),
        When(Exists(paid.filter(starts_on__lte=today)), then=Value(ClientStatus.CLOSED)),
        default=Value(ClientStatus.PROSPECT),
    )


def clients_refresh_statuses(
    *, today: datetime.date | None = None, client_ids: list[int] | None = None
) -> int:
    """Store the derived status of every client (or of ``client_ids``); returns how many changed.

    Idempotent, and safe to run twice at once: each run writes the same values.
    """
    today = today or timezone.localdate()
    clients = Client.objects.all()
    if client_ids is not None:
        clients = clients.filter(pk__in=client_ids)
    stale = clients.annotate(derived=_status_expression(today)).exclude(status=F("derived"))
    changed = 0
    for status in ClientStatus.values:
        ids = list(stale.filter(derived=status).values_list("pk", flat=True))
        if ids:
            changed += Client.objects.filter(pk__in=ids).update(
                status=status, updated_at=timezone.now()
            )
    return changed


def client_refresh_status(client: Client, *, today: datetime.date | None = None) -> Client:
    clients_refresh_statuses(today=today, client_ids=[client.pk])
    client.refresh_from_db(fields=["status", "updated_at"])
    return client


# --- contracts ------------------------------------------------------------------------------


def _paid_overlap(client: Client, starts_on, ends_on, *, exclude_pk=None) -> Contract | None:
    overlapping = Contract.objects.filter(client=client, kind=ContractKind.PAID).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on)
    )
    if ends_on is not None:
        overlapping = overlapping.filter(starts_on__lte=ends_on)
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    return overlapping.first()


def _check_fee(monthly_fee) -> Decimal:
    try:
        fee = Decimal(monthly_fee)
    except (ArithmeticError, TypeError, ValueError):
        raise ValidationError({"monthly_fee": _("Enter the monthly fee in roubles.")}) from None
    if not fee.is_finite() or fee < 0:
        raise ValidationError({"monthly_fee": _("The monthly fee cannot be negative.")})
    return monthly_fee_ceiling_check(fee)


def _save_contract(
    contract: Contract, *, actor: User, reason: str, bound_end: bool = False
) -> Contract:
    contract.full_clean(validate_constraints=False)
    # Checked here, not left to the database: the check constraint's IntegrityError would be
    # reported below as an overlap on the wrong field.
    if contract.ends_on is not None and contract.ends_on < contract.starts_on:
        raise ValidationError({"ends_on": _("The last day cannot be before the contract starts.")})
    overlap = (
        _paid_overlap(contract.client, contract.starts_on, contract.ends_on, exclude_pk=contract.pk)
        if contract.kind == ContractKind.PAID
        else None
    )
    if overlap is not None:
        raise ValidationError(
            {
                "starts_on": _("Overlaps paid contract %(number)s (%(start)s – %(end)s).")
                % {
                    "number": overlap.number,
                    "start": overlap.starts_on.isoformat(),
                    "end": overlap.ends_on.isoformat() if overlap.ends_on else "…",
                }
            }
        )
    if bound_end:
        # After the overlap: a contract that collides with another hears about that first.
        business_date_check(contract.ends_on, field="ends_on")
    try:
        with transaction.atomic():
            save_audited(contract, actor=actor, reason=reason)
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a concurrent overlapping insert.
        raise ValidationError(
            {"starts_on": _("Overlaps another paid contract of this client.")}
        ) from None
    return contract


@transaction.atomic
def contract_create(
    *,
    actor: User,
    client: Client,
    number: str,
    starts_on: datetime.date,
    monthly_fee,
    ends_on: datetime.date | None = None,
    comment: str = "",
) -> Contract:
    """Add a paid contract. A client that comes back by itself (a new paid contract while a case
    is being worked) closes its case as returned (SPEC §3.3)."""
    business_date_check(starts_on, field="starts_on")
    client = Client.objects.select_for_update().get(pk=client.pk)
    contract = Contract(
        client=client,
        number=number.strip(),
        kind=ContractKind.PAID,
        starts_on=starts_on,
        ends_on=ends_on,
        monthly_fee=_check_fee(monthly_fee),
        comment=comment.strip(),
    )
    _save_contract(contract, actor=actor, reason=_("contract added"), bound_end=True)
    case = LostCase.objects.filter(client=client, status__in=ACTIVE_CASE_STATUSES).first()
    if case is not None and starts_on >= case.lost_on:
        case.status = CaseStatus.RETURNED
        case.returned_on = starts_on
        case.closed_on = starts_on
        save_audited(
            case,
            actor=actor,
            reason=_("client came back by itself"),
            update_fields=["status", "returned_on", "closed_on", *_agreement_clear(case)],
        )
    client_refresh_status(client)
    return contract


@transaction.atomic
def contract_change_fee(
    *,
    actor: User,
    contract: Contract,
    effective_on: datetime.date,
    monthly_fee,
    number: str = "",
) -> Contract:
    """SPEC §2: a fee change is not a termination. The contract ends on d−1 and a new one starts
    on d with the new fee: no gap, no loss, no case. Returns the new contract."""
    business_date_check(effective_on, field="effective_on")
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    fee = _check_fee(monthly_fee)
    if contract.kind != ContractKind.PAID:
        raise ValidationError({"contract": _("Only a paid contract has a fee to change.")})
    if effective_on <= contract.starts_on:
        raise ValidationError(
            {"effective_on": _("The new fee must start after the contract's first day.")}
        )
    if contract.ends_on is not None and effective_on > contract.ends_on:
        raise ValidationError({"effective_on": _("The contract has ended by then.")})
    if fee == contract.monthly_fee:
        raise ValidationError({"monthly_fee": _("The fee is the same as now.")})
    old_end, old_reason = contract.ends_on, contract.termination_reason
    contract.ends_on = effective_on - ONE_DAY
    contract.termination_reason = ""
    save_audited(
        contract,
        actor=actor,
        reason=_("fee changed from %(day)s") % {"day": effective_on.isoformat()},
        update_fields=["ends_on", "termination_reason"],
    )
    new = Contract(
        client=contract.client,
        number=(number or f"{contract.number}/{effective_on:%Y%m}").strip(),
        kind=ContractKind.PAID,
        starts_on=effective_on,
        ends_on=old_end,
        termination_reason=old_reason,
        monthly_fee=fee,
        comment=contract.comment,
    )
    return _save_contract(new, actor=actor, reason=_("new fee"))


@transaction.atomic
def contract_terminate(
    *,
    actor: User,
    contract: Contract,
    ends_on: datetime.date,
    reason: str,
    comment: str = "",
) -> tuple[Contract, LostCase | None]:
    """SPEC §3.2: terminating the last paid contract makes the client lost from ``ends_on + 1``.
    A controllable reason opens a LostCase in the same transaction; a natural one (merger,
    liquidation) closes the client and opens none."""
    # A termination may be announced ahead (the client stays active until its last day), so
    # its last day is bounded like any date, not "not after today".
    business_date_check(ends_on, field="ends_on")
    contract = Contract.objects.select_for_update().select_related("client").get(pk=contract.pk)
    if contract.kind != ContractKind.PAID:
        raise ValidationError({"contract": _("Only a paid contract is terminated.")})
    if contract.termination_reason:
        raise ValidationError({"contract": _("The contract is already terminated.")})
    if reason not in TerminationReason.values:
        raise ValidationError({"reason": _("Choose a termination reason.")})
    if ends_on < contract.starts_on:
        raise ValidationError({"ends_on": _("The last day cannot be before the contract starts.")})
    if contract.ends_on is not None and ends_on > contract.ends_on:
        raise ValidationError(
            {"ends_on": _("The contract already ends on %(day)s.") % {"day": contract.ends_on}}
        )
    contract.ends_on = ends_on
    contract.termination_reason = reason
    if comment:
        contract.comment = comment.strip()
    save_audited(
        contract,
        actor=actor,
        reason=_("terminated: %(reason)s") % {"reason": contract.get_termination_reason_display()},
        update_fields=["ends_on", "termination_reason", "comment"],
    )
    lost_on = ends_on + ONE_DAY
    still_covered = _paid_overlap(contract.client, lost_on, lost_on, exclude_pk=contract.pk)
    case = None
    if still_covered is None and reason not in NATURAL_REASONS:
        owner = assignment_on(contract.client, ends_on)
        case = LostCase(
            client=contract.client,
            lost_on=lost_on,
            lost_by=owner.manager if owner else contract.client.manager,
            reason=reason,
            lost_fee=contract.monthly_fee,
        )
        try:
            with transaction.atomic():
                save_audited(case, actor=actor, reason=_("client lost"))
        except IntegrityError:
            raise Conflict(_("This client already has an open lost case.")) from None
    client_refresh_status(contract.client)
    return contract, case


# --- the return workflow (SPEC §3.3) --------------------------------------------------------


def _require_return_manager(actor: User) -> None:
    if not actor.can(Capability.CASE_WORK):
        raise PermissionDenied(_("Only a return manager works lost clients."))


def _require_case_owner(actor: User, case: LostCase) -> None:
    if not case_held_by(actor, case):
        raise PermissionDenied(_("Claim the case first."))


@transaction.atomic
def lost_case_claim(*, actor: User, case: LostCase) -> LostCase:
    """SPEC §3.3: claiming is atomic. A conditional UPDATE decides the race: exactly one of any
    number of simultaneous claims changes the row; the others get a Conflict naming the winner."""
    _require_return_manager(actor)
    now = timezone.now()
    won = LostCase.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
        status=CaseStatus.CLAIMED, return_manager=actor, claimed_at=now
    )
    case.refresh_from_db()
    if not won:
        if case.status not in ACTIVE_CASE_STATUSES:
            raise Conflict(_("This case is closed."))
        if case.return_manager_id == actor.pk:
            return case
        raise Conflict(_("Already claimed by %(name)s.") % {"name": case.return_manager})
    record_update(case, actor=actor, reason=_("claimed"))
    return case


@transaction.atomic
def lost_case_start_free_month(
    *, actor: User, case: LostCase, starts_on: datetime.date | None = None
) -> LostCase:
    """Offer a month of free service: a ``free_month`` contract with fee 0 for one calendar
    month; the client's status becomes ``free_month`` while it runs."""
    case = LostCase.objects.select_for_update().select_related("client").get(pk=case.pk)
    _require_case_owner(actor, case)
    if case.status != CaseStatus.CLAIMED:
        raise Conflict(_("A free month starts only on a claimed case."))
    starts_on = starts_on or timezone.localdate()
    business_date_check(starts_on, field="starts_on")
    if starts_on < case.lost_on:
        raise ValidationError({"starts_on": _("The free month starts after the client was lost.")})
    contract = Contract(
        client=case.client,
        number=f"FM-{case.pk}",
        kind=ContractKind.FREE_MONTH,
        starts_on=starts_on,
        ends_on=one_month_period_end(starts_on),
        monthly_fee=Decimal("0"),
    )
    _save_contract(contract, actor=actor, reason=_("free month"))
    case.status = CaseStatus.FREE_MONTH
    case.free_month_contract = contract
    save_audited(
        case,
        actor=actor,
        reason=_("free month started"),
        update_fields=["status", "free_month_contract"],
    )
    client_refresh_status(case.client)
    return case


def _return_checks(case: LostCase, *, manager: User | None, starts_on: datetime.date) -> None:
    """What every return obeys, carried out now or agreed for a day ahead (SPEC §3.3): a case in
    work, a new manager who is an active client manager and never the one who lost the client,
    paid service from the loss on and, after a free month, from a day after it began."""
    if case.status not in (CaseStatus.CLAIMED, CaseStatus.FREE_MONTH):
        raise Conflict(_("This case is closed."))
    if manager is None or manager.pk == case.lost_by_id:
        raise ValidationError(
            {"manager": _("Give the client to a different manager than the one who lost it.")}
        )
    if not manager.is_book_keeper:
        raise ValidationError({"manager": _("Choose an active client manager.")})
    if starts_on < case.lost_on:
        raise ValidationError(
            {"starts_on": _("The new contract starts after the client was lost.")}
        )


def _agreement_matches(
    case: LostCase, *, manager: User, starts_on: datetime.date, fee: Decimal
) -> bool:
    return (
        case.agreed_starts_on == starts_on
        and case.agreed_manager_id == manager.pk
        and case.agreed_fee == fee
    )


AGREEMENT_FIELDS = [
    "agreed_on",
    "agreed_by",
    "agreed_starts_on",
    "agreed_fee",
    "agreed_manager",
    "agreed_number",
    "agreed_failure",
]


def _agreement_clear(case: LostCase) -> list[str]:
    """Forget the case's agreed return (its history keeps it); returns the fields changed."""
    if case.agreed_starts_on is None and not case.agreed_failure:
        return []
    case.agreed_on = case.agreed_by = case.agreed_starts_on = None
    case.agreed_fee = case.agreed_manager = None
    case.agreed_number = case.agreed_failure = ""
    return AGREEMENT_FIELDS


def _return_notice(case: LostCase, contract: Contract) -> dict[str, str]:
    """What the new manager's notification says about a returned client (SPEC §11): the free
    month just ended, if there was one, and the fee."""
    notice = {"fee": str(contract.monthly_fee)}
    if case.free_month_contract_id:
        notice["free_month_ended"] = case.free_month_contract.ends_on.isoformat()
    return notice


@transaction.atomic
def lost_case_return(
    *,
    actor: User,
    case: LostCase,
    manager: User,
    starts_on: datetime.date,
    monthly_fee,
    number: str = "",
) -> LostCase:
    """Return the client: a new paid contract, and the client goes to a client manager chosen by
    the return manager — never the one who lost it (SPEC §3.3, enforced in the database too).

    The paid contract and the new assignment start on ``starts_on``, today or past: a return
    from a day ahead is an agreement (``lost_case_return_agree``) until that day. A return on
    the terms of the case's agreed return carries it out and keeps it as its record; any other
    return replaces it."""
    case = LostCase.objects.select_for_update().select_related("client").get(pk=case.pk)
    _require_case_owner(actor, case)
    _return_checks(case, manager=manager, starts_on=starts_on)
    business_date_check(starts_on, field="starts_on", not_after_today=True)
    if case.free_month_contract_id:
        free = case.free_month_contract
        if starts_on <= free.ends_on:
            # The client pays from the day it comes back: the free month ends the day before.
            if starts_on <= free.starts_on:
                raise ValidationError(
                    {"starts_on": _("The paid contract starts after the free month began.")}
                )
            free.ends_on = starts_on - ONE_DAY
            save_audited(
                free, actor=actor, reason=_("free month ended by return"), update_fields=["ends_on"]
            )
    contract = Contract(
        client=case.client,
        number=(number or f"R-{case.pk}").strip(),
        kind=ContractKind.PAID,
        starts_on=starts_on,
        monthly_fee=_check_fee(monthly_fee),
    )
    _save_contract(contract, actor=actor, reason=_("client returned"))
    if case.client.manager_id != manager.pk:
        try:
            client_reassign(
                actor=actor,
                client=case.client,
                manager=manager,
                effective_on=starts_on,
                reason=AssignmentReason.RETURN,
                check_permission=False,
                notice=_return_notice(case, contract),
            )
        except ValidationError as error:
            raise rename_error_field(error, "effective_on", "starts_on") from None
    case.status = CaseStatus.RETURNED
    case.returned_on = starts_on
    case.closed_on = starts_on
    case.new_manager = manager
    changed = ["status", "returned_on", "closed_on", "new_manager"]
    if _agreement_matches(case, manager=manager, starts_on=starts_on, fee=contract.monthly_fee):
        if case.agreed_failure:
            case.agreed_failure = ""
            changed.append("agreed_failure")
    else:
        changed += _agreement_clear(case)
    save_audited(
        case,
        actor=actor,
        reason=_("returned to %(name)s") % {"name": manager},
        update_fields=changed,
    )
    system_tasks_close(case.client, [TaskKind.FREE_MONTH_ENDING])
    client_refresh_status(case.client)
    return case


@transaction.atomic
def lost_case_return_agree(
    *,
    actor: User,
    case: LostCase,
    manager: User,
    starts_on: datetime.date,
    monthly_fee,
    number: str = "",
) -> LostCase:
    """Record the return as soon as the client agrees (SPEC §3.3). From today or a past day the
    client is returned at once (``lost_case_return``). From a day ahead — only during the free
    month, and at the latest the day after it ends — the terms are kept on the case as its
    agreed return, and nothing else is written: the contract, the new manager and the closed
    case all start on that day, when the nightly chain carries the return out
    (``lost_cases_carry_out_agreed_returns``). Until then the agreement can be changed (this
    again) or withdrawn (``lost_case_return_withdraw``)."""
    today = timezone.localdate()
    if starts_on <= today:
        return lost_case_return(
            actor=actor,
            case=case,
            manager=manager,
            starts_on=starts_on,
            monthly_fee=monthly_fee,
            number=number,
        )
    case = (
        LostCase.objects.select_for_update(of=("self",))
        .select_related("client", "free_month_contract")
        .get(pk=case.pk)
    )
    _require_case_owner(actor, case)
    _return_checks(case, manager=manager, starts_on=starts_on)
    business_date_check(starts_on, field="starts_on", today=today)
    latest = agreed_return_latest(case)
    if latest is None:
        raise ValidationError(
            {
                "starts_on": _(
                    "A return from a day ahead is agreed only during a free month; "
                    "without one, the client returns from today at the latest."
                )
            }
        )
    if starts_on > latest:
        raise ValidationError(
            {
                "starts_on": _(
                    "The return can be agreed from %(day)s at the latest, the day after "
                    "the free month ends."
                )
                % {"day": latest.isoformat()}
            }
        )
    if starts_on <= case.free_month_contract.starts_on:
        raise ValidationError(
            {"starts_on": _("The paid contract starts after the free month began.")}
        )
    fee = _check_fee(monthly_fee)
    number = number.strip()
    if len(number) > Contract._meta.get_field("number").max_length:
        raise ValidationError({"number": _("The contract number is too long.")})
    case.agreed_on = today
    case.agreed_by = actor
    case.agreed_starts_on = starts_on
    case.agreed_fee = fee
    case.agreed_manager = manager
    case.agreed_number = number
    case.agreed_failure = ""
    save_audited(
        case,
        actor=actor,
        reason=_("return agreed from %(day)s, to %(name)s")
        % {"day": starts_on.isoformat(), "name": manager},
        update_fields=AGREEMENT_FIELDS,
    )
    return case


@transaction.atomic
def lost_case_return_withdraw(*, actor: User, case: LostCase) -> LostCase:
    """Withdraw the case's agreed return before it is carried out: the case stays in its free
    month. Once the return window has run out, the case is declined instead (with a reason),
    so that a withdrawal never closes a case on a past day."""
    case = LostCase.objects.select_for_update().select_related("client").get(pk=case.pk)
    _require_case_owner(actor, case)
    if case.status == CaseStatus.RETURNED and case.agreed_starts_on is not None:
        raise Conflict(_("The agreed return has already been carried out."))
    if case.status != CaseStatus.FREE_MONTH or case.agreed_starts_on is None:
        raise Conflict(_("This case has no agreed return."))
    window_end = case.lost_on + datetime.timedelta(days=settings.RETURN_WINDOW_DAYS)
    if timezone.localdate() > window_end:
        raise Conflict(_("The return window has run out: decline the case instead, saying why."))
    save_audited(
        case,
        actor=actor,
        reason=_("agreed return withdrawn"),
        update_fields=_agreement_clear(case),
    )
    return case


def lost_cases_carry_out_agreed_returns(*, today: datetime.date | None = None) -> int:
    """Nightly (SPEC §3.3, §5): carry out every agreed return whose day has come, through
    ``lost_case_return`` with the agreed day and terms and the case's return manager as the
    actor: exactly the return they would have recorded on that day. One transaction per case,
    which re-reads the case under a lock, so a second run (or two at once) finds nothing left
    to do. A return that cannot be carried out (the chosen manager has left, …) stays agreed
    with the reason on the case, listed among the return manager's returns due, and is tried
    again the next night. Returns the number carried out."""
    today = today or timezone.localdate()
    due = LostCase.objects.filter(
        status=CaseStatus.FREE_MONTH, agreed_starts_on__lte=today
    ).order_by("agreed_starts_on", "pk")
    carried_out = 0
    for pk in list(due.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                case = (
                    LostCase.objects.select_for_update(of=("self",))
                    .select_related("return_manager", "agreed_manager")
                    .get(pk=pk)
                )
                if case.status != CaseStatus.FREE_MONTH or case.agreed_starts_on is None:
                    continue
                holder = case.return_manager
                if holder is None or not case_held_by(holder, case):
                    raise PermissionDenied(
                        _("%(name)s, who holds the case, can no longer return clients.")
                        % {"name": holder or "—"}
                    )
                lost_case_return(
                    actor=holder,
                    case=case,
                    manager=case.agreed_manager,
                    starts_on=case.agreed_starts_on,
                    monthly_fee=case.agreed_fee,
                    number=case.agreed_number,
                )
                carried_out += 1
        except (ValidationError, PermissionDenied, Conflict) as error:
            _agreed_return_failed(pk, _failure_text(error))
    return carried_out


def _failure_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, Conflict):
        return str(error.message)
    return str(error)


@transaction.atomic
def _agreed_return_failed(pk: int, reason: str) -> None:
    """Keep why the agreed return of case ``pk`` was not carried out; a repeated failure with
    the same reason writes nothing."""
    failed = (
        LostCase.objects.filter(pk=pk, status=CaseStatus.FREE_MONTH, agreed_starts_on__isnull=False)
        .exclude(agreed_failure=reason)
        .update(agreed_failure=reason)
    )
    if failed:
        record_update(
            LostCase.objects.get(pk=pk),
            actor=None,
            reason=_("agreed return not carried out: %(reason)s") % {"reason": reason},
        )


@transaction.atomic
def lost_case_decline(
    *, actor: User, case: LostCase, reason: str, declined_on: datetime.date | None = None
) -> LostCase:
    case = LostCase.objects.select_for_update().select_related("client").get(pk=case.pk)
    _require_return_manager(actor)
    if case.status == CaseStatus.OPEN and not case_declinable_by(actor, case):
        raise PermissionDenied(_("Claim the case first."))
    if case.status != CaseStatus.OPEN:
        _require_case_owner(actor, case)
    if case.status not in ACTIVE_CASE_STATUSES:
        raise Conflict(_("This case is closed."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the client does not come back.")})
    declined_on = declined_on or timezone.localdate()
    business_date_check(declined_on, field="declined_on", not_after_today=True)
    if declined_on < case.lost_on:
        raise ValidationError({"declined_on": _("The case cannot close before the loss.")})
    case.status = CaseStatus.DECLINED
    case.closed_on = declined_on
    case.decline_reason = reason.strip()
    save_audited(
        case,
        actor=actor,
        reason=_("declined"),
        update_fields=["status", "closed_on", "decline_reason", *_agreement_clear(case)],
    )
    system_tasks_close(case.client, [TaskKind.FREE_MONTH_ENDING])
    client_refresh_status(case.client)
    return case


def lost_cases_close_expired(*, today: datetime.date | None = None) -> int:
    """Nightly: decline cases not returned within RETURN_WINDOW_DAYS of the loss, closed on
    ``lost_on + window`` — the day the window ran out, not the day the job ran — so KPIs do not
    depend on when the job runs. Idempotent; a conditional update per case keeps two runs safe.
    A case with an agreed return is not expired: the client said yes within the window, and
    the return is carried out on its day."""
    today = today or timezone.localdate()
    window = datetime.timedelta(days=settings.RETURN_WINDOW_DAYS)
    expired = LostCase.objects.filter(
        status__in=ACTIVE_CASE_STATUSES,
        lost_on__lt=today - window,
        agreed_starts_on__isnull=True,
    )
    closed = 0
    client_ids = []
    for case in expired.only("pk", "lost_on", "client_id"):
        closed_on = case.lost_on + window
        with transaction.atomic():
            if LostCase.objects.filter(
                pk=case.pk, status__in=ACTIVE_CASE_STATUSES, agreed_starts_on__isnull=True
            ).update(
                status=CaseStatus.DECLINED,
                closed_on=closed_on,
                decline_reason=_("Return window ran out"),
            ):
                case.refresh_from_db()
                record_update(case, actor=None, reason=_("return window ran out"))
                system_tasks_close(case.client_id, [TaskKind.FREE_MONTH_ENDING])
                client_ids.append(case.client_id)
                closed += 1
    # The nightly chain refreshes statuses before this step: without this the declined clients
    # would read "lost" until the next night.
    if client_ids:
        clients_refresh_statuses(today=today, client_ids=client_ids)
    return closed


# --- system tasks (SPEC §5) -----------------------------------------------------------------

FREE_MONTH_ENDING_NOTICE_DAYS = 3


def tasks_create_free_month_ending(*, today: datetime.date | None = None) -> int:
    """Nightly: a free month ending within FREE_MONTH_ENDING_NOTICE_DAYS on a case still in its
    free month gives the case's return manager a free_month_ending task, due the free month's
    last day. One task per free month: a task already written for that last day (open or done)
    is not written again. Returns the number of tasks written."""
    today = today or timezone.localdate()
    written = Task.objects.filter(client=OuterRef("client_id"), kind=TaskKind.FREE_MONTH_ENDING)
    already = written.filter(
        Q(done_at__isnull=True, created_by__isnull=True)
        | Q(due_on=OuterRef("free_month_contract__ends_on"))
    )
    ending = (
        LostCase.objects.filter(
            status=CaseStatus.FREE_MONTH,
            return_manager__is_active=True,
            free_month_contract__ends_on__gte=today,
            free_month_contract__ends_on__lte=today
            + datetime.timedelta(days=FREE_MONTH_ENDING_NOTICE_DAYS),
        )
        .exclude(Exists(already))
        .order_by("pk")
        .values_list("pk", "client_id", "return_manager_id", "free_month_contract__ends_on")
    )
    tasks, notices = [], []
    for case_id, client_id, manager_id, ends_on in ending:
        tasks.append(
            Task(
                assignee_id=manager_id,
                client_id=client_id,
                kind=TaskKind.FREE_MONTH_ENDING,
                due_on=ends_on,
            )
        )
        notices.append(
            Notification(
                recipient_id=manager_id,
                kind=NotificationKind.FREE_MONTH_ENDING,
                client_id=client_id,
                url=reverse("retention:case", args=[case_id]),
                params={"ends_on": ends_on.isoformat()},
            )
        )
    # The task and the word about it are written together (SPEC §11).
    with transaction.atomic():
        Task.objects.bulk_create(tasks, batch_size=1000, ignore_conflicts=True)
        notify_many(notices)
    return len(tasks)
