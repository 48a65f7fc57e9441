"""REST API v1 for contracts and the win-back workflow (SPEC §7, §3.2–§3.3).

Querysets start from the clients the caller can see, so another manager's contract or case is a
404; commands validate an input serializer and call one ``retention.services`` function.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from clients.access import clients_editable_by, visible_through
from clients.models import Contract, ContractKind, TerminationReason
from core.api import IdFilter, InputSerializersMixin, StrictBooleanFilter, with_errors
from retention import services
from retention.access import cases_visible_to
from retention.models import CaseStatus, LostCase
from retention.serializers import (
    ContractChangeFeeSerializer,
    ContractCreateSerializer,
    ContractSerializer,
    ContractTerminateSerializer,
    ContractTerminationSerializer,
    LostCaseDeclineSerializer,
    LostCaseReturnSerializer,
    LostCaseSerializer,
    StartFreeMonthSerializer,
)
from staff.models import Capability

# Who signs, changes and ends contracts. A return manager brings a client back through the
# return workflow, not by adding a contract.


def _fake(view) -> bool:
    return getattr(view, "swagger_fake_view", False)


# --- contracts ------------------------------------------------------------------------------


class ContractFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    kind = django_filters.ChoiceFilter(choices=ContractKind.choices)
    open = StrictBooleanFilter(field_name="ends_on", lookup_expr="isnull", label=_("Open-ended"))

    class Meta:
        model = Contract
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="Contracts of visible clients"),
    retrieve=extend_schema(
        summary="One contract", responses=with_errors({200: ContractSerializer}, 404)
    ),
)
class ContractViewSet(
    InputSerializersMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ContractSerializer
    input_serializer_classes = {"POST": ContractCreateSerializer}
    filterset_class = ContractFilter
    action_capabilities = {
        "create": Capability.CONTRACT_WRITE,
        "terminate": Capability.CONTRACT_WRITE,
        "change_fee": Capability.CONTRACT_WRITE,
    }

    def get_queryset(self):
        if _fake(self):
            return Contract.objects.none()
        return Contract.objects.filter(visible_through(self.request.user)).order_by(
            "-starts_on", "-pk"
        )

    def _editable_object(self) -> Contract:
        contract = self.get_object()
        if not clients_editable_by(self.request.user).filter(pk=contract.client_id).exists():
            raise PermissionDenied(_("You can read this contract but not change it."))
        return contract

    @extend_schema(
        summary="Add a paid contract (overlapping paid contracts are refused)",
        request=ContractCreateSerializer,
        responses=with_errors({201: ContractSerializer}, 400, 403),
    )
    def create(self, request):
        serializer = ContractCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("kind")
        contract = services.contract_create(actor=request.user, **data)
        return Response(ContractSerializer(contract).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Terminate the contract; the last paid one makes the client lost",
        request=ContractTerminateSerializer,
        responses=with_errors({200: ContractTerminationSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        contract = self._editable_object()
        serializer = ContractTerminateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contract, case = services.contract_terminate(
            actor=request.user, contract=contract, **serializer.validated_data
        )
        return Response(
            ContractTerminationSerializer({"contract": contract, "lost_case": case}).data
        )

    @extend_schema(
        summary="Change the fee from a date: the contract ends the day before, a new one starts",
        request=ContractChangeFeeSerializer,
        responses=with_errors({201: ContractSerializer}, 400, 403, 404),
    )
    @action(detail=True, methods=["post"], url_path="change-fee")
    def change_fee(self, request, pk=None):
        contract = self._editable_object()
        serializer = ContractChangeFeeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new = services.contract_change_fee(
            actor=request.user, contract=contract, **serializer.validated_data
        )
        return Response(ContractSerializer(new).data, status=status.HTTP_201_CREATED)


# --- lost cases -----------------------------------------------------------------------------


class LostCaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    reason = django_filters.ChoiceFilter(choices=TerminationReason.choices)
    client = IdFilter(field_name="client_id")

    class Meta:
        model = LostCase
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="Lost-client cases, highest lost fee and most recent first"),
    retrieve=extend_schema(
        summary="One lost-client case", responses=with_errors({200: LostCaseSerializer}, 404)
    ),
)
class LostCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LostCaseSerializer
    filterset_class = LostCaseFilter
    action_capabilities = {
        "claim": Capability.CASE_WORK,
        "start_free_month": Capability.CASE_WORK,
        "return_client": Capability.CASE_WORK,
        "withdraw_return": Capability.CASE_WORK,
        "decline": Capability.CASE_WORK,
    }

    def get_queryset(self):
        # The page's rule (retention.access): a return manager sees the whole active pool,
        # including cases another return manager holds, so claiming one is a clear 409.
        if _fake(self):
            return LostCase.objects.none()
        return cases_visible_to(self.request.user).order_by("-lost_fee", "-lost_on", "pk")

    def _done(self, case: LostCase) -> Response:
        case.refresh_from_db()
        return Response(self.get_serializer(case).data)

    @extend_schema(
        summary="Claim the case (atomic: one return manager wins)",
        request=None,
        responses=with_errors({200: LostCaseSerializer}, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        case = services.lost_case_claim(actor=request.user, case=self.get_object())
        return self._done(case)

    @extend_schema(
        summary="Offer a free month (a free contract for one calendar month)",
        request=StartFreeMonthSerializer,
        responses=with_errors({200: LostCaseSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"], url_path="start-free-month")
    def start_free_month(self, request, pk=None):
        case = self.get_object()
        serializer = StartFreeMonthSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.lost_case_start_free_month(
            actor=request.user, case=case, **serializer.validated_data
        )
        return self._done(case)

    @extend_schema(
        summary="Return the client: a new paid contract and a different client manager",
        description=(
            "From today or a past day the client is returned at once: 200, the case is "
            "`returned`. During a free month a day ahead (at the latest the day after the free "
            "month ends) records an agreed return instead: 202, the case stays in its free month "
            "with `agreed_return` set, and the return is carried out on that day. Sending it "
            "again changes the agreement."
        ),
        request=LostCaseReturnSerializer,
        responses=with_errors(
            {
                200: OpenApiResponse(LostCaseSerializer, description="The client is returned."),
                202: OpenApiResponse(
                    LostCaseSerializer,
                    description="The return is agreed and will be carried out on its day.",
                ),
            },
            400,
            403,
            404,
            409,
        ),
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_client(self, request, pk=None):
        case = self.get_object()
        serializer = LostCaseReturnSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        case = services.lost_case_return_agree(
            actor=request.user, case=case, **serializer.validated_data
        )
        response = self._done(case)
        if case.status != CaseStatus.RETURNED:
            response.status_code = status.HTTP_202_ACCEPTED
        return response

    @extend_schema(
        summary="Withdraw the agreed return before its day; the case stays in its free month",
        request=None,
        responses=with_errors({200: LostCaseSerializer}, 403, 404, 409),
    )
    @action(detail=True, methods=["post"], url_path="withdraw-return")
    def withdraw_return(self, request, pk=None):
        case = services.lost_case_return_withdraw(actor=request.user, case=self.get_object())
        return self._done(case)

    @extend_schema(
        summary="Decline the case: the client does not come back",
        request=LostCaseDeclineSerializer,
        responses=with_errors({200: LostCaseSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        case = self.get_object()
        serializer = LostCaseDeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.lost_case_decline(
            actor=request.user, case=case, **serializer.validated_data
        )
        return self._done(case)
