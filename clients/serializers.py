"""API shapes of clients and their everyday work (SPEC §7). Validation only: the views hand the
validated data to ``clients.services``.

Every foreign key a caller sends is a ``ScopedPrimaryKeyRelatedField`` over what that caller may
use (RELIABILITY R05); fields the caller must not set (status, manager on edit, who logged or
recorded something) are read-only (R06).
"""

from __future__ import annotations

from rest_framework import serializers

from clients.access import clients_editable_by, clients_visible_to
from clients.models import (
    AssignmentReason,
    Client,
    ClientRequest,
    Interaction,
    Referral,
    Task,
)
from clients.services import CLIENT_EDITABLE_FIELDS
from core.api import ModelSerializer, ScopedPrimaryKeyRelatedField, StrictCharField
from staff.access import staff_visible_to
from staff.models import User


def _client_field(scope=clients_editable_by, **kwargs) -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(model=Client, scope=scope, **kwargs)


class ClientSerializer(serializers.ModelSerializer):
    """A client as read. ``at_risk`` and ``risk_score`` come from
    ``clients.selectors.clients_with_risk``."""

    at_risk = serializers.BooleanField(read_only=True)
    risk_score = serializers.IntegerField(read_only=True, min_value=0, max_value=100)

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "inn",
            "kpp",
            "kind",
            "region",
            "city",
            "parent",
            "acquisition_channel",
            "referred_by",
            "manager",
            "status",
            "at_risk",
            "risk_score",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClientCreateSerializer(ModelSerializer):
    manager = ScopedPrimaryKeyRelatedField(
        model=User, scope=staff_visible_to, required=False, allow_null=True
    )
    referred_by = _client_field(scope=clients_visible_to, required=False, allow_null=True)
    parent = _client_field(scope=clients_visible_to, required=False, allow_null=True)

    class Meta:
        model = Client
        fields = [
            "name",
            "inn",
            "kpp",
            "kind",
            "region",
            "city",
            "manager",
            "acquisition_channel",
            "referred_by",
            "parent",
        ]


class ClientUpdateSerializer(ModelSerializer):
    """``PATCH clients/{id}/``: only ``CLIENT_EDITABLE_FIELDS``; the manager changes through
    ``reassign`` and the status is derived."""

    parent = _client_field(scope=clients_visible_to, required=False, allow_null=True)

    class Meta:
        model = Client
        fields = list(CLIENT_EDITABLE_FIELDS)


# Reasons a caller may give; the first assignment, dismissals and returns set their own.
REASSIGN_REASONS = [
    (AssignmentReason.REASSIGN.value, AssignmentReason.REASSIGN.label),
    (AssignmentReason.HANDOVER.value, AssignmentReason.HANDOVER.label),
]


class ClientReassignSerializer(serializers.Serializer):
    manager = ScopedPrimaryKeyRelatedField(model=User, scope=staff_visible_to)
    reason = serializers.ChoiceField(
        choices=REASSIGN_REASONS, default=AssignmentReason.REASSIGN.value
    )
    effective_on = serializers.DateField(required=False, help_text="Defaults to today.")


class InteractionSerializer(ModelSerializer):
    client = _client_field()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "client",
            "staff",
            "kind",
            "occurred_at",
            "duration_min",
            "outcome",
            "summary",
            "next_contact_on",
        ]
        read_only_fields = ["id", "staff"]
        extra_kwargs = {"occurred_at": {"required": False}}


class ClientRequestSerializer(ModelSerializer):
    client = _client_field()

    class Meta:
        model = ClientRequest
        fields = [
            "id",
            "client",
            "logged_by",
            "topic",
            "description",
            "urgency",
            "opened_at",
            "due_at",
            "status",
            "resolved_at",
            "refusal_reason",
            "refusal_requested_by",
            "refusal_approved_by",
        ]
        read_only_fields = [
            "id",
            "logged_by",
            "opened_at",
            "due_at",
            "status",
            "resolved_at",
            "refusal_reason",
            "refusal_requested_by",
            "refusal_approved_by",
        ]


class RequestRefuseSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)


class RequestRejectRefusalSerializer(serializers.Serializer):
    comment = StrictCharField(required=False, allow_blank=True, max_length=2000)


class ReferralSerializer(ModelSerializer):
    referrer = _client_field()
    is_duplicate = serializers.BooleanField(
        read_only=True,
        help_text="Another open lead has the same INN (SPEC §14); both carry the flag.",
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "referrer",
            "recorded_by",
            "organisation",
            "inn",
            "contact",
            "comment",
            "status",
            "client",
            "created_at",
            "is_duplicate",
        ]
        read_only_fields = ["id", "recorded_by", "status", "client", "created_at"]


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = ["id", "client", "kind", "title", "due_on", "done_at", "created_by", "created_at"]
        read_only_fields = fields
