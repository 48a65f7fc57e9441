"""The growth planner and the capacity forecast of SPEC §16, as pure functions.

Nothing here touches the database: ``kpi.planner_selectors`` loads the history and the team,
these functions do the arithmetic, and the page and the API show what they return.

Months are counted from the last complete month (m = 0, whose end is the base ``B0``); m = 1 is the
current month, m = H the horizon. Fractions of clients are kept through the whole recurrence; only
the page rounds them.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.dates import add_months
from staff.capacity import Staffed, effective_capacity, ramp_factor
from staff.models import DEFAULT_CAPACITY

# SPEC §16: a client manager serves CAPACITY clients at full ramp (the default capacity of a new
# person); a hire takes RAMP_MONTHS to get there (the RAMP_MONTHS setting overrides it); one
# mentor per MENTEES_PER_MENTOR client managers.
CAPACITY = DEFAULT_CAPACITY
RAMP_MONTHS = 4
RAMP_MONTHS_RANGE = (3, 6)
MENTEES_PER_MENTOR = 5
HORIZON_DEFAULT = 36
HORIZON_MAX = 120
# The solver's precision in referrals per 100 clients per month, and how high it looks: a rate of
# 100 doubles the base every month, so a target it cannot reach is unreachable by referrals.
SOLVER_STEP = 0.01
SOLVER_MAX_RATE = 100.0

# SPEC §1, the customer's targets: annual churn 5 %, 100 referral clients a month, 70 % returns.
CUSTOMER_ANNUAL_CHURN = 0.05
CUSTOMER_REFERRALS_MONTH = 100
CUSTOMER_RETURN_RATE = 0.70


@dataclass(frozen=True)
class Bound:
    label: str
    minimum: float
    maximum: float
    integer: bool = False
    help: str = ""


# The sane range of every input (SPEC §10, §16), read by the page's form, the API's serializer
# and ``inputs_check`` alike. Rates are monthly shares; "per 100" is referral clients per 100
# clients in the base per month.
BOUNDS: dict[str, Bound] = {
    "base": Bound(gettext_lazy("Base now (clients)"), 0, 10_000_000, integer=True),
    "churn_controllable": Bound(
        gettext_lazy("Controllable churn a month"),
        0,
        1,
        help=gettext_lazy("Share of the base lost each month for reasons we can influence."),
    ),
    "churn_natural": Bound(
        gettext_lazy("Natural churn a month"),
        0,
        1,
        help=gettext_lazy("Liquidations and mergers: share of the base lost each month."),
    ),
    "referrals_per_100": Bound(
        gettext_lazy("Referrals per 100 clients a month"), 0, SOLVER_MAX_RATE
    ),
    "active_sales": Bound(gettext_lazy("Active sales a month"), 0, 1_000_000),
    "inbound": Bound(gettext_lazy("Inbound clients a month"), 0, 1_000_000),
    "return_rate": Bound(
        gettext_lazy("Return rate"),
        0,
        1,
        help=gettext_lazy("Share of controllable losses won back about two months later."),
    ),
    "fee": Bound(gettext_lazy("Mean monthly fee, ₽"), 0, 10_000_000),
    "horizon": Bound(gettext_lazy("Horizon, months"), 1, HORIZON_MAX, integer=True),
    "target": Bound(gettext_lazy("Target clients"), 1, 10_000_000, integer=True),
    "target_month": Bound(
        gettext_lazy("Target by month"),
        1,
        HORIZON_MAX,
        integer=True,
        help=gettext_lazy("Months from the last complete month to the goal date."),
    ),
}


@dataclass(frozen=True)
class PlannerInputs:
    """SPEC §16's inputs: ``B0``, ``c``, ``n``, ``r``, ``s``, ``i``, ``w``, ``f``, ``H``, and the
    target with the month (counted from m = 0) by which the goal wants it."""

    base: float
    churn_controllable: float
    churn_natural: float
    referrals_per_100: float
    active_sales: float
    inbound: float
    return_rate: float
    fee: float
    horizon: int = HORIZON_DEFAULT
    target: int = 6000
    target_month: int = HORIZON_DEFAULT

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def inputs_check(values: Mapping[str, object]) -> PlannerInputs:
    """``PlannerInputs`` from plain values, or ``ValidationError({field: …})`` naming every input
    that is missing, not a number or out of its range (SPEC §10). Monthly churn, controllable and
    natural together, cannot exceed the whole base."""
    errors: dict[str, str] = {}
    clean: dict[str, float | int] = {}
    for name, bound in BOUNDS.items():
        raw = values.get(name)
        try:
            number = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors[name] = _("Enter a number.")
            continue
        if not math.isfinite(number):
            errors[name] = _("Enter a number.")
        elif bound.integer and number != int(number):
            errors[name] = _("Enter a whole number.")
        elif not bound.minimum <= number <= bound.maximum:
            errors[name] = _("Enter a value between %(low)s and %(high)s.") % {
                "low": _format_bound(bound.minimum),
                "high": _format_bound(bound.maximum),
            }
        else:
            clean[name] = int(number) if bound.integer else number
    if not errors and clean["churn_controllable"] + clean["churn_natural"] > 1:
        errors["churn_natural"] = _(
            "Controllable and natural churn together cannot exceed the whole base."
        )
    if errors:
        raise ValidationError(errors)
    return PlannerInputs(**clean)  # type: ignore[arg-type]


def _format_bound(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{int(value):,}".replace(",", " ")


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthPoint:
    """One month of the projection: the flows of SPEC §16 and the base and MRR at its end."""

    month: int
    lost_controllable: float
    lost_natural: float
    new: float
    returned: float
    base: float
    mrr: float


def project(inputs: PlannerInputs, *, horizon: int | None = None) -> list[MonthPoint]:
    """SPEC §16 month by month, m = 1..H (``horizon`` overrides H)::

    lost_c(m)   = c · B(m−1)          lost_n(m) = n · B(m−1)
    new(m)      = r · B(m−1) / 100 + s + i
    returned(m) = w · lost_c(m−2)     (0 for m ≤ 2: the free month and the return take two)
    B(m)        = B(m−1) + new + returned − lost_c − lost_n,   MRR(m) = B(m) · f
    """
    months = inputs.horizon if horizon is None else horizon
    base = float(inputs.base)
    lost_history: list[float] = []
    points = []
    for month in range(1, months + 1):
        lost_c = inputs.churn_controllable * base
        lost_n = inputs.churn_natural * base
        new = inputs.referrals_per_100 * base / 100 + inputs.active_sales + inputs.inbound
        returned = inputs.return_rate * lost_history[month - 3] if month > 2 else 0.0
        base = base + new + returned - lost_c - lost_n
        lost_history.append(lost_c)
        points.append(MonthPoint(month, lost_c, lost_n, new, returned, base, base * inputs.fee))
    return points


def month_reached(points: Sequence[MonthPoint], target: float) -> int | None:
    """The first month whose base reaches ``target``, or None: "not within H months"."""
    return next((point.month for point in points if point.base >= target), None)


def base_at(inputs: PlannerInputs, month: int) -> float:
    """B(month); B0 for month 0."""
    return project(inputs, horizon=month)[-1].base if month > 0 else float(inputs.base)


def required_referrals(inputs: PlannerInputs) -> float | None:
    """SPEC §16: the referrals per 100 clients a month (``r``) that bring the base to the target
    by ``target_month`` with every other input fixed, found by bisection to 0.01 and rounded up to
    the step, so that the answer reaches the target and 0.01 less does not. 0 when the target is
    reached without referrals; None when even ``SOLVER_MAX_RATE`` does not reach it.

    The base at a given month never falls as ``r`` grows (every term of the recurrence is
    non-decreasing in the previous base while c + n ≤ 1), which is what makes bisection sound."""

    def reaches(rate: float) -> bool:
        return base_at(replace(inputs, referrals_per_100=rate), inputs.target_month) >= (
            inputs.target
        )

    if reaches(0.0):
        return 0.0
    if not reaches(SOLVER_MAX_RATE):
        return None
    low, high = 0, round(SOLVER_MAX_RATE / SOLVER_STEP)  # in steps of 0.01, exact integers
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle * SOLVER_STEP):
            high = middle
        else:
            low = middle
    return round(high * SOLVER_STEP, 2)


def monthly_rate(annual: float) -> float:
    """The monthly share that compounds to ``annual`` over twelve months (5 %/yr ≈ 0.427 %)."""
    return 1 - (1 - annual) ** (1 / 12)


def customer_targets(inputs: PlannerInputs) -> PlannerInputs:
    """The built-in "customer's targets" scenario (SPEC §1, §16): churn 5 % a year in all, 100
    referral clients a month at today's base, 70 % of lost clients won back; the rest as today.
    Natural churn (liquidations) stays as it is, up to the 5 %; controllable churn is the rest."""
    churn = monthly_rate(CUSTOMER_ANNUAL_CHURN)
    natural = min(inputs.churn_natural, churn)
    per_100 = CUSTOMER_REFERRALS_MONTH * 100 / inputs.base if inputs.base else 0.0
    return replace(
        inputs,
        churn_controllable=churn - natural,
        churn_natural=natural,
        referrals_per_100=min(per_100, SOLVER_MAX_RATE),
        return_rate=CUSTOMER_RETURN_RATE,
    )


# --- defaults from history ----------------------------------------------------------------------


def defaults_from_history(
    months: Sequence[Mapping[str, float]],
    *,
    target: int,
    target_month: int,
    horizon: int = HORIZON_DEFAULT,
) -> PlannerInputs:
    """The inputs of SPEC §16 from the department's snapshots of the last complete months (up to
    12, oldest first; each with the fields of ``kpi.models.KpiSnapshot``):

    - ``B0`` is the base at the end of the last of them, ``f`` its MRR over that base;
    - ``c`` and ``n`` are the means of the monthly controllable and natural churn rates (natural =
      total − controllable);
    - ``r`` is the mean of the monthly referral clients per 100 clients at the month's start;
    - ``s`` and ``i`` are the means of the monthly active-sales and inbound new clients;
    - ``w`` is the cases won back over the cases closed in those months together (a month with one
      closed case would otherwise weigh as much as a month with forty).

    Without any history every rate is 0 and the base is 0."""
    if not months:
        return PlannerInputs(0, 0, 0, 0, 0, 0, 0, 0, horizon, target, target_month)
    last = months[-1]
    with_base = [month for month in months if month["base_start"]]
    returned = sum(month["cases_returned"] for month in months)
    closed = returned + sum(month["cases_declined"] for month in months)
    return PlannerInputs(
        base=last["base_end"],
        churn_controllable=_mean(month["churn_rate_controllable"] for month in months),
        churn_natural=_mean(
            month["churn_rate"] - month["churn_rate_controllable"] for month in months
        ),
        referrals_per_100=_mean(
            month["new_referral"] * 100 / month["base_start"] for month in with_base
        ),
        active_sales=_mean(month["new_active_sales"] for month in months),
        inbound=_mean(month["new_inbound"] for month in months),
        return_rate=returned / closed if closed else 0.0,
        fee=float(last["mrr_end"]) / last["base_end"] if last["base_end"] else 0.0,
        horizon=horizon,
        target=target,
        target_month=target_month,
    )


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


# --- capacity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HiringRow:
    """One month of SPEC §16's hiring table. ``capacity`` is what today's team provides then, in
    client-manager equivalents; ``shortfall`` the whole client managers missing without new hires;
    ``hires`` the hires that must start this month (to be ramped up by the month of a shortfall);
    ``mentors_needed`` the mentors the team needs then, one per five client managers."""

    month: int
    base: float
    needed: int
    capacity: float
    shortfall: int
    hires: int
    mentors_needed: int
    mentors_missing: int
    requests: float | None


@dataclass(frozen=True)
class HiringPlan:
    rows: list[HiringRow]
    # Hires whose hire-by month is this month or already past: the page's warning.
    hires_due: int
    # Of those, the hires that come too late to be ramped up for the first shortfall (its
    # hire-by month has passed).
    hires_late: int
    # The month (m) of the first shortfall, if any.
    first_shortfall: int | None
    ramp_months: int = RAMP_MONTHS
    # The first day of month 0, when the caller gives it: what the month numbers are counted from.
    month0: datetime.date | None = None

    @property
    def first_shortfall_on(self) -> datetime.date | None:
        if self.first_shortfall is None or self.month0 is None:
            return None
        return add_months(self.month0, self.first_shortfall)


def team_capacity(
    members: Sequence[Staffed], days: Sequence[datetime.date], *, capacity: int = CAPACITY
) -> list[Fraction]:
    """What ``members`` provide on each of ``days``, in client-manager equivalents: each one's
    effective capacity (capacity × ramp factor, SPEC §15) over ``capacity``. A trainee counts more
    each month; a mentor counts for their own book (60 of 150 is 0.4).

    Someone fully ramped on the first day stays so (the ramp factor never falls), so their
    capacity is added once; only trainees and people not hired yet are computed day by day."""
    if not days:
        return []
    first = min(days)
    ramped = [m for m in members if ramp_factor(m, first) == 1]
    ramping = [m for m in members if ramp_factor(m, first) != 1]
    steady = Fraction(sum(m.capacity for m in ramped))
    return [
        (steady + sum((effective_capacity(m, day) for m in ramping), Fraction(0))) / capacity
        for day in days
    ]


def hiring_plan(
    bases: Sequence[float],
    provided: Sequence[Fraction | float],
    *,
    managers: int,
    mentors: int,
    capacity: int = CAPACITY,
    ramp_months: int = RAMP_MONTHS,
    requests_per_client: float | None = None,
    month0: datetime.date | None = None,
) -> HiringPlan:
    """SPEC §16's hiring table for months 1..len(bases): ``bases[k]`` is the projected base at
    the end of month k + 1 and ``provided[k]`` what today's team provides then.

    Month m needs ``ceil(B(m) / capacity)`` client managers; the shortfall is what today's team
    lacks, in whole people. A hire reaches full capacity ``ramp_months`` after starting, so the
    hire-by month for a shortfall in month m is m − ramp_months; hires are counted once (a person
    hired for month 5 still serves in month 9). Hires whose hire-by month is 1 (this month) or
    earlier are due now and all appear in month 1. ``managers`` and ``mentors`` are today's
    client managers and mentors: mentors needed are one per five client managers, hires included.
    """
    if len(bases) != len(provided):
        raise ValueError("bases and provided differ in length")
    if not RAMP_MONTHS_RANGE[0] <= ramp_months <= RAMP_MONTHS_RANGE[1]:
        raise ValueError("ramp months out of range")
    horizon = len(bases)
    needed = [math.ceil(base / capacity - 1e-9) if base > 0 else 0 for base in bases]
    shortfall = [
        max(0, math.ceil(need - float(have) - 1e-9))
        for need, have in zip(needed, provided, strict=True)
    ]

    def hired_by(month: int) -> int:
        """Hires started by ``month``: enough for every shortfall until month + ramp_months."""
        last = min(month + ramp_months, horizon)
        return max(shortfall[:last], default=0) if last >= 1 else 0

    rows = []
    for month in range(1, horizon + 1):
        started = hired_by(month)
        hires = started - (hired_by(month - 1) if month > 1 else 0)
        mentors_needed = math.ceil((managers + started) / MENTEES_PER_MENTOR)
        rows.append(
            HiringRow(
                month=month,
                base=bases[month - 1],
                needed=needed[month - 1],
                capacity=float(provided[month - 1]),
                shortfall=shortfall[month - 1],
                hires=hires,
                mentors_needed=mentors_needed,
                mentors_missing=max(0, mentors_needed - mentors),
                requests=bases[month - 1] * requests_per_client
                if requests_per_client is not None
                else None,
            )
        )
    first = next((row.month for row in rows if row.shortfall), None)
    late = max(shortfall[:ramp_months], default=0)
    return HiringPlan(
        rows=rows,
        hires_due=rows[0].hires if rows else 0,
        hires_late=late,
        first_shortfall=first,
        ramp_months=ramp_months,
        month0=month0,
    )
