"""The demo company's saved growth planner scenarios (SPEC §16): what a director would try
first against today's rates — more referrals, and half the controllable churn."""

from __future__ import annotations

from dataclasses import replace

from kpi.planning import PlannerInputs, defaults_from_history
from kpi.services import planner_scenario_save
from staff.models import User

# The referral clients a month the first scenario asks for: between today's ≈ 40 and the
# customer's 100.
REFERRALS_MONTH = 70


def planner_scenarios_seed(director: User, *, months, target: int, target_month: int) -> None:
    """Two scenarios from the 12 complete months ``months`` (department rows, oldest first)."""
    today = defaults_from_history(
        months, target=target, target_month=target_month, horizon=max(36, target_month)
    )
    if not today.base:
        return
    scenarios: dict[str, PlannerInputs] = {
        f"Рекомендации: {REFERRALS_MONTH} в месяц": replace(
            today, referrals_per_100=REFERRALS_MONTH * 100 / today.base
        ),
        "Управляемый отток вдвое ниже": replace(
            today, churn_controllable=today.churn_controllable / 2
        ),
    }
    for name, inputs in scenarios.items():
        planner_scenario_save(actor=director, name=name, inputs=inputs)
