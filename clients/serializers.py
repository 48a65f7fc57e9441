"""API shapes of clients and their everyday work (SPEC §7). Validation only: the views hand the
validated data to ``clients.services``.

Every foreign key a caller sends is a ``ScopedPrimaryKeyRelatedField`` over what that caller may
use (RELIABILITY R05); fields the caller must not set (status, manager on edit, who logged or
recorded something) are read-only (R06).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
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
from clients.services import CLIENT_EDITABLE_FIELDS, REASSIGN_BATCH_MAX, SPREAD
from core.api import MAX_ID, ModelSerializer, ScopedPrimaryKeyRelatedField, StrictCharField
from staff.access import staff_visible_to, task_assignees_for
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


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "The new manager's id."},
            {"type": "string", "enum": [SPREAD]},
        ]
    }
)
class ManagerOrSpreadField(ScopedPrimaryKeyRelatedField):
    """A person's id, or ``"spread"``: each client to the least loaded of its group relative to
    effective capacity (SPEC §3.6)."""

    def to_internal_value(self, data):
        if data == SPREAD:
            return SPREAD
        if isinstance(data, bool | float):
            # An id is a whole number: 12.5 would otherwise be read as 12.
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class ClientsReassignSerializer(serializers.Serializer):
    """``POST clients/reassign/``: a selection of clients at once, all or nothing."""

    clients = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        min_length=1,
        max_length=REASSIGN_BATCH_MAX,
        help_text="Ids of the clients to reassign.",
    )
    manager = ManagerOrSpreadField(model=User, scope=staff_visible_to)
    reason = serializers.ChoiceField(
        choices=REASSIGN_REASONS, default=AssignmentReason.REASSIGN.value
    )
    effective_on = serializers.DateField(required=False, help_text="Defaults to today.")

    def validate_clients(self, ids: list[int]) -> list[Client]:
        """The caller's visible clients; an id they cannot see is refused like a missing one."""
        request = self.context["request"]
        wanted = set(ids)
        found = list(clients_visible_to(request.user).filter(pk__in=wanted).order_by("pk"))
        missing = sorted(wanted - {client.pk for client in found})
        if missing:
            raise serializers.ValidationError(
                _("No such clients: %(ids)s.") % {"ids": ", ".join(map(str, missing[:10]))}
            )
        return found


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
    """A lead as recorded and read (SPEC §14); its stage changes through the commands."""

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
            "owner",
            "organisation",
            "inn",
            "contact",
            "comment",
            "status",
            "next_step_on",
            "lost_reason",
            "closed_on",
            "client",
            "created_at",
            "is_duplicate",
        ]
        read_only_fields = [
            "id",
            "recorded_by",
            "owner",
            "status",
            "lost_reason",
            "closed_on",
            "client",
            "created_at",
        ]


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = ["id", "client", "kind", "title", "due_on", "done_at", "created_by", "created_at"]
        read_only_fields = fields


class TaskGiveSerializer(ModelSerializer):
    """A task given to someone (or oneself): ``clients.services.task_give`` decides the rest."""

    assignee = ScopedPrimaryKeyRelatedField(model=User, scope=task_assignees_for)
    client = _client_field(scope=clients_visible_to, required=False, allow_null=True)

    class Meta:
        model = Task
        fields = ["assignee", "client", "title", "due_on"]
        extra_kwargs = {"title": {"required": True, "allow_blank": False}}
