"""Writes to the staff (SPEC §1, §2 staff). Dismissal hands over a book of clients, so it lives
in ``team.services.staff_dismiss``."""

from __future__ import annotations

import datetime

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import save_audited
from core.bounds import business_date_check, capacity_check
from staff.models import DEFAULT_CAPACITY, Role, SecurityEventKind, User
from staff.security_events import security_event_on_commit


@transaction.atomic
def staff_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    full_name: str,
    role: str,
    mentor: User | None = None,
    hired_on: datetime.date | None = None,
    ramp_until: datetime.date | None = None,
    capacity: int = DEFAULT_CAPACITY,
    email: str = "",
    phone: str = "",
) -> User:
    """Hire someone. Only the director does it (``actor`` is None for a management command). The
    password passes Django's validators and is stored hashed; a mentor must be an active mentor."""
    if actor is not None and actor.role != Role.DIRECTOR:
        raise PermissionDenied(_("Only the director hires staff."))
    if mentor is not None and (mentor.role != Role.MENTOR or not mentor.is_active):
        raise ValidationError({"mentor": _("Choose an active mentor.")})
    business_date_check(hired_on, field="hired_on")
    business_date_check(ramp_until, field="ramp_until")
    capacity = capacity_check(capacity)
    if hired_on and ramp_until and ramp_until < hired_on:
        raise ValidationError({"ramp_until": _("The trainee period ends after the hiring date.")})
    user = User(
        username=username.strip(),
        full_name=full_name.strip(),
        role=role,
        mentor=mentor,
        hired_on=hired_on,
        ramp_until=ramp_until,
        capacity=capacity,
        email=email.strip(),
        phone=phone.strip(),
    )
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean()
    save_audited(user, actor=actor, reason=_("hired"))
    security_event_on_commit(
        SecurityEventKind.ROLE_CHANGED, user=actor, employee=user.pk, changes={"role": [None, role]}
    )
    return user
