"""People of the commercial department (SPEC §1, §2 staff)."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

DEFAULT_CAPACITY = 150


class Role(models.TextChoices):
    DIRECTOR = "director", _("Commercial director")
    MENTOR = "mentor", _("Mentor")
    CLIENT_MANAGER = "client_manager", _("Client manager")
    RETURN_MANAGER = "return_manager", _("Return manager")
    SALES_MANAGER = "sales_manager", _("Sales manager")


class Capability(models.TextChoices):
    """What a role may do, whatever the object; which objects it may do it to is the business of
    each app's ``access`` module. Pages, API gates, template flags and services all ask
    ``User.can`` (STYLE: one home per rule)."""

    CLIENT_CREATE = "client_create", _("Create clients")
    CLIENT_REASSIGN = "client_reassign", _("Reassign clients")
    CLIENT_EXPORT = "client_export", _("Export the client list")
    CONTRACT_WRITE = "contract_write", _("Sign, change and terminate contracts")
    KEEP_BOOK = "keep_book", _("Keep a book of clients (the workspace)")
    # SPEC §11: every role that receives tasks has a workspace, /my/; which one it is follows
    # from the role's other capabilities (a book keeper's book, a return manager's cases).
    WORKSPACE = "workspace", _("Have a workspace of one's own work (/my/)")
    CASE_WORK = "case_work", _("Work the lost-client queue")
    CASES_OVERSEE = "cases_oversee", _("Oversee every lost-client case")
    TEAM_LEAD = "team_lead", _("Lead a team (the team page, refusal decisions)")
    STAFF_MANAGE = "staff_manage", _("Hire and dismiss staff")
    KPI_VIEW = "kpi_view", _("See the KPI dashboard")
    KPI_DEPARTMENT = "kpi_department", _("See and recompute the department's KPIs")
    PLANNER_VIEW = "planner_view", _("See the growth planner and the hiring forecast")
    PLANNER_SAVE = "planner_save", _("Save growth planner scenarios")
    REFERRAL_WORK = "referral_work", _("Work referral leads (the pipeline)")
    REFERRAL_GIVE = "referral_give", _("Give a referral lead to another person")


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DIRECTOR: frozenset(
        {
            Capability.CLIENT_CREATE,
            Capability.CLIENT_REASSIGN,
            Capability.CLIENT_EXPORT,
            Capability.CONTRACT_WRITE,
            Capability.CASE_WORK,
            Capability.CASES_OVERSEE,
            Capability.TEAM_LEAD,
            Capability.STAFF_MANAGE,
            Capability.KPI_VIEW,
            Capability.KPI_DEPARTMENT,
            Capability.PLANNER_VIEW,
            Capability.PLANNER_SAVE,
            Capability.REFERRAL_WORK,
            Capability.REFERRAL_GIVE,
        }
    ),
    Role.MENTOR: frozenset(
        {
            Capability.CLIENT_CREATE,
            Capability.CLIENT_REASSIGN,
            Capability.CLIENT_EXPORT,
            Capability.CONTRACT_WRITE,
            Capability.KEEP_BOOK,
            Capability.WORKSPACE,
            Capability.TEAM_LEAD,
            Capability.KPI_VIEW,
            Capability.PLANNER_VIEW,
            Capability.REFERRAL_WORK,
        }
    ),
    Role.CLIENT_MANAGER: frozenset(
        {
            Capability.CLIENT_CREATE,
            Capability.CONTRACT_WRITE,
            Capability.KEEP_BOOK,
            Capability.WORKSPACE,
            Capability.REFERRAL_WORK,
        }
    ),
    # A sales manager hands their own won client over (SPEC §3.1): a reassignment.
    Role.SALES_MANAGER: frozenset(
        {
            Capability.CLIENT_CREATE,
            Capability.CLIENT_REASSIGN,
            Capability.CONTRACT_WRITE,
            Capability.KEEP_BOOK,
            Capability.WORKSPACE,
            Capability.REFERRAL_WORK,
        }
    ),
    Role.RETURN_MANAGER: frozenset({Capability.CASE_WORK, Capability.WORKSPACE}),
}


def roles_that_can(capability: str) -> tuple[str, ...]:
    """The roles holding ``capability``, in the order of ``Role``."""
    return tuple(role for role in Role.values if capability in ROLE_CAPABILITIES[role])


# Roles whose holders keep a book of clients (SPEC §1: a mentor "can own clients too"; a sales
# manager owns a won client until the handover).
OWNER_ROLES = (Role.CLIENT_MANAGER, Role.MENTOR, Role.SALES_MANAGER)
# Roles a client can be handed to for everyday service.
BOOK_ROLES = (Role.CLIENT_MANAGER, Role.MENTOR)


class StaffQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def book_keepers(self):
        """Active people who can be given clients to serve: client managers and mentors."""
        return self.active().filter(role__in=BOOK_ROLES)


class StaffManager(UserManager.from_queryset(StaffQuerySet)):
    pass


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=200)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    mentor = models.ForeignKey(
        "self",
        verbose_name=_("mentor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mentees",
        limit_choices_to={"role": Role.MENTOR},
    )
    hired_on = models.DateField(_("hired on"), null=True, blank=True)
    ramp_until = models.DateField(
        _("trainee until"),
        null=True,
        blank=True,
        help_text=_("A new client manager is a trainee until this date (3 to 6 months)."),
    )
    capacity = models.PositiveIntegerField(_("capacity (clients)"), default=DEFAULT_CAPACITY)
    dismissed_on = models.DateField(_("dismissed on"), null=True, blank=True)

    objects = StaffManager()
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    REQUIRED_FIELDS = ["email", "full_name", "role"]

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["full_name"]
        constraints = [
            models.CheckConstraint(condition=~Q(mentor=F("id")), name="staff_user_not_own_mentor"),
            models.CheckConstraint(
                condition=Q(dismissed_on__isnull=True) | Q(is_active=False),
                name="staff_user_dismissed_is_inactive",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="staff_user_role_valid"),
        ]
        indexes = [models.Index(fields=["role", "is_active"], name="staff_user_role_active")]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.get_full_name()

    def is_trainee(self, on: datetime.date) -> bool:
        return self.ramp_until is not None and on <= self.ramp_until

    @property
    def is_book_keeper(self) -> bool:
        """One of ``User.objects.book_keepers()``: active and a role clients are handed to."""
        return self.is_active and self.role in BOOK_ROLES

    def can(self, capability: str) -> bool:
        """Whether this person's role holds ``capability`` (``ROLE_CAPABILITIES``); nobody who is
        signed out or dismissed holds any."""
        return bool(
            self.is_authenticated
            and self.is_active
            and capability in ROLE_CAPABILITIES.get(self.role, ())
        )

    @property
    def is_director(self) -> bool:
        return self.role == Role.DIRECTOR

    @property
    def is_mentor(self) -> bool:
        return self.role == Role.MENTOR

    @property
    def is_client_manager(self) -> bool:
        return self.role == Role.CLIENT_MANAGER

    @property
    def is_return_manager(self) -> bool:
        return self.role == Role.RETURN_MANAGER

    @property
    def is_sales_manager(self) -> bool:
        return self.role == Role.SALES_MANAGER


class SecurityEventKind(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOCKED_OUT = "locked_out", _("Locked out after failed sign-ins")
    OTP_FAILED = "otp_failed", _("Wrong two-factor code")
    PERMISSION_DENIED = "permission_denied", _("Access denied")
    EXPORT = "export", _("Data exported")
    ROLE_CHANGED = "role_changed", _("Role or privileges changed")
    OWNER_CHANGED = "owner_changed", _("Client handed to another manager")
    RECOVERY_CODES_ISSUED = "recovery_codes_issued", _("New recovery codes issued")
    RECOVERY_CODE_USED = "recovery_code_used", _("Signed in with a recovery code")


class SecurityEvent(models.Model):
    """One security-relevant event (RELIABILITY R26), written only by
    ``staff.security_events.security_event_record`` and never changed afterwards.

    The actor is kept as a bare id (no database constraint): the row is written through a
    connection of its own and must neither wait on nor be removed with the user row."""

    kind = models.CharField(_("event"), max_length=32, choices=SecurityEventKind.choices)
    actor = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(
        _("user name as typed"), max_length=150, blank=True, help_text=_("For failed sign-ins.")
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    path = models.CharField(_("page"), max_length=500, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "created_at"], name="staff_secevent_kind_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.username or self.actor_id or '—'}"


class RecoveryCode(models.Model):
    """One two-factor recovery code of a user (RELIABILITY R13): it confirms one sign-in in place
    of the authenticator app's code, for when the phone is lost.

    Only a salted PBKDF2 hash of the code is kept (Django's password hasher, see
    ``staff.recovery_codes``), never the code itself, so a copy of the table cannot sign anyone
    in. A code is 10 random characters (about 50 bits), so fewer hashing rounds than a password
    needs still put guessing a code from its hash out of reach, while checking a typed code
    against a whole set stays fast.

    Rows are only added and stamped: ``used_at`` when the code confirms a sign-in,
    ``revoked_at`` when a new set replaces it; on PostgreSQL a trigger refuses any other change
    and every deletion."""

    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="recovery_codes",
    )
    code_hash = models.CharField(_("code hash"), max_length=128)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(
        _("replaced at"),
        null=True,
        blank=True,
        help_text=_("When a new set of codes replaced this unused one."),
    )

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        ordering = ["-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="staff_recovery_code_used_or_revoked",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="staff_recovery_code_unused",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None
