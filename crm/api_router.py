"""The one router of REST API v1 (SPEC §7), mounted at ``/api/v1/`` by ``crm.urls``.

Besides the resources: ``auth/token/`` (a token for ``{username, password}``, throttled), the
OpenAPI schema at ``schema/`` and its browsable docs at ``docs/`` (Swagger UI from the vendored
sidecar files, no CDN).
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clients.api import (
    ClientRequestViewSet,
    ClientViewSet,
    InteractionViewSet,
    TaskViewSet,
)
from core.api import DetailSerializer, ScopedRateThrottle, with_errors
from kpi.api import KpiSnapshotViewSet, KpiViewSet, PlannerScenarioViewSet
from referrals.api import ReferralViewSet
from retention.api import ContractViewSet, LostCaseViewSet
from staff.two_factor import lockout_response, otp_required, totp_user_verify
from team.api import StaffViewSet

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
router.register("kpi/planner/scenarios", PlannerScenarioViewSet, basename="planner-scenario")
router.register("kpi", KpiViewSet, basename="kpi")


@extend_schema(
    summary="Get an API token for a username and password",
    request=inline_serializer(
        "TokenRequest",
        fields={
            "username": serializers.CharField(),
            "password": serializers.CharField(),
            "otp_token": serializers.CharField(
                required=False,
                help_text="The current code of the authenticator app, for users with two-factor sign-in.",
            ),
        },
    ),
    responses=with_errors(
        {
            200: inline_serializer("Token", fields={"token": serializers.CharField()}),
            429: OpenApiResponse(
                DetailSerializer,
                description="Too many failed sign-ins of this username from this address.",
            ),
        },
        400,
    ),
    auth=[],
)
class TokenView(ObtainAuthToken):
    """``POST auth/token/``: the user's token (created on first use). Throttled per client IP by
    the ``auth`` rate, so passwords cannot be guessed at speed.

    The password goes through ``authenticate`` with the request, so the login-attempt counter
    (django-axes) counts failures here as on the login page: a locked (username, address) pair
    gets 429. A user with two-factor sign-in also sends ``otp_token``. Failures are answered, not
    raised, so no request transaction rolls back the attempt records (RELIABILITY R10, R11, R16).
    """

    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        user = serializer.validated_data["user"]
        if (
            otp_required(user)
            and totp_user_verify(user, str(request.data.get("otp_token") or "")) is None
        ):
            return Response(
                {"otp_token": [_("Enter the current code of your authenticator app.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        # A token is a sign-in: the attempt count of the pair is cleared, last_login updated.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
