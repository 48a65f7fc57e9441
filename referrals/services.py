"""The referral pipeline's commands (SPEC §14): a lead moves through its stages, is won into a
client or lost with a reason, or is given to another person. Each is one transaction that locks
the lead, checks who acts (``referrals.access``), writes a history row and tells whoever receives
work (SPEC §11). Recording a lead is ``clients.services.referral_create``: the card's form and the
API record them."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import (
    OPEN_REFERRAL_STATUSES,
    AcquisitionChannel,
    Client,
    Referral,
    ReferralStatus,
)
from clients.services import (
    client_create,
    referral_next_step_check,
    referral_stage_record,
    referrals_mark_won,
)
from core.errors import Conflict
from inbox.models import NotificationKind
from inbox.services import notify
from referrals.access import referral_owner_choices, referral_workable_by
from staff.models import Capability, User


def _locked_open_lead(actor: User, referral: Referral) -> Referral:
    if not referral_workable_by(actor, referral):
        raise PermissionDenied(_("You cannot see this lead."))
    lead = Referral.objects.select_for_update().select_related("referrer").get(pk=referral.pk)
    if lead.status not in OPEN_REFERRAL_STATUSES:
        raise Conflict(
            _("This lead is already closed as “%(stage)s”.") % {"stage": lead.get_status_display()}
        )
    return lead


@transaction.atomic
def referral_move(
    *,
    actor: User,
    referral: Referral,
    status: str,
    next_step_on: datetime.date | None = None,
    note: str = "",
) -> Referral:
    """Move an open lead to another open stage (forward or back: a meeting may fall through to
    a new call) and set its next step; the same stage only changes the next step. Winning and
    losing have their own commands: they need a client or a reason."""
    lead = _locked_open_lead(actor, referral)
    if status in (ReferralStatus.WON, ReferralStatus.LOST):
        raise ValidationError(
            {"status": _("A lead is won with the client's details or lost with a reason.")}
        )
    if status not in OPEN_REFERRAL_STATUSES:
        raise ValidationError({"status": _("Choose a stage of the pipeline.")})
    today = timezone.localdate()
    next_step_on = referral_next_step_check(next_step_on, today=today)
    previous = lead.status
    lead.status = status
    if next_step_on is not None:
        lead.next_step_on = next_step_on
    lead.save(update_fields=["status", "next_step_on"])
    if previous != status:
        referral_stage_record(
            lead, from_status=previous, to_status=status, actor=actor, note=note.strip()
        )
    return lead


@transaction.atomic
def referral_lose(*, actor: User, referral: Referral, reason: str) -> Referral:
    """Close an open lead as lost; the reason is required (it is what the next lead learns
    from)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the lead was lost.")})
    max_length = Referral._meta.get_field("lost_reason").max_length
    if len(reason) > max_length:
        raise ValidationError({"reason": _("At most %(n)d characters.") % {"n": max_length}})
    lead = _locked_open_lead(actor, referral)
    previous = lead.status
    lead.status = ReferralStatus.LOST
    lead.lost_reason = reason
    lead.closed_on = timezone.localdate()
    lead.next_step_on = None
    lead.save(update_fields=["status", "lost_reason", "closed_on", "next_step_on"])
    referral_stage_record(
        lead, from_status=previous, to_status=lead.status, actor=actor, note=reason
    )
    return lead


def referral_credit_manager(referrer: Client, *, actor: User) -> User:
    """SPEC §3.1: a referral client is credited to the referrer's manager — whoever serves the
    referrer on the day the lead is won, after any reassignment. When the referrer has no active
    manager who keeps a book, the client goes to the person winning it if they keep one."""
    manager = referrer.manager
    if manager is not None and manager.is_book_keeper:
        return manager
    if actor.can(Capability.KEEP_BOOK):
        return actor
    raise ValidationError(
        {"manager": _("The referrer has no manager to credit; reassign the referrer first.")}
    )


@transaction.atomic
def referral_win(
    *,
    actor: User,
    referral: Referral,
    kind: str,
    name: str = "",
    inn: str = "",
    kpp: str = "",
    region: str = "",
    city: str = "",
) -> Client:
    """Close an open lead as won: the client is created through ``client_create`` with channel
    ``referral`` and the referrer as ``referred_by``, into the book of the referrer's manager
    (``referral_credit_manager``); ``client_create`` closes every open lead of that referrer
    with the same INN, gives the referrer's manager a ``thank_referrer`` task and tells them.
    A lead recorded without the INN, or with another one, is closed here as well."""
    lead = _locked_open_lead(actor, referral)
    manager = referral_credit_manager(lead.referrer, actor=actor)
    client = client_create(
        actor=actor,
        name=name or lead.organisation,
        inn=inn or lead.inn,
        kind=kind,
        kpp=kpp,
        region=region,
        city=city,
        acquisition_channel=AcquisitionChannel.REFERRAL,
        referred_by=lead.referrer,
        manager=manager,
    )
    referrals_mark_won(
        Referral.objects.filter(pk=lead.pk),
        client=client,
        actor=actor,
        today=timezone.localdate(),
    )
    return client


@transaction.atomic
def referral_give(*, actor: User, referral: Referral, owner: User | None) -> Referral:
    """The director gives an open lead to another person (a sales manager, most often), who is
    told at once (SPEC §11)."""
    if not actor.can(Capability.REFERRAL_GIVE):
        raise PermissionDenied(_("Only the director gives leads to others."))
    if owner is None or not referral_owner_choices(actor).filter(pk=owner.pk).exists():
        raise ValidationError({"owner": _("Choose an active person who keeps clients.")})
    lead = _locked_open_lead(actor, referral)
    if lead.owner_id == owner.pk:
        raise ValidationError({"owner": _("The lead is already theirs.")})
    lead.owner = owner
    lead.save(update_fields=["owner"])
    notify(
        recipient=owner,
        actor=actor,
        kind=NotificationKind.REFERRAL_GIVEN,
        client=lead.referrer,
        url=reverse("referrals:lead", args=[lead.pk]),
        by=actor.get_full_name() or actor.get_username(),
        lead=lead.organisation,
    )
    return lead
