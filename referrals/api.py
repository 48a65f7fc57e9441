"""REST API v1 of the referral pipeline (SPEC §7, §14): ``referrals/`` lists and records leads
and moves them through the stages with one command each."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clients import services as client_services
from clients.models import Client, Referral, ReferralStatus, referrals_overdue
from clients.selectors import clients_with_risk, referrals_with_duplicates
from clients.serializers import ClientSerializer, ReferralSerializer
from core.api import IdFilter, StrictBooleanFilter, with_errors
from referrals import services
from referrals.access import referrals_visible_to
from referrals.serializers import (
    ReferralGiveSerializer,
    ReferralLoseSerializer,
    ReferralMoveSerializer,
    ReferralWinSerializer,
)
from staff.models import Capability


class ReferralFilter(django_filters.FilterSet):
    referrer = IdFilter(field_name="referrer_id")
    owner = IdFilter(field_name="owner_id")
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices)
    overdue = StrictBooleanFilter(method="filter_overdue", label="Next step overdue")

    class Meta:
        model = Referral
        fields: list[str] = []

    def filter_overdue(self, queryset, name, value):
        overdue = referrals_overdue(timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


@extend_schema_view(
    list=extend_schema(summary="Referral leads the user sees"),
    retrieve=extend_schema(summary="A referral lead"),
)
class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Referral.objects.none()
        return referrals_with_duplicates(referrals_visible_to(self.request.user)).order_by(
            "-created_at", "-pk"
        )

    def _run(self, serializer, service):
        """A lead command: the body checked, then the service on the lead the URL names."""
        serializer.is_valid(raise_exception=True)
        return service(
            actor=self.request.user, referral=self.get_object(), **serializer.validated_data
        )

    def _done(self, referral: Referral, code: int = status.HTTP_200_OK) -> Response:
        referral = referrals_with_duplicates(Referral.objects.filter(pk=referral.pk)).get()
        return Response(self.get_serializer(referral).data, status=code)

    @extend_schema(
        summary="Record a lead named by a client",
        responses=with_errors({201: ReferralSerializer}, 400),
    )
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = client_services.referral_create(actor=request.user, **serializer.validated_data)
        return self._done(referral, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Move a lead to another open stage and set its next step",
        request=ReferralMoveSerializer,
        responses=with_errors({200: ReferralSerializer}, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        return self._done(
            self._run(ReferralMoveSerializer(data=request.data), services.referral_move)
        )

    @extend_schema(
        summary="Close a lead as lost, with the reason",
        request=ReferralLoseSerializer,
        responses=with_errors({200: ReferralSerializer}, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        return self._done(
            self._run(ReferralLoseSerializer(data=request.data), services.referral_lose)
        )

    @extend_schema(
        summary="Win a lead: the client is created in the referrer's manager's book",
        request=ReferralWinSerializer,
        responses=with_errors({201: ClientSerializer}, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None):
        client = self._run(ReferralWinSerializer(data=request.data), services.referral_win)
        # The winner may not see the client afterwards (it is in the referrer's manager's book).
        read = clients_with_risk(Client.objects.filter(pk=client.pk)).get()
        return Response(ClientSerializer(read).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Give a lead to another person (the director)",
        request=ReferralGiveSerializer,
        responses=with_errors({200: ReferralSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def give(self, request, pk=None):
        if not request.user.can(Capability.REFERRAL_GIVE):
            raise PermissionDenied(_("Only the director gives leads to others."))
        serializer = ReferralGiveSerializer(data=request.data, actor=request.user)
        return self._done(self._run(serializer, services.referral_give))
