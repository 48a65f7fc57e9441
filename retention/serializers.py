"""API shapes of contracts and lost-client cases (SPEC §7). Validation only: the views hand the
validated data to ``retention.services``."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clients.access import clients_editable_by
from clients.models import Client, Contract, ContractKind, TerminationReason
from core.api import ScopedPrimaryKeyRelatedField, StrictCharField
from retention.models import CaseStatus, LostCase
from staff.access import staff_visible_to
from staff.models import User

# Contracts added through the API are paid: free months come only from the return workflow.
NEW_CONTRACT_KINDS = [(ContractKind.PAID.value, ContractKind.PAID.label)]

# Money: roubles with kopecks, never negative, always a decimal string on the wire.
_MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


class ContractSerializer(serializers.ModelSerializer):
    # Declared so the schema says "empty while the contract runs".
    termination_reason = serializers.ChoiceField(
        choices=TerminationReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "client",
            "number",
            "kind",
            "starts_on",
            "ends_on",
            "monthly_fee",
            "termination_reason",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class ContractCreateSerializer(serializers.Serializer):
    """``POST contracts/``: a paid contract."""

    client = ScopedPrimaryKeyRelatedField(model=Client, scope=clients_editable_by)
    number = StrictCharField(max_length=50)
    kind = serializers.ChoiceField(choices=NEW_CONTRACT_KINDS, default=ContractKind.PAID.value)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    monthly_fee = serializers.DecimalField(**_MONEY)
    comment = StrictCharField(required=False, allow_blank=True, max_length=5000)


class ContractTerminateSerializer(serializers.Serializer):
    ends_on = serializers.DateField(help_text="Last day of service.")
    reason = serializers.ChoiceField(choices=TerminationReason.choices)
    comment = StrictCharField(required=False, allow_blank=True, max_length=5000)


class ContractChangeFeeSerializer(serializers.Serializer):
    effective_on = serializers.DateField(help_text="First day of the new fee.")
    monthly_fee = serializers.DecimalField(**_MONEY)
    number = StrictCharField(required=False, allow_blank=True, max_length=50)


class AgreedReturnSerializer(serializers.Serializer):
    """A return the client agreed to from a day ahead (SPEC §3.3): carried out on ``starts_on``
    by the nightly chain; until then nothing of it is in the contracts or the assignments."""

    agreed_on = serializers.DateField(help_text="The day the client agreed.")
    agreed_by = serializers.IntegerField(source="agreed_by_id")
    starts_on = serializers.DateField(
        source="agreed_starts_on", help_text="First day of the paid service and the new manager."
    )
    monthly_fee = serializers.DecimalField(source="agreed_fee", max_digits=12, decimal_places=2)
    manager = serializers.IntegerField(source="agreed_manager_id")
    number = serializers.CharField(source="agreed_number", allow_blank=True)
    carried_out = serializers.SerializerMethodField(
        help_text="Whether the return has happened (the case is returned)."
    )
    failure = serializers.CharField(
        source="agreed_failure",
        allow_blank=True,
        help_text="Why the return could not be carried out on its day; empty when nothing failed.",
    )

    def get_carried_out(self, case: LostCase) -> bool:
        return case.status == CaseStatus.RETURNED


class LostCaseSerializer(serializers.ModelSerializer):
    agreed_return = serializers.SerializerMethodField()

    class Meta:
        model = LostCase
        fields = [
            "id",
            "client",
            "lost_on",
            "lost_by",
            "reason",
            "lost_fee",
            "status",
            "return_manager",
            "claimed_at",
            "free_month_contract",
            "returned_on",
            "new_manager",
            "closed_on",
            "decline_reason",
            "created_at",
            "agreed_return",
        ]
        read_only_fields = fields

    @extend_schema_field(AgreedReturnSerializer(allow_null=True))
    def get_agreed_return(self, case: LostCase) -> dict | None:
        if case.agreed_starts_on is None:
            return None
        return AgreedReturnSerializer(case).data


class ContractTerminationSerializer(serializers.Serializer):
    """What a termination did: the contract, and the lost case it opened (null for a natural
    reason, or while another paid contract still covers the client)."""

    contract = ContractSerializer()
    lost_case = LostCaseSerializer(allow_null=True)


class StartFreeMonthSerializer(serializers.Serializer):
    starts_on = serializers.DateField(required=False, help_text="Defaults to today.")


class LostCaseReturnSerializer(serializers.Serializer):
    manager = ScopedPrimaryKeyRelatedField(
        model=User,
        scope=staff_visible_to,
        help_text="The client manager who takes the client; never the one who lost it.",
    )
    starts_on = serializers.DateField(
        help_text=(
            "First day of the paid service. Today or a past day returns the client at once. "
            "During a free month a day ahead, up to the day after the free month ends, records "
            "an agreed return, carried out on that day."
        )
    )
    monthly_fee = serializers.DecimalField(**_MONEY)
    number = StrictCharField(required=False, allow_blank=True, max_length=50)


class LostCaseDeclineSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)
    declined_on = serializers.DateField(required=False, help_text="Defaults to today.")
