"""Project-level pages: the role-aware start page and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from staff.models import Role

# Where each role starts its day.
_START_PAGE = {
    Role.DIRECTOR: "kpi:dashboard",
    Role.MENTOR: "clients:my",
    Role.CLIENT_MANAGER: "clients:my",
    Role.SALES_MANAGER: "clients:my",
    Role.RETURN_MANAGER: "retention:queue",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        return redirect(reverse(_START_PAGE[request.user.role]))
    except (KeyError, NoReverseMatch):
        return redirect("clients:list")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
