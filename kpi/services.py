"""Writes of the KPI engine: snapshot recomputation (SPEC §4, §5)."""

from __future__ import annotations

import datetime
import io
import zlib
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bounds import GOAL_CLIENTS_MAX, GOAL_MAX_YEARS_AHEAD, business_date_check
from kpi.metrics import (
    COLUMNS,
    MONEY_FIGURES,
    first_month,
    kpi_table,
    kpi_table_csv,
    kpi_table_records,
)
from kpi.models import Goal, KpiSnapshot, PlannerScenario, ReferralSnapshot
from kpi.planning import PlannerInputs
from kpi.referral_metrics import referral_figures
from kpi.selectors import kpi_history_rows, referral_history_rows
from staff.models import Capability, Role, User

# Serialises concurrent recomputations on PostgreSQL (the nightly job and a director's button).
_LOCK_KEY = zlib.crc32(b"kpi_snapshots_recompute")


def kpi_snapshots_recompute(
    *,
    month_from: datetime.date | None = None,
    month_to: datetime.date | None = None,
    today: datetime.date | None = None,
) -> int:
    """Recompute the snapshots of every scope for the months from ``month_from`` to ``month_to``
    (any day of the month; default: from the first contract's month to the current month) and
    return the number of rows written.

    SPEC §4: the figures come from contract, assignment and case history only, so a recomputation
    gives the same numbers whenever it runs. The range's rows are replaced in one transaction
    (delete, then insert), so a reader sees either the old or the new figures, never a mix; two
    recomputations at once take turns on PostgreSQL (an advisory lock), and the later one wins.
    """
    today = today or timezone.localdate()
    business_date_check(month_from, field="month_from", not_after_today=True, today=today)
    business_date_check(month_to, field="month_to", not_after_today=True, today=today)
    rows = kpi_history_rows()
    month_from = (month_from or first_month(rows) or today).replace(day=1)
    month_to = (month_to or today).replace(day=1)
    if month_from > month_to:
        raise ValidationError({"month_from": _("The first month is after the last month.")})
    table = kpi_table(rows, month_from=month_from, month_to=month_to)
    computed_at = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        KpiSnapshot.objects.filter(month__gte=month_from, month__lte=month_to).delete()
        if _can_copy():
            _snapshots_copy(table, computed_at)
        else:
            _snapshots_insert(kpi_table_records(table), computed_at)
        _referral_snapshots_write(month_from, month_to, computed_at, groups=rows.groups)
    return len(table)


def _referral_snapshots_write(
    month_from: datetime.date,
    month_to: datetime.date,
    computed_at: datetime.datetime,
    *,
    groups,
) -> int:
    """The referral pipeline's figures (SPEC §14) of the same months, replaced in the same
    transaction as the KPI snapshots."""
    leads, calls = referral_history_rows(month_from=month_from, month_to=month_to)
    figures = referral_figures(
        leads, calls, groups=groups, month_from=month_from, month_to=month_to
    )
    ReferralSnapshot.objects.filter(month__gte=month_from, month__lte=month_to).delete()
    ReferralSnapshot.objects.bulk_create(
        [
            ReferralSnapshot(
                month=month, scope=scope, scope_id=scope_id, computed_at=computed_at, **f.as_row()
            )
            for (month, scope, scope_id), f in figures.items()
        ],
        batch_size=1000,
    )
    return len(figures)


def _can_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


def _snapshots_copy(table, computed_at: datetime.datetime) -> None:
    """PostgreSQL ``COPY``: tens of thousands of rows in a fraction of a second."""
    name = connection.ops.quote_name(KpiSnapshot._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in [*COLUMNS, "computed_at"])
    lines = io.StringIO(kpi_table_csv(table, suffix=f",{computed_at.isoformat()}"))
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT csv)", lines)


def _snapshots_insert(records: list[tuple], computed_at: datetime.datetime) -> None:
    money = {COLUMNS.index(name) for name in MONEY_FIGURES}
    snapshots = [
        KpiSnapshot(
            computed_at=computed_at,
            **{
                name: Decimal(value).scaleb(-2) if i in money else value
                for i, (name, value) in enumerate(zip(COLUMNS, record, strict=True))
            },
        )
        for record in records
    ]
    KpiSnapshot.objects.bulk_create(snapshots, batch_size=1000)


# --- the director's goal ----------------------------------------------------------------------


@transaction.atomic
def goal_set(
    *,
    actor: User,
    start_on: datetime.date,
    start_clients: int,
    target_on: datetime.date,
    target_clients: int,
) -> Goal:
    """Set the department's growth goal (SPEC §4 "Goal"): the plan line grows geometrically from
    ``start_clients`` on ``start_on`` to ``target_clients`` on ``target_on``. A new goal is a new
    row, so earlier goals stay on record; the latest one is current. Only the director sets it."""
    if actor.role != Role.DIRECTOR:
        raise PermissionDenied(_("Only the director sets the department's goal."))
    business_date_check(start_on, field="start_on")
    business_date_check(target_on, field="target_on", max_years_ahead=GOAL_MAX_YEARS_AHEAD)
    errors: dict[str, str] = {}
    if start_clients > GOAL_CLIENTS_MAX:
        errors["start_clients"] = _("The starting base cannot exceed %(max)s clients.") % {
            "max": GOAL_CLIENTS_MAX
        }
    if target_clients > GOAL_CLIENTS_MAX:
        errors["target_clients"] = _("The target cannot exceed %(max)s clients.") % {
            "max": GOAL_CLIENTS_MAX
        }
    if start_clients < 1:
        errors["start_clients"] = _("The starting base must be at least one client.")
    if target_clients < max(start_clients, 1):
        errors["target_clients"] = _("The target must not be below the starting base.")
    if target_on <= start_on:
        errors["target_on"] = _("The target date must be after the start date.")
    if errors:
        raise ValidationError(errors)
    goal = Goal(
        start_on=start_on,
        start_clients=start_clients,
        target_on=target_on,
        target_clients=target_clients,
        created_by=actor,
    )
    goal.full_clean()
    goal.save()
    return goal


# --- the growth planner's scenarios -------------------------------------------------------------

SCENARIO_NAME_MAX = 100


@transaction.atomic
def planner_scenario_save(*, actor: User, name: str, inputs: PlannerInputs) -> PlannerScenario:
    """Save the planner's ``inputs`` under ``name`` (SPEC §16) for comparison on one chart.
    Saving under a name already used replaces that scenario's inputs: the name is what the
    director compares by. Only the director saves; mentors read."""
    if not actor.can(Capability.PLANNER_SAVE):
        raise PermissionDenied(_("Only the director saves planner scenarios."))
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the scenario a name.")})
    if len(name) > SCENARIO_NAME_MAX:
        raise ValidationError(
            {
                "name": _("The name cannot be longer than %(max)s characters.")
                % {"max": SCENARIO_NAME_MAX}
            }
        )
    scenario, _created = PlannerScenario.objects.select_for_update().update_or_create(
        name=name, defaults={"inputs": inputs.as_dict(), "created_by": actor}
    )
    return scenario


@transaction.atomic
def planner_scenario_delete(*, actor: User, scenario: PlannerScenario) -> None:
    if not actor.can(Capability.PLANNER_SAVE):
        raise PermissionDenied(_("Only the director deletes planner scenarios."))
    scenario.delete()
