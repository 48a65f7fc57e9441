"""The growth planner page (SPEC §16), mounted at /planner/: inputs prefilled from today's rates,
the trajectory against the goal, the month the target is reached, the referral rate it needs,
saved scenarios on one chart and the hiring table. The inputs are a GET form, so every forecast
has a link; htmx swaps the results in as they change, and the page works without JavaScript."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kpi.forms import PlannerForm
from kpi.models import PlannerScenario
from kpi.planner import inputs_with_defaults, planner_build, planner_defaults
from kpi.planning import CAPACITY
from kpi.services import planner_scenario_delete, planner_scenario_save
from staff.models import Capability

PAGE = "kpi/planner.html"


def _planner_viewer(request: HttpRequest) -> None:
    if not request.user.can(Capability.PLANNER_VIEW):
        raise PermissionDenied(_("The planner is for the director and mentors."))


@require_GET
@login_required
def planner(request: HttpRequest) -> HttpResponse:
    _planner_viewer(request)
    today = timezone.localdate()
    defaults = planner_defaults(today)
    form = PlannerForm(request.GET or None, initial=PlannerForm.initial_from(defaults))
    inputs, status = defaults, 200
    if form.is_bound:
        if form.is_valid():
            try:
                inputs = inputs_with_defaults(form.planner_values(), defaults)
            except ValidationError as error:
                form.add_planner_errors(error)
        if form.errors:
            # The forecast stays on today's rates and the fields say what to fix; a page load
            # with bad input is a 400 (an htmx swap is a 200, or htmx would not show the errors).
            inputs, status = defaults, 200 if request.htmx else 400
    board = planner_build(inputs, today=today)
    context = {
        "form": form,
        "board": board,
        "can_save": request.user.can(Capability.PLANNER_SAVE),
        "invalid": bool(form.errors),
        "current_values": PlannerForm.initial_from(board.main.inputs),
        "scenario_rows": [
            {
                "scenario": scenario,
                "projection": projection,
                # The link that opens the scenario's inputs in the form (in the form's units).
                "query": urlencode(PlannerForm.initial_from(projection.inputs))
                if projection
                else "",
            }
            for scenario, projection in board.scenario_rows()
        ],
        "capacity": CAPACITY,
        "ramp_months": settings.RAMP_MONTHS,
        "perms_planner": True,
    }
    if request.htmx and request.htmx.target == "planner-results":
        return render(request, f"{PAGE}#planner-results", context, status=status)
    return render(request, PAGE, context, status=status)


@require_POST
@login_required
def scenario_save(request: HttpRequest) -> HttpResponse:
    _planner_viewer(request)
    today = timezone.localdate()
    form = PlannerForm(request.POST)
    back = f"{reverse('planner:page')}?{urlencode(_inputs_query(request.POST))}"
    if not form.is_valid():
        messages.error(request, _("The scenario was not saved: fix the inputs first."))
        return redirect(back)
    try:
        inputs = inputs_with_defaults(form.planner_values(), planner_defaults(today))
        scenario = planner_scenario_save(
            actor=request.user, name=request.POST.get("name", ""), inputs=inputs
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(request, _("Scenario “%(name)s” saved.") % {"name": scenario.name})
    return redirect(back)


@require_POST
@login_required
def scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _planner_viewer(request)
    scenario = get_object_or_404(PlannerScenario, pk=pk)
    planner_scenario_delete(actor=request.user, scenario=scenario)
    messages.success(request, _("Scenario “%(name)s” deleted.") % {"name": scenario.name})
    return redirect("planner:page")


def _inputs_query(data) -> dict[str, str]:
    """The planner inputs of a POST, to return to the same forecast."""
    fields = PlannerForm().fields
    return {name: data[name] for name in fields if data.get(name) not in (None, "")}
