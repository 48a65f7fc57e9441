"""The demo's growth planner (SPEC §16) opens on the seeded company's own year: two saved
scenarios built from the 12 complete months before the seeding day, which differ from today's
rates by exactly what their names say."""

from __future__ import annotations

import pytest

from kpi.models import PlannerScenario
from kpi.planner import defaults_for, inputs_with_defaults
from kpi.planner_selectors import planner_history
from kpi.planning import PlannerInputs
from kpi.selectors import goal_current
from kpi.services import kpi_snapshots_recompute
from staff.models import User
from tests.demo.conftest import TODAY


def test_the_demo_saves_two_scenarios_against_its_own_rates(demo):
    scenarios = {s.name: PlannerInputs(**s.inputs) for s in PlannerScenario.objects.all()}
    assert sorted(scenarios) == ["Рекомендации: 70 в месяц", "Управляемый отток вдвое ниже"]
    referrals = scenarios["Рекомендации: 70 в месяц"]
    halved = scenarios["Управляемый отток вдвое ниже"]
    assert referrals.referrals_per_100 * referrals.base / 100 == pytest.approx(70)
    assert halved.churn_controllable * 2 == pytest.approx(referrals.churn_controllable)
    assert halved.referrals_per_100 < referrals.referrals_per_100
    assert (halved.target, halved.target_month) == (600, 37)  # ×4 in three years, to June 2029
    assert (
        PlannerScenario.objects.filter(created_by=User.objects.get(username="director")).count()
        == 2
    )


def test_the_scenarios_match_the_planners_defaults_once_the_figures_are_computed(demo):
    """The planner's defaults, read from the stored snapshots, are the rates the scenarios were
    built from: only the changed input differs."""
    kpi_snapshots_recompute(month_to=TODAY.replace(day=1))
    defaults = defaults_for(planner_history(TODAY), goal_current(), TODAY)
    halved = PlannerScenario.objects.get(name="Управляемый отток вдвое ниже").inputs
    assert inputs_with_defaults(halved, defaults).as_dict() == pytest.approx(
        {**defaults.as_dict(), "churn_controllable": defaults.churn_controllable / 2}
    )
