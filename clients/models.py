"""Clients and everything that happens with them (SPEC §2 clients).

Models hold data and invariants only; every workflow is a service in ``clients.services`` or, for
the contract lifecycle that opens and closes lost cases, ``retention.services``.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from clients.validators import validate_inn, validate_kpp


class ClientKind(models.TextChoices):
    SCHOOL = "school", _("School")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    HOSPITAL = "hospital", _("Hospital")
    ADMINISTRATION = "administration", _("Administration")
    CULTURE = "culture", _("Culture centre")
    OTHER = "other", _("Other")


class AcquisitionChannel(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    ACTIVE_SALES = "active_sales", _("Active sales")
    INBOUND = "inbound", _("Inbound")


class ClientStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    LOST = "lost", _("Lost")
    FREE_MONTH = "free_month", _("Free month")
    CLOSED = "closed", _("Closed")


# Derived columns of Client (see clients.contact_signals); not part of its audited history.
CONTACT_SIGNAL_FIELDS = [
    "last_contact_at",
    "last_reached_at",
    "last_complaint_at",
    "next_contact_on",
]


# How many merges deep a lineage may go: real ones are a few levels, the bound guards the walk.
MAX_LINEAGE_DEPTH = 50
# PostgreSQL advisory lock that serialises changes of the merge lineage (any fixed number).
LINEAGE_LOCK_KEY = 7_310_001


def _lock_lineage() -> None:
    """Two transactions merging A into B and B into A at once would each see a tree. On
    PostgreSQL, a transaction that sets a parent first takes one advisory lock, held to its
    commit, so the second walk runs after the first change is visible. Rare enough (merges)
    that one lock for the whole lineage costs nothing."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LINEAGE_LOCK_KEY])


class Client(models.Model):
    name = models.CharField(_("name"), max_length=300)
    inn = models.CharField(_("INN"), max_length=12, unique=True, validators=[validate_inn])
    kpp = models.CharField(_("KPP"), max_length=9, blank=True, validators=[validate_kpp])
    kind = models.CharField(_("kind"), max_length=20, choices=ClientKind.choices)
    region = models.CharField(_("region"), max_length=120, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_clients",
    )
    acquisition_channel = models.CharField(
        _("acquisition channel"), max_length=20, choices=AcquisitionChannel.choices
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referred_clients",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clients",
    )
    # Derived from contracts and cases by retention.services.client_refresh_status; stored so
    # that lists can filter on it.
    status = models.CharField(
        _("status"), max_length=20, choices=ClientStatus.choices, default=ClientStatus.PROSPECT
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Contact signals, derived from the client's interactions by clients.contact_signals and kept
    # on the row so that the workspace, the card, the team page and the API read a column
    # instead of searching millions of interactions per client (SPEC §9).
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, editable=False)
    last_reached_at = models.DateTimeField(_("last reached"), null=True, blank=True, editable=False)
    last_complaint_at = models.DateTimeField(
        _("last complaint"), null=True, blank=True, editable=False
    )
    next_contact_on = models.DateField(_("next contact"), null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=CONTACT_SIGNAL_FIELDS)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(inn__regex=r"^([0-9]{10}|[0-9]{12})$"), name="client_inn_format"
            ),
            models.CheckConstraint(
                condition=(
                    Q(acquisition_channel=AcquisitionChannel.REFERRAL, referred_by__isnull=False)
                    | (
                        ~Q(acquisition_channel=AcquisitionChannel.REFERRAL)
                        & Q(referred_by__isnull=True)
                    )
                ),
                name="client_referrer_iff_referral",
            ),
            models.CheckConstraint(
                condition=~Q(referred_by=F("id")), name="client_not_own_referrer"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="client_not_own_parent"),
            models.CheckConstraint(
                condition=Q(status__in=ClientStatus.values), name="client_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ClientKind.values), name="client_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(acquisition_channel__in=AcquisitionChannel.values),
                name="client_channel_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["manager", "status"], name="client_manager_status"),
            models.Index(fields=["status"], name="client_status"),
            # SPEC §9: the client list's ordering, without sorting the whole table.
            models.Index(fields=["name", "id"], name="client_name_order"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self._clean_parent()

    def _clean_parent(self) -> None:
        """SPEC §10: the merge lineage (``parent``) is a tree. Walks the ancestors of the new
        parent, a query per level, and refuses a parent that is this client or descends from it.
        The walk stops after ``MAX_LINEAGE_DEPTH`` levels or at a repeated client, so a cycle
        stored before this rule cannot loop it forever."""
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A client cannot be merged into itself.")})
        _lock_lineage()
        seen: set[int] = set()
        ancestor_id: int | None = self.parent_id
        while ancestor_id is not None:
            if self.pk is not None and ancestor_id == self.pk:
                raise ValidationError(
                    {"parent": _("This client is already above the chosen one in the lineage.")}
                )
            if ancestor_id in seen or len(seen) >= MAX_LINEAGE_DEPTH:
                raise ValidationError(
                    {"parent": _("The lineage of the chosen client is broken or too deep.")}
                )
            seen.add(ancestor_id)
            ancestor_id = (
                Client.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()
            )


class Contact(models.Model):
    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_decision_maker = models.BooleanField(_("decision maker"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_decision_maker", "name"]

    def __str__(self) -> str:
        return self.name


class ContractKind(models.TextChoices):
    PAID = "paid", _("Paid")
    FREE_MONTH = "free_month", _("Free month")


class TerminationReason(models.TextChoices):
    COMPETITOR = "competitor", _("Went to a competitor")
    SERVICE_QUALITY = "service_quality", _("Service quality")
    REFUSED_REQUEST = "refused_request", _("A request was refused")
    PRICE = "price", _("Price")
    NO_CONTACT = "no_contact", _("No contact with the manager")
    BUDGET = "budget", _("No budget")
    MERGER = "merger", _("Merged into another institution")
    LIQUIDATION = "liquidation", _("Liquidated")
    OTHER = "other", _("Other")


# SPEC §2: losses the department cannot prevent. Every other reason is controllable.
NATURAL_REASONS = frozenset({TerminationReason.MERGER, TerminationReason.LIQUIDATION})


class Contract(models.Model):
    """A support contract. Paid contracts of one client never overlap: validated by the
    services everywhere, and by an exclusion constraint on PostgreSQL (migration 0002)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="contracts"
    )
    number = models.CharField(_("number"), max_length=50)
    kind = models.CharField(
        _("kind"), max_length=20, choices=ContractKind.choices, default=ContractKind.PAID
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(
        _("ends on"), null=True, blank=True, help_text=_("Last day of service; empty while open.")
    )
    monthly_fee = models.DecimalField(_("monthly fee, RUB"), max_digits=12, decimal_places=2)
    termination_reason = models.CharField(
        _("termination reason"), max_length=20, choices=TerminationReason.choices, blank=True
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="contract_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(monthly_fee__gte=Decimal("0")), name="contract_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ContractKind.FREE_MONTH) | Q(monthly_fee=Decimal("0")),
                name="contract_free_month_is_free",
            ),
            models.CheckConstraint(
                condition=Q(termination_reason="") | Q(ends_on__isnull=False),
                name="contract_reason_needs_end",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ContractKind.values), name="contract_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["client", "kind", "starts_on"], name="contract_client_kind_start"),
            # SPEC §9: the API list's ordering.
            models.Index(fields=["-starts_on", "-id"], name="contract_start_order"),
            # The dashboard's churn reasons: paid contracts lost in a period, by reason, read
            # from the index alone.
            models.Index(
                fields=["ends_on"],
                include=["termination_reason"],
                condition=Q(kind=ContractKind.PAID) & ~Q(termination_reason=""),
                name="contract_loss_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_natural_loss(self) -> bool:
        return self.termination_reason in NATURAL_REASONS


class AssignmentReason(models.TextChoices):
    INITIAL = "initial", _("First manager")
    HANDOVER = "handover", _("Handover after a sale")
    REASSIGN = "reassign", _("Reassigned")
    DISMISSAL = "dismissal", _("Manager dismissed")
    RETURN = "return", _("Returned client")


class ClientAssignment(models.Model):
    """Who owned a client when. KPIs per manager come from this history (SPEC §4)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="assignments"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    # Null on the first assignment: it covers all history before it (SPEC §2).
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("to"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=AssignmentReason.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignment history")
        ordering = [F("starts_on").asc(nulls_first=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(ends_on__isnull=True),
                name="assignment_one_current_per_client",
            ),
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(starts_on__isnull=True),
                name="assignment_one_open_past_per_client",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="assignment_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["manager", "ends_on"], name="assignment_manager_end")]

    def __str__(self) -> str:
        return (
            f"{self.client_id} → {self.manager_id} ({self.starts_on or '…'}–{self.ends_on or '…'})"
        )


class InteractionKind(models.TextChoices):
    CALL_OUT = "call_out", _("Outgoing call")
    CALL_IN = "call_in", _("Incoming call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    MESSENGER = "messenger", _("Messenger")


class InteractionOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    CALLBACK_REQUESTED = "callback_requested", _("Asked to call back")
    COMPLAINT = "complaint", _("Complaint")


class ReferralAsk(models.TextChoices):
    """SPEC §14: after a reached call with a client in good standing, was a referral asked for?
    ``declined`` = asked, and the client declined."""

    YES = "yes", _("Yes, asked")
    NO = "no", _("No, not asked")
    DECLINED = "declined", _("Asked, the client declined")


# The answers that count as asked in ``referral_ask_rate``.
REFERRAL_ASKED = (ReferralAsk.YES, ReferralAsk.DECLINED)


class Interaction(models.Model):
    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="interactions"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        on_delete=models.PROTECT,
        related_name="interactions",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("when"))
    duration_min = models.PositiveIntegerField(_("duration, min"), default=0)
    outcome = models.CharField(_("outcome"), max_length=20, choices=InteractionOutcome.choices)
    summary = models.TextField(_("summary"), blank=True)
    next_contact_on = models.DateField(_("next contact"), null=True, blank=True)
    # SPEC §14: whether the call was one where a referral should be asked for (a reached call
    # with a client in good standing), decided when it was logged, and the answer.
    referral_ask_eligible = models.BooleanField(_("referral could be asked"), default=False)
    referral_asked = models.CharField(
        _("asked for a referral"), max_length=10, choices=ReferralAsk.choices, blank=True
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InteractionKind.values), name="interaction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=InteractionOutcome.values),
                name="interaction_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(referral_asked__in=["", *ReferralAsk.values]),
                name="interaction_referral_asked_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "-occurred_at"], name="interaction_client_time"),
            models.Index(fields=["staff", "-occurred_at"], name="interaction_staff_time"),
            # SPEC §9: the API list's ordering over millions of rows.
            models.Index(fields=["-occurred_at", "-id"], name="interaction_time_order"),
            # The nightly referral-ask figures read only the calls where asking was due.
            models.Index(
                fields=["occurred_at", "staff"],
                condition=Q(referral_ask_eligible=True),
                name="interaction_ask_eligible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class RequestUrgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    REFUSAL_PENDING = "refusal_pending", _("Refusal awaiting approval")
    REFUSED = "refused", _("Refused")


OPEN_REQUEST_STATUSES = (
    RequestStatus.OPEN,
    RequestStatus.IN_PROGRESS,
    RequestStatus.REFUSAL_PENDING,
)


class ClientRequest(models.Model):
    """A client's request (заявка). A manager never refuses one alone (SPEC §3.4)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="requests"
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.PROTECT,
        related_name="logged_requests",
    )
    topic = models.CharField(_("topic"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=RequestUrgency.choices, default=RequestUrgency.NORMAL
    )
    opened_at = models.DateTimeField(_("opened"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    refusal_reason = models.TextField(_("refusal reason"), blank=True)
    refusal_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refusal requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    refusal_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refusal approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("client request")
        verbose_name_plural = _("client requests")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__gte=F("opened_at")), name="request_due_after_open"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="request_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=RequestStatus.REFUSED) | Q(refusal_approved_by__isnull=False),
                name="request_refusal_is_approved",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "-opened_at"], name="request_client_time"),
            models.Index(fields=["status", "due_at"], name="request_status_due"),
            # SPEC §9: the API list's ordering.
            models.Index(fields=["-opened_at", "-id"], name="request_opened_order"),
        ]

    def __str__(self) -> str:
        return self.topic


class ReferralStatus(models.TextChoices):
    """The stages of a lead (SPEC §14), in pipeline order."""

    NEW = "new", pgettext_lazy("referral stage", "New")
    CONTACTED = "contacted", pgettext_lazy("referral stage", "Contacted")
    MEETING = "meeting", pgettext_lazy("referral stage", "Meeting")
    WON = "won", pgettext_lazy("referral stage", "Won")
    LOST = "lost", pgettext_lazy("referral stage", "Lost")


# A lead still being worked: an INN shared by two of them flags both as duplicates (SPEC §14).
OPEN_REFERRAL_STATUSES = (ReferralStatus.NEW, ReferralStatus.CONTACTED, ReferralStatus.MEETING)
CLOSED_REFERRAL_STATUSES = (ReferralStatus.WON, ReferralStatus.LOST)


def referrals_overdue(today: datetime.date) -> Q:
    """SPEC §14: open leads whose next step was due before ``today`` (``Referral.is_overdue``
    says it of one lead)."""
    return Q(status__in=OPEN_REFERRAL_STATUSES, next_step_on__lt=today)


class Referral(models.Model):
    """A lead named by an existing client (SPEC §14): its owner works it through the stages to a
    won client or a loss with a reason; every change of stage is kept in ``ReferralStageChange``."""

    referrer = models.ForeignKey(
        Client, verbose_name=_("referrer"), on_delete=models.PROTECT, related_name="referrals"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="recorded_referrals",
    )
    # Who works the lead: the person who recorded it, unless the director gave it to someone.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_referrals",
    )
    organisation = models.CharField(_("organisation"), max_length=300)
    inn = models.CharField(_("INN"), max_length=12, blank=True, validators=[validate_inn])
    contact = models.CharField(_("contact"), max_length=300, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    status = models.CharField(
        _("stage"), max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.NEW
    )
    next_step_on = models.DateField(_("next step"), null=True, blank=True)
    lost_reason = models.CharField(_("why lost"), max_length=300, blank=True)
    # The local day the lead was won or lost: the month it counts in (SPEC §14 figures).
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    client = models.ForeignKey(
        Client,
        verbose_name=_("became client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.WON) | Q(client__isnull=False),
                name="referral_won_has_client",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReferralStatus.values), name="referral_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.LOST) | ~Q(lost_reason=""),
                name="referral_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=CLOSED_REFERRAL_STATUSES, closed_on__isnull=False)
                    | (~Q(status__in=CLOSED_REFERRAL_STATUSES) & Q(closed_on__isnull=True))
                ),
                name="referral_closed_iff_won_or_lost",
            ),
        ]
        indexes = [
            models.Index(fields=["referrer", "-created_at"], name="referral_referrer"),
            # SPEC §9: the API list's ordering.
            models.Index(fields=["-created_at", "-id"], name="referral_created_order"),
            # The board and the workspace: a person's open leads by next step.
            models.Index(fields=["owner", "status", "next_step_on"], name="referral_owner_stage"),
            # Duplicate flags and the "already a client" check look leads up by INN.
            models.Index(fields=["inn", "status"], name="referral_inn_status"),
            models.Index(fields=["status", "closed_on"], name="referral_closed"),
        ]

    def __str__(self) -> str:
        return self.organisation

    def save(self, *args, **kwargs):
        # A lead is worked by whoever recorded it until someone gives it to another person.
        if self.owner_id is None:
            self.owner_id = self.recorded_by_id
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFERRAL_STATUSES

    @property
    def is_overdue(self) -> bool:
        """The one lead's ``referrals_overdue``, on today's local date."""
        return (
            self.is_open
            and self.next_step_on is not None
            and self.next_step_on < timezone.localdate()
        )


class ReferralStageChange(models.Model):
    """One step of a lead through the pipeline; the first row of a lead is its creation
    (``from_status`` empty). Only ever inserted."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.PROTECT, related_name="stages"
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=ReferralStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=ReferralStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("referral stage change")
        verbose_name_plural = _("referral stage changes")
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["referral", "changed_at"], name="referral_stage_time")]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class TaskKind(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Follow-up call")
    FREE_MONTH_ENDING = "free_month_ending", _("Free month ending")
    REQUEST_OVERDUE = "request_overdue", _("Overdue request")
    AT_RISK = "at_risk", _("Client at risk")
    REFUSAL_APPROVAL = "refusal_approval", _("Refusal to approve")
    MANUAL = "manual", _("Task")
    WELCOME_CALL = "welcome_call", _("Welcome call")
    THANK_REFERRER = "thank_referrer", _("Thank the referrer")


# SPEC §11: system tasks that mirror a state close when the state ends and cannot be ticked off by
# hand while it lasts; each says what must happen instead.
STATE_MIRRORING_TASKS = {
    TaskKind.REFUSAL_APPROVAL: _(
        "This task closes itself when the refusal is approved or rejected: decide it on the team page."
    ),
    TaskKind.REQUEST_OVERDUE: _(
        "This task closes itself when the client's overdue requests are resolved or refused."
    ),
    TaskKind.FREE_MONTH_ENDING: _("This task closes itself when the case is returned or declined."),
}


class Task(models.Model):
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=300, blank=True)
    due_on = models.DateField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # Null = created by the system (nightly job or a workflow step).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        constraints = [
            # System tasks are idempotent: at most one open task per (client, kind) (SPEC §2).
            models.UniqueConstraint(
                fields=["client", "kind"],
                condition=Q(done_at__isnull=True, created_by__isnull=True),
                name="task_one_open_system_task",
            ),
            models.CheckConstraint(condition=Q(kind__in=TaskKind.values), name="task_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_on"], name="task_assignee_open"),
        ]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()

    @property
    def mirrors_state(self) -> bool:
        """A system task that closes when the state it mirrors ends (``STATE_MIRRORING_TASKS``)."""
        return self.created_by_id is None and self.kind in STATE_MIRRORING_TASKS


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """One export of the client list (RELIABILITY R08), produced by a background task.

    The file itself is kept in the row, so the web process and the worker share nothing but the
    database; its bytes are erased once the link has expired (``clients.exports``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    content = models.BinaryField(_("file"), null=True, blank=True, editable=False)
    filename = models.CharField(_("file name"), max_length=120, blank=True)
    problem = models.CharField(_("problem"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires at"), db_index=True)
    purged_at = models.DateTimeField(_("file erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("client export")
        verbose_name_plural = _("client exports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="exportjob_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(format__in=ExportFormat.values), name="exportjob_format_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.filename or str(self.pk)

    def is_expired(self, now) -> bool:
        return now >= self.expires_at
