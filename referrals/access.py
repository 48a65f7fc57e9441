"""Who sees and works which referral lead (SPEC §14): the one home of the rule, asked by the
board, the lead page, the API and the services.

A lead is seen by its owner and by whoever sees its referrer (the referrer's manager, their
mentor, the director); a mentor also sees the leads their group owns. Seeing a lead is working
it: moving it, winning or losing it. Giving a lead to someone else is the director's.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from clients.access import visible_through
from clients.models import Referral
from staff.models import OWNER_ROLES, Capability, Role, User


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    leads = Referral.objects.all()
    if not (user.is_authenticated and user.is_active and user.can(Capability.REFERRAL_WORK)):
        return leads.none()
    if user.role == Role.DIRECTOR:
        return leads
    mine = Q(owner=user)
    if user.role == Role.MENTOR:
        mine |= Q(owner__mentor=user)
    return leads.filter(mine | visible_through(user, "referrer"))


def referral_workable_by(user: User, referral: Referral) -> bool:
    return referrals_visible_to(user).filter(pk=referral.pk).exists()


def referral_owner_choices(user: User) -> QuerySet[User]:
    """Whom ``user`` may give a lead to: the director, any active person who keeps clients
    (client managers, mentors, sales managers); anyone else, nobody."""
    if not user.can(Capability.REFERRAL_GIVE):
        return User.objects.none()
    return User.objects.active().filter(role__in=OWNER_ROLES).order_by("full_name", "pk")
