"""The growth planner as the page, the API and the warnings see it (SPEC §16): the inputs
defaulted from history, the projection, its answers, the hiring table and the scenarios to
compare, built from ``kpi.planner_selectors`` reads and ``kpi.planning`` arithmetic."""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.dates import add_months, month_end, month_start
from kpi.metrics import goal_plan_line
from kpi.models import Goal, PlannerScenario
from kpi.planner_selectors import (
    months_to,
    planner_history,
    planner_team,
    requests_per_client,
    scenarios_saved,
    team_counts,
)
from kpi.planning import (
    HiringPlan,
    MonthPoint,
    PlannerInputs,
    customer_targets,
    defaults_from_history,
    hiring_plan,
    inputs_check,
    month_reached,
    project,
    required_referrals,
    team_capacity,
)
from kpi.selectors import goal_current

# Without a goal the planner aims at the customer's: four times the base in three years.
FALLBACK_TARGET_FACTOR = 4


@dataclass
class Projection:
    """One scenario's answers: the trajectory, the month the target is reached (m and its date)
    and the referral rate the target needs by the goal date."""

    name: str
    inputs: PlannerInputs
    points: list[MonthPoint]
    reached: int | None
    reached_on: datetime.date | None
    required_per_100: float | None

    @property
    def required_per_month(self) -> float | None:
        """The required rate as referral clients in the current month (at today's base)."""
        if self.required_per_100 is None:
            return None
        return self.required_per_100 * self.inputs.base / 100

    @property
    def final(self) -> MonthPoint | None:
        return self.points[-1] if self.points else None


@dataclass
class Planner:
    today: datetime.date
    # The end of month 0 is the base now; months[m] is month m's first day (m = 0..H).
    months: list[datetime.date]
    defaults: PlannerInputs
    main: Projection
    targets: Projection
    saved: list[Projection] = field(default_factory=list)
    scenarios: list[PlannerScenario] = field(default_factory=list)
    goal: Goal | None = None
    plan_line: list[int | None] = field(default_factory=list)
    hiring: HiringPlan | None = None
    support_capacity: int | None = None
    has_history: bool = False

    def hiring_rows(self) -> list[dict[str, Any]]:
        """The hiring table's rows with each month's first day (``month_on``) for the page."""
        if self.hiring is None:
            return []
        return [{**asdict(row), "month_on": self.months[row.month]} for row in self.hiring.rows]

    def scenario_rows(self) -> list[tuple[PlannerScenario, Projection | None]]:
        """Each saved scenario with its projection (None when it no longer passes the bounds)."""
        projections = {projection.name: projection for projection in self.saved}
        return [(scenario, projections.get(scenario.name)) for scenario in self.scenarios]

    def chart(self) -> dict[str, Any]:
        """The data of the trajectory chart: month labels and one line per scenario, the goal's
        plan line among them (a saved scenario's line stops at its own horizon)."""
        horizon = len(self.months)
        lines = [
            {"key": "main", "label": _("This forecast"), "values": _line(self.main, horizon)},
            {"key": "plan", "label": _("Goal plan"), "values": self.plan_line},
            {"key": "targets", "label": self.targets.name, "values": _line(self.targets, horizon)},
        ]
        lines += [
            {
                "key": f"saved-{index}",
                "label": projection.name,
                "values": _line(projection, horizon),
            }
            for index, projection in enumerate(self.saved)
        ]
        return {
            "months": [month.isoformat() for month in self.months],
            "target": self.main.inputs.target,
            "target_label": _("Target"),
            "lines": lines,
        }


def _line(projection: Projection, horizon: int) -> list[float | None]:
    values = [float(projection.inputs.base)] + [round(p.base, 1) for p in projection.points]
    return (values + [None] * horizon)[:horizon]


def planner_defaults(today: datetime.date) -> PlannerInputs:
    """SPEC §16's inputs from the last 12 complete months; the target and its month from the
    current goal (without one: four times the base in 36 months)."""
    history = planner_history(today)
    goal = goal_current()
    return defaults_for(history, goal, today)


def defaults_for(history, goal: Goal | None, today: datetime.date) -> PlannerInputs:
    """``planner_defaults`` over rows already read: the goal's target and the months from the last
    complete month to its date (1 to 120); the horizon is at least 36 months and reaches the goal
    date."""
    if goal is not None:
        target, target_month = goal.target_clients, months_to(goal.target_on, today)
    else:
        base = history[-1]["base_end"] if history else 0
        target, target_month = max(1, FALLBACK_TARGET_FACTOR * base), months_to(None, today)
    # A goal date already passed, or beyond the longest horizon, still gives a month to solve for.
    target_month = min(max(target_month, 1), 120)
    return defaults_from_history(
        history, target=target, target_month=target_month, horizon=max(36, target_month)
    )


def inputs_with_defaults(values: dict[str, Any], defaults: PlannerInputs) -> PlannerInputs:
    """``values`` over ``defaults`` (an empty or missing value takes the default), checked:
    ``ValidationError`` names every input out of its range."""
    merged = defaults.as_dict()
    merged.update({key: value for key, value in values.items() if value not in (None, "")})
    return inputs_check(merged)


def project_scenario(
    name: str, inputs: PlannerInputs, *, months: list[datetime.date]
) -> Projection:
    points = project(inputs)
    reached = month_reached(points, inputs.target)
    return Projection(
        name=name,
        inputs=inputs,
        points=points,
        reached=reached,
        reached_on=add_months(months[0], reached) if reached is not None else None,
        required_per_100=required_referrals(inputs),
    )


def planner_build(
    inputs: PlannerInputs | None = None,
    *,
    today: datetime.date,
    with_saved: bool = True,
) -> Planner:
    """Everything the planner page and API show for ``inputs`` (today's defaults when None)."""
    history = planner_history(today)
    goal = goal_current()
    defaults = defaults_for(history, goal, today)
    inputs = inputs or defaults
    month0 = add_months(month_start(today), -1)
    months = [add_months(month0, m) for m in range(inputs.horizon + 1)]
    main = project_scenario(_("This forecast"), inputs, months=months)
    targets = project_scenario(_("Customer's targets"), customer_targets(inputs), months=months)
    scenarios = scenarios_saved() if with_saved else []
    saved = []
    for scenario in scenarios:
        try:
            saved_inputs = inputs_with_defaults(scenario.inputs, defaults)
        except ValidationError:  # saved under older bounds: shown in the list, not charted
            continue
        saved.append(project_scenario(scenario.name, saved_inputs, months=months))
    plan_line: list[int | None] = [None] * len(months)
    if goal is not None:
        plan_line = [
            value if month >= month_start(goal.start_on) else None
            for month, value in zip(months, goal_plan_line(goal, months), strict=True)
        ]
    team = planner_team()
    managers, mentors = team_counts(team)
    return Planner(
        today=today,
        months=months,
        defaults=defaults,
        main=main,
        targets=targets,
        saved=saved,
        scenarios=scenarios,
        goal=goal,
        plan_line=plan_line,
        hiring=_hiring(main.points, team, months, managers, mentors, requests_per_client(history)),
        support_capacity=settings.SUPPORT_CAPACITY_REQUESTS,
        has_history=bool(history),
    )


def _hiring(points, team, months, managers, mentors, per_client) -> HiringPlan:
    ends = [month_end(month) for month in months[1:]]
    return hiring_plan(
        [point.base for point in points],
        team_capacity(team, ends),
        managers=managers,
        mentors=mentors,
        requests_per_client=per_client,
        ramp_months=settings.RAMP_MONTHS,
        month0=months[0],
    )


def hiring_warning(today: datetime.date, *, goal: Goal | object | None = ...) -> HiringPlan | None:
    """The hiring plan at today's rates when a hire-by month is this month or already past
    (SPEC §16: the warning on /team/ and the dashboard); None when nobody needs hiring yet.
    A page that has read the current goal already passes it (one query fewer)."""
    history = planner_history(today)
    if not history:
        return None
    if goal is ...:
        goal = goal_current()
    inputs = replace(defaults_for(history, goal, today), horizon=12)
    month0 = add_months(month_start(today), -1)
    months = [add_months(month0, m) for m in range(inputs.horizon + 1)]
    team = planner_team()
    managers, mentors = team_counts(team)
    plan = _hiring(project(inputs), team, months, managers, mentors, None)
    return plan if plan.hires_due else None


def planner_payload(board: Planner) -> dict[str, Any]:
    """The API's answer (``kpi/planner/``): the inputs used, today's defaults, the answers, the
    trajectory month by month with the goal's plan line, and the hiring table."""
    main = board.main
    hiring = board.hiring
    return {
        "inputs": main.inputs.as_dict(),
        "defaults": board.defaults.as_dict(),
        "reached_month": main.reached_on,
        "reached_in": main.reached,
        "required_referrals_per_100": main.required_per_100,
        "required_referrals_month": main.required_per_month,
        "months": [
            {
                "month": board.months[point.month],
                "m": point.month,
                "base": point.base,
                "mrr": point.mrr,
                "new": point.new,
                "returned": point.returned,
                "lost_controllable": point.lost_controllable,
                "lost_natural": point.lost_natural,
                "plan": board.plan_line[point.month],
            }
            for point in main.points
        ],
        "hiring": {
            "hires_due": hiring.hires_due,
            "hires_late": hiring.hires_late,
            "first_shortfall": hiring.first_shortfall,
            "rows": [
                {**asdict(row), "m": row.month, "month": board.months[row.month]}
                for row in hiring.rows
            ],
        },
    }
