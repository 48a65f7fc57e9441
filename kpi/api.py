"""REST API v1 for KPIs (SPEC §4, §7): stored monthly snapshots, the director's summary and a
queued recompute.

Who reads which snapshots: the director every scope; a mentor their group's row and the rows of
the group's members (themselves included); everyone else only their own manager row.
"""

from __future__ import annotations

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import IdFilter, with_errors
from kpi.access import kpi_snapshots_visible_to
from kpi.models import KpiSnapshot, Scope
from kpi.selectors import kpi_summary
from kpi.serializers import (
    MONTH_SCHEMA,
    KpiRecomputeQueuedSerializer,
    KpiRecomputeSerializer,
    KpiSnapshotSerializer,
    KpiSummaryQuerySerializer,
    KpiSummarySerializer,
)
from kpi.tasks import enqueue_kpi_recompute
from staff.models import Capability


@extend_schema_field(MONTH_SCHEMA)
class MonthFilter(django_filters.DateFilter):
    """``YYYY-MM``, compared with the snapshot's month (its first day)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "month")
        kwargs.setdefault("input_formats", ["%Y-%m"])
        super().__init__(*args, **kwargs)


class KpiSnapshotFilter(django_filters.FilterSet):
    month = MonthFilter(label=_("Month"))
    month_from = MonthFilter(lookup_expr="gte", label=_("From month"))
    month_to = MonthFilter(lookup_expr="lte", label=_("To month"))
    scope = django_filters.ChoiceFilter(choices=Scope.choices, label=_("Scope"))
    scope_id = IdFilter(label=_("Scope id"))

    class Meta:
        model = KpiSnapshot
        fields: list[str] = []


@extend_schema(summary="Monthly KPI snapshots (SPEC §4), oldest month first")
class KpiSnapshotViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = KpiSnapshotSerializer
    filterset_class = KpiSnapshotFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KpiSnapshot.objects.none()
        return kpi_snapshots_visible_to(self.request.user).order_by(
            "month", "scope", "scope_id", "pk"
        )


class KpiViewSet(viewsets.GenericViewSet):
    """The department's headline figures and the recompute button: the director's."""

    action_capabilities = {
        "summary": Capability.KPI_DEPARTMENT,
        "recompute": Capability.KPI_DEPARTMENT,
    }
    serializer_class = KpiSummarySerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        summary="Department KPIs on a day (director)",
        parameters=[KpiSummaryQuerySerializer],
        responses=with_errors({200: KpiSummarySerializer}, 400, 403),
    )
    @action(detail=False, methods=["get"])
    def summary(self, request):
        query = KpiSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        return Response(KpiSummarySerializer(kpi_summary(as_of)).data)

    @extend_schema(
        summary="Queue a recompute of the snapshots (director)",
        request=KpiRecomputeSerializer,
        responses=with_errors({202: KpiRecomputeQueuedSerializer}, 400, 403, 503),
    )
    @action(detail=False, methods=["post"])
    def recompute(self, request):
        serializer = KpiRecomputeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task_id = enqueue_kpi_recompute(**serializer.validated_data)
        return Response({"task_id": task_id}, status=status.HTTP_202_ACCEPTED)
