"""Bodies of the referral pipeline's API commands (SPEC §14)."""

from __future__ import annotations

from rest_framework import serializers

from clients.models import OPEN_REFERRAL_STATUSES, ClientKind
from core.api import StrictCharField
from referrals.access import referral_owner_choices
from staff.models import User


class ReferralMoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[s.value for s in OPEN_REFERRAL_STATUSES],
        help_text="An open stage: new, contacted or meeting (won and lost have their commands).",
    )
    next_step_on = serializers.DateField(required=False, allow_null=True)
    note = StrictCharField(required=False, allow_blank=True, max_length=300)


class ReferralLoseSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=300)


class ReferralWinSerializer(serializers.Serializer):
    """The client the lead becomes; name and INN default to the lead's."""

    name = StrictCharField(required=False, allow_blank=True, max_length=300)
    inn = StrictCharField(required=False, allow_blank=True, max_length=12)
    kind = serializers.ChoiceField(choices=ClientKind.choices)
    kpp = StrictCharField(required=False, allow_blank=True, max_length=9)
    region = StrictCharField(required=False, allow_blank=True, max_length=120)
    city = StrictCharField(required=False, allow_blank=True, max_length=120)


class ReferralGiveSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none())

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        if actor is not None:
            self.fields["owner"].queryset = referral_owner_choices(actor)
