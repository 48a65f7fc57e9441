"""API shapes of the staff (SPEC §7 ``staff/``). Validation only: writes go through services."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clients.access import clients_visible_to
from clients.models import Client
from core.api import ModelSerializer, ScopedPrimaryKeyRelatedField, StrictCharField
from staff.access import staff_visible_to
from staff.models import Role, User


class StaffSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True)  # may be empty

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "phone",
            "role",
            "mentor",
            "hired_on",
            "ramp_until",
            "capacity",
            "is_active",
            "dismissed_on",
        ]
        read_only_fields = fields


def _mentors(user) -> object:
    return staff_visible_to(user).filter(role=Role.MENTOR, is_active=True)


class StaffCreateSerializer(ModelSerializer):
    """``POST staff/`` (director). The password is checked by Django's password validators (in
    ``staff.services.staff_create``) and never returned."""

    password = StrictCharField(
        write_only=True, style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )
    mentor = ScopedPrimaryKeyRelatedField(
        model=User, scope=_mentors, required=False, allow_null=True
    )

    class Meta:
        model = User
        fields = [
            "username",
            "password",
            "full_name",
            "email",
            "phone",
            "role",
            "mentor",
            "hired_on",
            "ramp_until",
            "capacity",
        ]
        extra_kwargs = {"full_name": {"required": True, "allow_blank": False}}


HANDOVER_SPREAD = "spread"


class HandoverItemSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(model=Client, scope=clients_visible_to)
    manager = ScopedPrimaryKeyRelatedField(model=User, scope=staff_visible_to)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": [HANDOVER_SPREAD]},
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "client": {"type": "integer"},
                        "manager": {"type": "integer"},
                    },
                    "required": ["client", "manager"],
                },
            },
        ]
    }
)
class HandoverField(serializers.Field):
    """``"spread"`` (evenly over the group, least loaded first) or ``[{client, manager}, …]``."""

    default_error_messages = {
        "invalid": _('Give "spread" or a list of objects with "client" and "manager" ids.'),
        "duplicate": _("Client %(id)s is listed twice."),
    }

    def to_internal_value(self, data):
        if data == HANDOVER_SPREAD:
            return HANDOVER_SPREAD
        if not isinstance(data, list):
            self.fail("invalid")
        items = HandoverItemSerializer(data=data, many=True, context=self.context)
        items.is_valid(raise_exception=True)
        plan = {}
        for item in items.validated_data:
            if item["client"].pk in plan:
                raise serializers.ValidationError(
                    self.error_messages["duplicate"] % {"id": item["client"].pk}
                )
            plan[item["client"].pk] = item["manager"]
        return plan

    def to_representation(self, value):
        return value


class StaffDismissSerializer(serializers.Serializer):
    dismissed_on = serializers.DateField(required=False)
    handover = HandoverField(required=False, default=HANDOVER_SPREAD)
