"""REST API v1 for clients, interactions, requests, referrals and tasks (SPEC §7).

Every queryset starts from ``clients_visible_to(request.user)``, so another manager's object is a
404; writes validate an input serializer and call one service.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from clients import services
from clients.access import (
    clients_editable_by,
    clients_visible_to,
    tasks_answerable_by,
    visible_through,
)
from clients.filters import ClientFilter
from clients.models import (
    Client,
    ClientRequest,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    RequestStatus,
    RequestUrgency,
    Task,
    TaskKind,
)
from clients.selectors import (
    clients_filter_at_risk,
    clients_with_risk,
)
from clients.serializers import (
    ClientCreateSerializer,
    ClientReassignSerializer,
    ClientRequestSerializer,
    ClientSerializer,
    ClientsReassignSerializer,
    ClientUpdateSerializer,
    InteractionSerializer,
    RequestRefuseSerializer,
    RequestRejectRefusalSerializer,
    TaskGiveSerializer,
    TaskSerializer,
)
from core.api import IdFilter, InputSerializersMixin, MomentFilter, StrictBooleanFilter, with_errors
from staff.models import Capability, Role

ReassignResultSerializer = inline_serializer(
    "ClientsReassignResult",
    fields={
        "reassigned": inline_serializer(
            "ReassignedClient",
            fields={"client": serializers.IntegerField(), "manager": serializers.IntegerField()},
            many=True,
        )
    },
)


def _fake(view) -> bool:
    """True while drf-spectacular inspects the view without a real request."""
    return getattr(view, "swagger_fake_view", False)


def _require_editable(user, client: Client) -> None:
    """A client one may read but not work (a return manager's unclaimed pool) → 403."""
    if not clients_editable_by(user).filter(pk=client.pk).exists():
        raise PermissionDenied(_("You can read this client but not change it."))


# --- clients --------------------------------------------------------------------------------


class ClientApiFilter(ClientFilter):
    """The clients page's ``ClientFilter`` plus ``at_risk`` (see
    ``clients.selectors.clients_with_risk``)."""

    at_risk = StrictBooleanFilter(method="filter_at_risk", label=_("At risk"))

    def filter_at_risk(self, queryset, name, value):
        return clients_filter_at_risk(queryset, value)


@extend_schema_view(
    list=extend_schema(summary="Clients the caller can see"),
    retrieve=extend_schema(
        summary="One client", responses=with_errors({200: ClientSerializer}, 404)
    ),
)
class ClientViewSet(
    InputSerializersMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ClientSerializer
    input_serializer_classes = {"POST": ClientCreateSerializer, "PATCH": ClientUpdateSerializer}
    filterset_class = ClientApiFilter
    action_capabilities = {
        "create": Capability.CLIENT_CREATE,
        # The service checks the object: a mentor only within the group, a sales manager only
        # their own won clients (SPEC §3.1).
        "reassign": Capability.CLIENT_REASSIGN,
        "reassign_many": Capability.CLIENT_REASSIGN,
    }

    def get_queryset(self):
        if _fake(self):
            return Client.objects.none()
        return clients_with_risk(clients_visible_to(self.request.user)).order_by("name", "pk")

    def _read(self, client: Client) -> dict:
        client = clients_with_risk(Client.objects.filter(pk=client.pk)).get()
        return ClientSerializer(client, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Create a client",
        request=ClientCreateSerializer,
        responses=with_errors({201: ClientSerializer}, 400, 403),
    )
    def create(self, request):
        serializer = ClientCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        client = services.client_create(actor=request.user, **serializer.validated_data)
        return Response(self._read(client), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Edit a client's details",
        request=ClientUpdateSerializer,
        responses=with_errors({200: ClientSerializer}, 400, 403, 404),
    )
    def partial_update(self, request, pk=None):
        client = self.get_object()
        _require_editable(request.user, client)
        serializer = ClientUpdateSerializer(
            client, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.client_update(actor=request.user, client=client, **serializer.validated_data)
        return Response(self._read(client))

    @extend_schema(
        summary="Give the client to another manager",
        request=ClientReassignSerializer,
        responses=with_errors({200: ClientSerializer}, 400, 403, 404),
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        client = self.get_object()
        serializer = ClientReassignSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.client_reassign(actor=request.user, client=client, **serializer.validated_data)
        return Response(self._read(client))

    @extend_schema(
        operation_id="clients_reassign_many",
        summary="Give a selection of clients to another manager, or spread them",
        description=(
            "All or nothing, with the rules of the single reassign for each client. "
            '`manager` is a person\'s id or `"spread"`: each client then goes to the rest of its '
            "manager's group, least loaded relative to effective capacity first, nobody above "
            "capacity while anyone has room."
        ),
        request=ClientsReassignSerializer,
        responses=with_errors({200: ReassignResultSerializer}, 400, 403),
    )
    @action(detail=False, methods=["post"], url_path="reassign", url_name="reassign-many")
    def reassign_many(self, request):
        serializer = ClientsReassignSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            assignments = services.clients_reassign_many(
                actor=request.user,
                clients=data["clients"],
                target=data["manager"],
                effective_on=data.get("effective_on"),
                reason=data["reason"],
            )
        except DjangoValidationError as error:  # the service's "target" is this body's "manager"
            raise services.rename_error_field(error, "target", "manager") from None
        return Response(
            {"reassigned": [{"client": a.client_id, "manager": a.manager_id} for a in assignments]}
        )


# --- interactions ---------------------------------------------------------------------------


class InteractionFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)
    outcome = django_filters.ChoiceFilter(choices=InteractionOutcome.choices)
    occurred_from = MomentFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_to = MomentFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields: list[str] = []


@extend_schema_view(list=extend_schema(summary="Logged contacts with visible clients"))
class InteractionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter

    def get_queryset(self):
        if _fake(self):
            return Interaction.objects.none()
        rows = Interaction.objects.filter(visible_through(self.request.user))
        if self.request.user.role in (Role.CLIENT_MANAGER, Role.SALES_MANAGER):
            # The same order, spelled so that PostgreSQL does not walk the time index of
            # millions of interactions for the few of one book: it reads the book's rows through
            # the client index and sorts those (SPEC §9). A mentor's group is large enough for
            # the time index to win.
            return rows.order_by(Coalesce("occurred_at", "occurred_at").desc(), "-pk")
        return rows.order_by("-occurred_at", "-pk")

    @extend_schema(
        summary="Log a call, meeting or message (the caller is the employee)",
        responses=with_errors({201: InteractionSerializer}, 400),
    )
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = services.interaction_log(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(interaction).data, status=status.HTTP_201_CREATED)


# --- requests -------------------------------------------------------------------------------


class ClientRequestFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    urgency = django_filters.ChoiceFilter(choices=RequestUrgency.choices)

    class Meta:
        model = ClientRequest
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="Requests of visible clients"),
    retrieve=extend_schema(
        summary="One request", responses=with_errors({200: ClientRequestSerializer}, 404)
    ),
)
class ClientRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ClientRequestSerializer
    filterset_class = ClientRequestFilter

    def get_queryset(self):
        if _fake(self):
            return ClientRequest.objects.none()
        return ClientRequest.objects.filter(visible_through(self.request.user)).order_by(
            "-opened_at", "-pk"
        )

    def _done(self, client_request: ClientRequest) -> Response:
        client_request.refresh_from_db()
        return Response(self.get_serializer(client_request).data)

    @extend_schema(
        summary="Log a client's request (the due time follows the SLA)",
        responses=with_errors({201: ClientRequestSerializer}, 400),
    )
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client_request = services.client_request_create(
            actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(client_request).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark the request resolved",
        request=None,
        responses=with_errors({200: ClientRequestSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        client_request = self.get_object()
        services.client_request_resolve(actor=request.user, request=client_request)
        return self._done(client_request)

    @extend_schema(
        summary="Ask to refuse the request: the mentor (or the director) must approve",
        request=RequestRefuseSerializer,
        responses=with_errors({200: ClientRequestSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        client_request = self.get_object()
        serializer = RequestRefuseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.client_request_refuse(
            actor=request.user, request=client_request, **serializer.validated_data
        )
        return self._done(client_request)

    @extend_schema(
        summary="Approve a pending refusal (the manager's mentor or the director)",
        request=None,
        responses=with_errors({200: ClientRequestSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"], url_path="approve-refusal")
    def approve_refusal(self, request, pk=None):
        client_request = self.get_object()
        services.client_request_approve_refusal(actor=request.user, request=client_request)
        return self._done(client_request)

    @extend_schema(
        summary="Reject a pending refusal: the request goes back to work",
        request=RequestRejectRefusalSerializer,
        responses=with_errors({200: ClientRequestSerializer}, 400, 403, 404, 409),
    )
    @action(detail=True, methods=["post"], url_path="reject-refusal")
    def reject_refusal(self, request, pk=None):
        client_request = self.get_object()
        serializer = RequestRejectRefusalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.client_request_reject_refusal(
            actor=request.user, request=client_request, **serializer.validated_data
        )
        return self._done(client_request)


# --- tasks ----------------------------------------------------------------------------------


class TaskFilter(django_filters.FilterSet):
    done = StrictBooleanFilter(
        field_name="done_at", lookup_expr="isnull", exclude=True, label=_("Done")
    )
    kind = django_filters.ChoiceFilter(choices=TaskKind.choices)

    class Meta:
        model = Task
        fields: list[str] = []


@extend_schema_view(list=extend_schema(summary="The caller's own tasks"))
class TaskViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    def get_serializer_class(self):
        return TaskGiveSerializer if self.action == "create" else TaskSerializer

    @extend_schema(
        summary="Give a task to a colleague or to oneself (the assignee is notified)",
        request=TaskGiveSerializer,
        responses=with_errors({201: TaskSerializer}, 400, 403),
    )
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_give(actor=request.user, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def get_queryset(self):
        if _fake(self):
            return Task.objects.none()
        if self.action == "done":
            # The page's rule: the director may close anyone's task (clients.access).
            return tasks_answerable_by(self.request.user)
        return Task.objects.filter(assignee=self.request.user).order_by("due_on", "pk")

    @extend_schema(
        summary="Mark the task done",
        request=None,
        responses=with_errors({200: TaskSerializer}, 400, 404, 409),
    )
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        task = services.task_complete(actor=request.user, task=self.get_object())
        return Response(self.get_serializer(task).data)
