"""REST API v1 for the staff (SPEC §7 ``staff/``).

Reading: the director sees everyone; a mentor their group; a return or sales manager themselves and
the active client managers and mentors they hand clients to; a client manager only themselves
(``staff.access.staff_visible_to``). Hiring and dismissing are the director's.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import IdFilter, InputSerializersMixin, StrictBooleanFilter, with_errors
from staff.access import staff_visible_to
from staff.models import Capability, Role, User
from staff.services import staff_create
from team.serializers import StaffCreateSerializer, StaffDismissSerializer, StaffSerializer
from team.services import staff_dismiss

DismissResultSerializer = inline_serializer(
    "StaffDismissResult",
    fields={
        "staff": StaffSerializer(),
        "handover": inline_serializer(
            "HandoverResult",
            fields={"client": serializers.IntegerField(), "manager": serializers.IntegerField()},
            many=True,
        ),
    },
)


class StaffFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = StrictBooleanFilter()
    mentor = IdFilter(field_name="mentor_id")

    class Meta:
        model = User
        fields: list[str] = []


@extend_schema_view(list=extend_schema(summary="Staff the caller can see"))
class StaffViewSet(InputSerializersMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = StaffSerializer
    input_serializer_classes = {"POST": StaffCreateSerializer}
    filterset_class = StaffFilter
    action_capabilities = {
        "create": Capability.STAFF_MANAGE,
        "dismiss": Capability.STAFF_MANAGE,
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return staff_visible_to(self.request.user).order_by("full_name", "pk")

    @extend_schema(
        summary="Hire: create an employee (director)",
        request=StaffCreateSerializer,
        responses=with_errors({201: StaffSerializer}, 400, 403),
    )
    def create(self, request):
        serializer = StaffCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        user = staff_create(actor=request.user, **serializer.validated_data)
        return Response(StaffSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Dismiss and hand over every client at once (director)",
        request=StaffDismissSerializer,
        responses=with_errors({200: DismissResultSerializer}, 400, 403, 404),
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        user = self.get_object()
        serializer = StaffDismissSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        assignments = staff_dismiss(actor=request.user, user=user, **serializer.validated_data)
        user.refresh_from_db()
        return Response(
            {
                "staff": StaffSerializer(user).data,
                "handover": [{"client": a.client_id, "manager": a.manager_id} for a in assignments],
            }
        )
