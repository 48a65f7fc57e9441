"""The one router of REST API v1 (SPEC §7), mounted at ``/api/v1/`` by ``crm.urls``.

Besides the resources: ``auth/token/`` (a token for ``{username, password}``, throttled), the
OpenAPI schema at ``schema/`` and its browsable docs at ``docs/`` (Swagger UI from the vendored
sidecar files, no CDN).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from clients.api import (
    ClientRequestViewSet,
    ClientViewSet,
    InteractionViewSet,
    ReferralViewSet,
    TaskViewSet,
)
from crm.api import ScopedRateThrottle, with_errors
from kpi.api import KpiSnapshotViewSet, KpiViewSet
from retention.api import ContractViewSet, LostCaseViewSet
from staff.api import StaffViewSet

app_name = "api"

router = DefaultRouter()
router.register("staff", StaffViewSet, basename="staff")
router.register("clients", ClientViewSet, basename="client")
router.register("contracts", ContractViewSet, basename="contract")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("requests", ClientRequestViewSet, basename="request")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("tasks", TaskViewSet, basename="task")
router.register("lost-cases", LostCaseViewSet, basename="lost-case")
router.register("kpi/monthly", KpiSnapshotViewSet, basename="kpi-monthly")
router.register("kpi", KpiViewSet, basename="kpi")


@extend_schema(
    summary="Get an API token for a username and password",
    request=AuthTokenSerializer,
    responses=with_errors(
        {200: inline_serializer("Token", fields={"token": serializers.CharField()})}, 400
    ),
    auth=[],
)
class TokenView(ObtainAuthToken):
    """``POST auth/token/``: the user's token (created on first use). Throttled per client IP by
    the ``auth`` rate, so passwords cannot be guessed at speed."""

    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
