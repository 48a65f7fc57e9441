"""Project-level pages: the role-aware start page and the health check."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET
from django.views.defaults import permission_denied as default_permission_denied

from clients import views as clients_views
from crm import health as health_checks
from retention import views_workspace as retention_workspace
from staff.models import Capability, Role, SecurityEventKind
from staff.security_events import security_event_record

# Where each role starts its day.
_START_PAGE = {
    Role.DIRECTOR: "kpi:dashboard",
    Role.MENTOR: "clients:my",
    Role.CLIENT_MANAGER: "clients:my",
    Role.SALES_MANAGER: "clients:my",
    Role.RETURN_MANAGER: "clients:my",
}

# SPEC §6, §11: one /my/ for every role with a workspace. Which page it is follows from what
# the role works (the first capability the user holds): a book of clients, or lost-client cases.
_WORKSPACES = (
    (Capability.KEEP_BOOK, clients_views.my_workspace),
    (Capability.CASE_WORK, retention_workspace.my_workspace),
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        return redirect(reverse(_START_PAGE[request.user.role]))
    except (KeyError, NoReverseMatch):
        return redirect("clients:list")


@login_required
def my_workspace(request: HttpRequest) -> HttpResponse:
    """/my/: the workspace page of the app whose work the user does; 403 for a role without
    a workspace (the director works from the dashboard)."""
    if request.user.can(Capability.WORKSPACE):
        for capability, view in _WORKSPACES:
            if request.user.can(capability):
                return view(request)
    raise PermissionDenied


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def health_worker(request: HttpRequest) -> JsonResponse:
    """Readiness of the background side, for monitoring and the container healthcheck (not for
    the load balancer: a stuck worker must not take the web pages out of rotation). 200 when the
    database, the broker and a worker answer, else 503; the JSON names the part that is down."""
    checks = {"database": health_checks.database_state(), **health_checks.worker_states()}
    down = [name for name, state in checks.items() if state == health_checks.DOWN]
    return JsonResponse(
        {"status": "down" if down else "ok", "checks": checks, "down": down},
        status=503 if down else 200,
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Every 403 of the pages (``handler403``): recorded as a security event, then Django's page."""
    security_event_record(
        SecurityEventKind.PERMISSION_DENIED,
        request=request,
        status=403,
        message=str(exception)[:300],
    )
    return default_permission_denied(request, exception)
