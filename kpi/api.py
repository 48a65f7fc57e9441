"""REST API v1 for KPIs (SPEC §4, §7): stored monthly snapshots, the director's summary and a
queued recompute.

Who reads which snapshots: the director every scope; a mentor their group's row and the rows of
the group's members (themselves included); everyone else only their own manager row.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import IdFilter, with_errors
from kpi.access import kpi_snapshots_visible_to
from kpi.models import KpiSnapshot, PlannerScenario, Scope
from kpi.planner import inputs_with_defaults, planner_build, planner_defaults, planner_payload
from kpi.planning import PlannerInputs
from kpi.selectors import kpi_summary
from kpi.serializers import (
    MONTH_SCHEMA,
    KpiRecomputeQueuedSerializer,
    KpiRecomputeSerializer,
    KpiSnapshotSerializer,
    KpiSummaryQuerySerializer,
    KpiSummarySerializer,
    PlannerInputsSerializer,
    PlannerResultSerializer,
    PlannerScenarioInputSerializer,
    PlannerScenarioSerializer,
)
from kpi.services import planner_scenario_delete, planner_scenario_save
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
        "planner": Capability.PLANNER_VIEW,
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

    @extend_schema(
        summary="Growth forecast and hiring table for given inputs (director and mentors)",
        description=(
            "SPEC §16. Every input left out takes today's default (the last 12 complete months "
            "of the department's figures and the current goal); the answer says which were used. "
            "Nothing is stored."
        ),
        request=PlannerInputsSerializer,
        responses=with_errors({200: PlannerResultSerializer}, 400, 403),
    )
    @action(detail=False, methods=["post"])
    def planner(self, request):
        serializer = PlannerInputsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        today = timezone.localdate()
        inputs = _planner_inputs(serializer.validated_data, planner_defaults(today))
        board = planner_build(inputs, today=today, with_saved=False)
        return Response(PlannerResultSerializer(planner_payload(board)).data)


def _planner_inputs(values: dict, defaults) -> PlannerInputs:
    """``values`` over ``defaults``, with the planner's own rule (``inputs_check``) as field
    errors: what the serializer's bounds cannot see, such as churn above the whole base."""
    try:
        return inputs_with_defaults(values, defaults)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from None


class PlannerScenarioViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The growth planner's saved scenarios (SPEC §16): mentors read them, the director saves
    and deletes."""

    action_capabilities = {
        "list": Capability.PLANNER_VIEW,
        "create": Capability.PLANNER_SAVE,
        "destroy": Capability.PLANNER_SAVE,
    }
    serializer_class = PlannerScenarioSerializer
    pagination_class = None
    filter_backends: list = []
    queryset = PlannerScenario.objects.select_related("created_by").order_by("name", "pk")

    @extend_schema(summary="Saved planner scenarios, by name")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Save planner inputs under a name (director)",
        description="Saving under a name already used replaces that scenario's inputs.",
        request=PlannerScenarioInputSerializer,
        responses=with_errors({201: PlannerScenarioSerializer}, 400, 403),
    )
    def create(self, request):
        serializer = PlannerScenarioInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        inputs = _planner_inputs(data.get("inputs", {}), planner_defaults(timezone.localdate()))
        scenario = planner_scenario_save(actor=request.user, name=data["name"], inputs=inputs)
        return Response(PlannerScenarioSerializer(scenario).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Delete a saved scenario (director)",
        responses=with_errors({204: None}, 403, 404),
    )
    def destroy(self, request, *args, **kwargs):
        planner_scenario_delete(actor=request.user, scenario=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
