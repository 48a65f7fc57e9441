"""The KPI arithmetic of SPEC §4, as pure functions over plain rows.

This is the only module of the project that imports pandas, and the only one that divides one
SPEC §4 figure by another: the snapshot table below, and the scalar rates the pages compute over a
period or a funnel (``churn_rate``, ``return_rate``, …, at the end of the module). It never touches
the database: ``kpi.selectors`` loads the rows, ``kpi.services`` stores what ``kpi_table`` returns.

Dates are handled as integer day numbers (days since 1970-01-01) and months as integer month
numbers (months since 1970-01), so every step is array arithmetic: no loop over clients or days.

How the figures come out of the history:

1. Each client's paid contracts are merged into **coverage runs** (sort by start, running maximum of
   the ends, a new run when a contract starts more than one day after everything before it has
   ended). A run's first day is an **entry** (the client's first run is *new*, later runs are
   *returned*), the day after its last day is a **loss** (natural when a contract ending on the
   run's last day has a natural reason).
2. ``Base(d)`` is the number of runs covering ``d``; ``MRR(d)`` the fees of the contracts covering
   ``d``. Both are taken at the month boundaries (the last day of each month) with a difference
   array over the boundary indices each run spans.
3. Per manager, each client's assignment history becomes a step function "manager on day d"; events
   are looked up in it with ``searchsorted`` on a (client, day) key, and the month-end base is
   counted over the intersections of runs and assignment periods.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clients.models import AcquisitionChannel
from core.dates import month_end, month_from_index, month_index
from core.ratios import ratio
from retention.models import CaseStatus

# Day numbers standing for "no end" (an open contract or the current assignment) and for "since
# forever" (the first assignment covers all earlier days). Far outside any real date, and small
# enough that (client, day) pairs pack into one int64 key.
DAY_OPEN = 5_000_000
DAY_PAST = -5_000_000
_DAY_SPAN = 1 << 24  # > DAY_OPEN - DAY_PAST + 2
_EPOCH = datetime.date(1970, 1, 1)

SCOPE_DEPARTMENT = "department"
SCOPE_GROUP = "group"
SCOPE_MANAGER = "manager"

COUNT_FIGURES = (
    "base_start",
    "base_end",
    "new_clients",
    "new_referral",
    "new_active_sales",
    "new_inbound",
    "returned",
    "churned",
    "churned_natural",
    "transferred_in",
    "transferred_out",
    "cases_returned",
    "cases_declined",
)
RATE_FIGURES = (
    "churn_rate",
    "churn_rate_controllable",
    "annual_churn_rate",
    "annual_churn_rate_controllable",
    "return_rate",
    "return_rate_12m",
)
# Money in kopecks (int), exact; the service turns them into Decimal roubles.
MONEY_FIGURES = ("mrr_start", "mrr_end")
FIGURES = COUNT_FIGURES + RATE_FIGURES + MONEY_FIGURES
COLUMNS = ("month", "scope", "scope_id", *FIGURES)

_CHANNELS = (
    (AcquisitionChannel.REFERRAL, "new_referral"),
    (AcquisitionChannel.ACTIVE_SALES, "new_active_sales"),
    (AcquisitionChannel.INBOUND, "new_inbound"),
)
_TRAILING = 12


@dataclass(frozen=True)
class HistoryRows:
    """Plain rows, as ``values_list`` gives them.

    - ``contracts``: paid contracts only, ``(client_id, starts_on, ends_on | None, monthly_fee,
      natural)`` where ``natural`` says the termination reason is natural (merger, liquidation);
    - ``clients``: ``(client_id, acquisition_channel, manager_id | None)``;
    - ``assignments``: ``(client_id, manager_id, starts_on | None)``, ``ends_on`` is implied by the
      next row's ``starts_on`` (the services keep them in step, SPEC §2);
    - ``cases``: closed lost cases, ``(lost_by_id | None, status, closed_on)``;
    - ``groups``: ``(mentor_id, member_id)`` pairs, the mentor's own pair included.
    """

    contracts: Sequence[tuple] = ()
    clients: Sequence[tuple] = ()
    assignments: Sequence[tuple] = ()
    cases: Sequence[tuple] = ()
    groups: Sequence[tuple] = ()


# --- dates ----------------------------------------------------------------------------------


_EPOCH_MONTH = month_index(_EPOCH)


def month_number(day: datetime.date) -> int:
    """Months since January 1970: numpy's ``datetime64[M]`` numbering, which the month
    boundaries of ``kpi_table`` are built from."""
    return month_index(day) - _EPOCH_MONTH


def month_first_day(number: int) -> datetime.date:
    return month_from_index(number + _EPOCH_MONTH)


def _days(values: Sequence, *, missing: int) -> np.ndarray:
    """Day numbers of dates (``missing`` for None); ``toordinal`` is far faster than numpy's own
    conversion of date objects."""
    offset = _EPOCH.toordinal()
    return np.fromiter(
        (missing if day is None else day.toordinal() - offset for day in values),
        dtype=np.int64,
        count=len(values),
    )


def _months_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _columns(rows: Sequence[tuple], width: int) -> list[list]:
    return [[row[i] for row in rows] for i in range(width)]


def first_month(rows: HistoryRows) -> datetime.date | None:
    """The first day of the month of the earliest paid contract, or None without contracts."""
    if not rows.contracts:
        return None
    return min(row[1] for row in rows.contracts).replace(day=1)


# --- coverage runs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Runs:
    """Coverage runs, sorted by (client, start)."""

    client: np.ndarray
    start: np.ndarray
    end: np.ndarray  # last day in the base; DAY_OPEN while open
    natural: np.ndarray  # the loss after ``end`` is natural
    first: np.ndarray  # the client's first run: its entry is new


@dataclass(frozen=True)
class Contracts:
    client: np.ndarray
    start: np.ndarray
    end: np.ndarray
    fee: np.ndarray  # kopecks
    natural: np.ndarray


def contract_arrays(rows: Sequence[tuple]) -> Contracts:
    client, starts, ends, fees, natural = _columns(rows, 5)
    return Contracts(
        client=np.array(client, dtype=np.int64),
        start=_days(starts, missing=DAY_PAST),
        end=_days(ends, missing=DAY_OPEN),
        fee=np.rint(np.array(fees, dtype=np.float64) * 100).astype(np.int64),
        natural=np.array(natural, dtype=bool),
    )


def _previous_same(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: whether each element has the same key as the one before it."""
    same = np.zeros(len(keys), dtype=bool)
    same[1:] = keys[1:] == keys[:-1]
    return same


def coverage_runs(contracts: Contracts) -> Runs:
    """Merge each client's paid contracts into maximal runs of consecutive covered days."""
    order = np.lexsort((contracts.start, contracts.client))
    client = contracts.client[order]
    start = contracts.start[order]
    end = contracts.end[order]
    natural = contracts.natural[order]
    if len(client) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Runs(empty, empty, empty, np.zeros(0, bool), np.zeros(0, bool))
    same_client = _previous_same(client)
    # Running maximum of the ends within each client: shift every client's ends above all the
    # previous clients' so one global running maximum never crosses a client boundary.
    rank = np.cumsum(~same_client)
    reach = np.maximum.accumulate(end + rank * _DAY_SPAN) - rank * _DAY_SPAN
    previous_reach = np.empty_like(reach)
    previous_reach[0] = DAY_PAST
    previous_reach[1:] = reach[:-1]
    opens_run = ~same_client | (start > previous_reach + 1)
    run_of = np.cumsum(opens_run) - 1
    heads = np.flatnonzero(opens_run)
    run_end = np.maximum.reduceat(end, heads)
    ends_run = end == run_end[run_of]
    run_natural = np.bincount(run_of[ends_run & natural], minlength=len(heads)) > 0
    return Runs(
        client=client[heads],
        start=start[heads],
        end=run_end,
        natural=run_natural,
        first=~same_client[heads],
    )


# --- assignments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignments:
    """Each client's managers as a step function: ``manager`` from ``start`` to ``end``, sorted by
    (client, start); the first period of a client starts at DAY_PAST."""

    client: np.ndarray
    manager: np.ndarray
    start: np.ndarray
    end: np.ndarray
    key: np.ndarray  # (client, start) packed, sorted

    def lookup(self, client: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the period covering (client, day), and whether there is one."""
        return _step_lookup(self.key, self.client, client, day)


def _pack(client: np.ndarray, day: np.ndarray) -> np.ndarray:
    return client * _DAY_SPAN + (day - DAY_PAST)


def _step_lookup(keys, owners, client, day) -> tuple[np.ndarray, np.ndarray]:
    at = np.searchsorted(keys, _pack(client, day), side="right") - 1
    found = at >= 0
    at = np.maximum(at, 0)
    if len(owners):
        found &= owners[at] == client
    else:
        found[:] = False
    return at, found


def assignment_periods(assignment_rows: Sequence[tuple], client_rows: Sequence[tuple]):
    """Turn assignment rows into periods.

    SPEC §2: the first assignment covers all history before it, so the first period starts at
    DAY_PAST even when a start date was recorded; every period lasts until the next one starts
    (the services close a row on d−1 when they open the next on d, so ``ends_on`` adds nothing,
    and a gap in hand-made data cannot lose an event). A client without any assignment row has
    been with its current ``manager`` all along; a client with neither has no manager and counts
    for the department only."""
    a_client, a_manager, a_start = _columns(assignment_rows, 3)
    c_client, _channel, c_manager = _columns(client_rows, 3)
    client = np.array(a_client, dtype=np.int64)
    manager = np.array(a_manager, dtype=np.int64)
    start = _days(a_start, missing=DAY_PAST)
    known = np.array(c_client, dtype=np.int64)
    current = np.array([m or 0 for m in c_manager], dtype=np.int64)
    orphan = (current != 0) & ~np.isin(known, client)
    client = np.concatenate([client, known[orphan]])
    manager = np.concatenate([manager, current[orphan]])
    start = np.concatenate([start, np.full(int(orphan.sum()), DAY_PAST, dtype=np.int64)])
    # Sort by (client, start); of two rows starting the same day, the later row wins.
    order = np.lexsort((np.arange(len(client)), start, client))
    client, manager, start = client[order], manager[order], start[order]
    keep = np.ones(len(client), dtype=bool)
    keep[:-1] = ~((client[1:] == client[:-1]) & (start[1:] == start[:-1]))
    client, manager, start = client[keep], manager[keep], start[keep]
    same_client = _previous_same(client)
    start = np.where(same_client, start, DAY_PAST)
    end = np.full(len(client), DAY_OPEN, dtype=np.int64)
    follows = np.flatnonzero(same_client)
    end[follows - 1] = start[follows] - 1
    return Assignments(client, manager, start, end, _pack(client, start))


# --- counting -------------------------------------------------------------------------------


def _tally(key, bins, n_keys: int, n_bins: int) -> np.ndarray:
    """Counts per (key, bin); out-of-window bins are dropped."""
    inside = (bins >= 0) & (bins < n_bins)
    counts = np.bincount(key[inside] * n_bins + bins[inside], minlength=n_keys * n_bins)
    return counts.astype(np.int64).reshape(n_keys, n_bins)


def _covered(key, start, end, boundaries, n_keys: int, weights=None) -> np.ndarray:
    """How many intervals (or how much weight) of each key cover each boundary day."""
    width = len(boundaries) + 1
    first = np.searchsorted(boundaries, start, side="left")
    past = np.searchsorted(boundaries, end, side="right")
    w = np.ones(len(key), dtype=np.float64) if weights is None else weights.astype(np.float64)
    diff = np.bincount(key * width + first, weights=w, minlength=n_keys * width) - np.bincount(
        key * width + past, weights=w, minlength=n_keys * width
    )
    return np.rint(np.cumsum(diff.reshape(n_keys, width), axis=1)[:, :-1]).astype(np.int64)


def _intersect(client, start, end, periods: Assignments, extra: dict[str, np.ndarray]):
    """Pieces of intervals within assignment periods: (manager, start, end, **extra)."""
    left = pd.DataFrame({"client": client, "start": start, "end": end, **extra})
    right = pd.DataFrame(
        {
            "client": periods.client,
            "manager": periods.manager,
            "p_start": periods.start,
            "p_end": periods.end,
        }
    )
    both = left.merge(right, on="client", how="inner")
    piece_start = np.maximum(both["start"].to_numpy(), both["p_start"].to_numpy())
    piece_end = np.minimum(both["end"].to_numpy(), both["p_end"].to_numpy())
    overlap = piece_start <= piece_end
    pieces = {name: both[name].to_numpy()[overlap] for name in extra}
    return both["manager"].to_numpy()[overlap], piece_start[overlap], piece_end[overlap], pieces


# --- the table ------------------------------------------------------------------------------


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """SPEC §4: a rate is 0 when its denominator is 0 (the stored snapshots hold that 0)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _trailing(values: np.ndarray) -> np.ndarray:
    """Sum over the last 12 bins ending with each bin (shorter at the start of the window)."""
    total = np.cumsum(values, axis=1)
    out = total.copy()
    out[:, _TRAILING:] -= total[:, :-_TRAILING]
    return out


def _figures(counts: dict[str, np.ndarray], skip: int) -> dict[str, np.ndarray]:
    """Rates from the counts; then keep the bins from ``skip`` on (the months asked for)."""
    base_start = counts["base_start"]
    churned = counts["churned"]
    controllable = churned - counts["churned_natural"]
    closed = counts["cases_returned"] + counts["cases_declined"]
    n = base_start.shape[1]
    year_ago = np.zeros_like(base_start)
    year_ago[:, _TRAILING - 1 :] = base_start[:, : n - (_TRAILING - 1)]
    rates = {
        "churn_rate": _ratio(churned, base_start),
        "churn_rate_controllable": _ratio(controllable, base_start),
        "annual_churn_rate": _ratio(_trailing(churned), year_ago),
        "annual_churn_rate_controllable": _ratio(_trailing(controllable), year_ago),
        "return_rate": _ratio(counts["cases_returned"], closed),
        "return_rate_12m": _ratio(_trailing(counts["cases_returned"]), _trailing(closed)),
    }
    return {name: values[:, skip:] for name, values in {**counts, **rates}.items()}


def _scope_frame(scope: str, ids: np.ndarray, months: list, figures: dict) -> pd.DataFrame:
    n_keys, n_months = len(ids), len(months)
    frame = pd.DataFrame(
        {
            "month": np.tile(np.array(months, dtype=object), n_keys),
            "scope": scope,
            "scope_id": np.repeat(ids, n_months),
            **{name: figures[name].reshape(-1) for name in FIGURES},
        },
        columns=list(COLUMNS),
    )
    if scope != SCOPE_DEPARTMENT:
        # A person with nothing to show in a month gets no row (readers treat it as zeros).
        values = np.column_stack([figures[name].reshape(-1) for name in FIGURES])
        frame = frame[np.any(values != 0, axis=1)]
    return frame


@dataclass(frozen=True)
class _Events:
    """Entries, losses and case closings of the whole history, binned by month of the window."""

    runs: Runs
    entry_bin: np.ndarray
    loss_bin: np.ndarray  # out of the window for open runs
    channel: np.ndarray  # acquisition channel of each run's client
    case_lost_by: np.ndarray  # 0 when unknown
    case_bin: np.ndarray
    case_returned: np.ndarray
    case_declined: np.ndarray
    n: int

    def counts(self, *, entry_key, entry_ok, loss_key, loss_ok, case_key, case_ok, n_keys):
        runs, n = self.runs, self.n

        def tally(key, mask, bins):
            return _tally(key[mask], bins[mask], n_keys, n)

        new_entry = entry_ok & runs.first
        loss = loss_ok & (runs.end < DAY_OPEN)
        counts = {
            "new_clients": tally(entry_key, new_entry, self.entry_bin),
            "returned": tally(entry_key, entry_ok & ~runs.first, self.entry_bin),
            "churned": tally(loss_key, loss, self.loss_bin),
            "churned_natural": tally(loss_key, loss & runs.natural, self.loss_bin),
            "cases_returned": tally(case_key, case_ok & self.case_returned, self.case_bin),
            "cases_declined": tally(case_key, case_ok & self.case_declined, self.case_bin),
        }
        for channel, name in _CHANNELS:
            counts[name] = tally(entry_key, new_entry & (self.channel == channel), self.entry_bin)
        return counts


def _events(rows: HistoryRows, runs: Runs, window_start: int, n: int) -> _Events:
    client_ids, channels, _managers = _columns(rows.clients, 3)
    channel_of = dict(zip(client_ids, channels, strict=True))
    lost_by, status, closed_on = _columns(rows.cases, 3)
    status = np.array(status, dtype=object)
    return _Events(
        runs=runs,
        entry_bin=_months_of(runs.start) - window_start,
        loss_bin=_months_of(runs.end + 1) - window_start,
        channel=np.array([channel_of.get(c, "") for c in runs.client.tolist()], dtype=object),
        case_lost_by=np.array([m or 0 for m in lost_by], dtype=np.int64),
        case_bin=_months_of(_days(closed_on, missing=DAY_OPEN)) - window_start,
        case_returned=status == CaseStatus.RETURNED,
        case_declined=status == CaseStatus.DECLINED,
        n=n,
    )


def _transfers(runs: Runs, periods: Assignments) -> tuple[np.ndarray, np.ndarray]:
    """Reassignments that are transfers: indexes into ``periods`` of the new period, and the day.

    A reassignment effective on d moves a client between books only when the client is in the
    base on d−1 and on d; otherwise the next entry or loss is attributed by the day's manager.
    """
    moved = np.flatnonzero(_previous_same(periods.client))
    moved = moved[periods.manager[moved] != periods.manager[moved - 1]]
    day = periods.start[moved]
    at, found = _step_lookup(
        _pack(runs.client, runs.start), runs.client, periods.client[moved], day - 1
    )
    if len(runs.end):
        found &= runs.end[at] >= day
    return moved[found], day[found]


def kpi_table(
    rows: HistoryRows, *, month_from: datetime.date, month_to: datetime.date
) -> pd.DataFrame:
    """Every SPEC §4 figure for every month from ``month_from`` to ``month_to`` (any day of the
    month), for the department (scope_id 0), each manager and each mentor group.

    Manager rows attribute each event to the manager assigned on the event's day (a loss: on the
    last day in the base) and count a reassignment effective on d as a transfer only when the
    client is in the base on d−1 and d; so per manager ``base_end = base_start + new_clients +
    returned + transferred_in − transferred_out − churned``. Lost cases have no month-end owner,
    so manager and group rows count ``cases_returned``/``cases_declined`` (and the return rates)
    by the case's ``lost_by``: the manager who lost the client answers for winning it back.
    A group row is the sum of its current members' rows (the mentor included), for every month:
    the group's history is restated when people move between groups.

    Returns a DataFrame with ``COLUMNS``; ``mrr_*`` are kopecks. Manager and group rows whose
    figures are all zero are left out.
    """
    first, last = month_number(month_from), month_number(month_to)
    if last < first:
        raise ValueError("month_to is before month_from")
    # Annual figures of the first month need the eleven months before it.
    window_start = first - (_TRAILING - 1)
    n = last - window_start + 1
    skip = n - (last - first + 1)
    # boundaries[k] = the last day before month window_start + k, for k = 0..n.
    boundaries = (
        np.arange(window_start, last + 2).astype("datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64) - 1
    months = [month_first_day(m) for m in range(first, last + 1)]

    contracts = contract_arrays(rows.contracts)
    runs = coverage_runs(contracts)
    events = _events(rows, runs, window_start, n)
    periods = assignment_periods(rows.assignments, rows.clients)

    # Department.
    all_runs = np.ones(len(runs.client), dtype=bool)
    all_cases = np.ones(len(events.case_bin), dtype=bool)
    run_zero = np.zeros(len(runs.client), dtype=np.int64)
    dept = events.counts(
        entry_key=run_zero,
        entry_ok=all_runs,
        loss_key=run_zero,
        loss_ok=all_runs,
        case_key=np.zeros(len(all_cases), dtype=np.int64),
        case_ok=all_cases,
        n_keys=1,
    )
    base = _covered(run_zero, runs.start, runs.end, boundaries, 1)
    contract_zero = np.zeros(len(contracts.client), dtype=np.int64)
    mrr = _covered(contract_zero, contracts.start, contracts.end, boundaries, 1, contracts.fee)
    no_moves = np.zeros((1, n), dtype=np.int64)
    dept.update(
        base_start=base[:, :-1],
        base_end=base[:, 1:],
        mrr_start=mrr[:, :-1],
        mrr_end=mrr[:, 1:],
        transferred_in=no_moves,
        transferred_out=no_moves,
    )
    frames = [_scope_frame(SCOPE_DEPARTMENT, np.zeros(1, np.int64), months, _figures(dept, skip))]

    # Managers.
    lost_by = events.case_lost_by
    manager_ids = np.unique(np.concatenate([periods.manager, lost_by[lost_by != 0]]))
    n_mgr = len(manager_ids)

    def manager_key(user_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(manager_ids, user_ids).astype(np.int64)

    entry_at, entry_ok = periods.lookup(runs.client, runs.start)
    loss_at, loss_ok = periods.lookup(runs.client, np.minimum(runs.end, DAY_OPEN - 1))
    has_periods = len(periods.manager) > 0
    mgr = events.counts(
        entry_key=manager_key(periods.manager[entry_at]) if has_periods else run_zero,
        entry_ok=entry_ok,
        loss_key=manager_key(periods.manager[loss_at]) if has_periods else run_zero,
        loss_ok=loss_ok,
        case_key=manager_key(lost_by),
        case_ok=lost_by != 0,
        n_keys=n_mgr,
    )
    moved, move_day = _transfers(runs, periods)
    move_bin = _months_of(move_day) - window_start
    mgr["transferred_in"] = _tally(manager_key(periods.manager[moved]), move_bin, n_mgr, n)
    mgr["transferred_out"] = _tally(manager_key(periods.manager[moved - 1]), move_bin, n_mgr, n)
    owner, start, end, _ = _intersect(runs.client, runs.start, runs.end, periods, {})
    base = _covered(manager_key(owner), start, end, boundaries, n_mgr)
    owner, start, end, extra = _intersect(
        contracts.client, contracts.start, contracts.end, periods, {"fee": contracts.fee}
    )
    mrr = _covered(manager_key(owner), start, end, boundaries, n_mgr, extra["fee"])
    mgr.update(
        base_start=base[:, :-1], base_end=base[:, 1:], mrr_start=mrr[:, :-1], mrr_end=mrr[:, 1:]
    )
    frames.append(_scope_frame(SCOPE_MANAGER, manager_ids, months, _figures(mgr, skip)))

    # Mentor groups: sums of the members' counts; rates from the sums.
    mentor, member = (np.array(column, dtype=np.int64) for column in _columns(rows.groups, 2))
    group_ids = np.unique(mentor)
    in_books = np.isin(member, manager_ids)
    group_row = np.searchsorted(group_ids, mentor[in_books])
    member_row = manager_key(member[in_books])
    group = {}
    for name in (*COUNT_FIGURES, *MONEY_FIGURES):
        total = np.zeros((len(group_ids), n), dtype=np.int64)
        np.add.at(total, group_row, mgr[name][member_row])
        group[name] = total
    frames.append(_scope_frame(SCOPE_GROUP, group_ids, months, _figures(group, skip)))

    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["scope", "scope_id", "month"], kind="stable", ignore_index=True)


def kpi_table_records(table: pd.DataFrame) -> list[tuple]:
    """The table's rows as plain tuples in ``COLUMNS`` order (Python ints, floats and dates)."""
    return list(zip(*(table[name].tolist() for name in COLUMNS), strict=True))


def kpi_table_csv(table: pd.DataFrame, *, suffix: str = "") -> str:
    """The table as CSV lines without a header, in ``COLUMNS`` order, money as roubles
    ("1234.50"), ``suffix`` appended to every line: the input of PostgreSQL ``COPY``. One format
    string per line is several times faster than ``to_csv`` on float columns."""
    pieces, columns = [], []
    for name in COLUMNS:
        values = table[name]
        if name == "month":
            labels = {month: month.isoformat() for month in set(values.tolist())}
            pieces.append("%s")
            columns.append([labels[month] for month in values.tolist()])
        elif name == "scope":
            pieces.append("%s")
            columns.append(values.tolist())
        elif name in MONEY_FIGURES:
            # Fees are never negative (a database constraint), so neither are the sums.
            kopecks = values.to_numpy(dtype=np.int64)
            pieces.append("%d.%02d")
            columns += [(kopecks // 100).tolist(), (kopecks % 100).tolist()]
        elif name in RATE_FIGURES:
            pieces.append("%r")  # the shortest text that reads back as the same float
            columns.append(values.to_numpy(dtype=np.float64).tolist())
        else:
            pieces.append("%d")
            columns.append(values.to_numpy(dtype=np.int64).tolist())
    line = ",".join(pieces) + suffix.replace("%", "%%") + "\n"
    return "".join([line % fields for fields in zip(*columns, strict=True)])


# --- goal -----------------------------------------------------------------------------------


def goal_plan(goal, day: datetime.date) -> int:
    """Clients the plan line expects on ``day``: geometric growth from ``start_clients`` on
    ``start_on`` to ``target_clients`` on ``target_on`` (×4 over 36 months is about +3.9 % a
    month), flat before the start and after the target date. ``goal`` is a ``kpi.models.Goal``
    or anything with its four fields."""
    total = (goal.target_on - goal.start_on).days
    elapsed = min(max((day - goal.start_on).days, 0), total)
    ratio = goal.target_clients / goal.start_clients
    return round(goal.start_clients * ratio ** (elapsed / total))


def goal_plan_line(goal, months: Sequence[datetime.date]) -> list[int]:
    """The plan at the last day of each month, for a chart of base against goal."""
    return [goal_plan(goal, month_end(month)) for month in months]


def goal_progress(base: int, goal) -> float:
    """How far the base has come towards the goal's target: base / target, above 1 once the
    target is passed."""
    return base / goal.target_clients


def goal_monthly_growth(goal) -> float:
    """The plan line's growth per month (×4 over 36 months ≈ 3.9 %)."""
    months = (goal.target_on - goal.start_on).days / (365.25 / 12)
    return (goal.target_clients / goal.start_clients) ** (1 / months) - 1


# --- rates over a period, a person or a funnel ------------------------------------------------
#
# The pages add up stored monthly counts over a period (a person's churn over the last 12
# months) or count cases (the return funnel), then divide here. Unlike the stored figures these
# are None when there is nothing to divide by, and the page shows "—": no closed case is not a
# return rate of 0 %.


def churn_rate(churned: int, base_start: int) -> float | None:
    """SPEC §4: clients lost over the clients in the base at the start."""
    return ratio(churned, base_start)


def return_rate(returned: int, declined: int) -> float | None:
    """SPEC §4: cases closed as returned over all cases closed (returned or declined); open cases
    do not count."""
    return ratio(returned, returned + declined)


def book_growth(
    book_start: int, book_end: int, *, transferred_in: int = 0, transferred_out: int = 0
) -> float | None:
    """A book's own growth over a period: its change without the clients handed in or out (a
    reassignment moves clients between books without churn, SPEC §4 "per manager"), over the
    book at the start."""
    return ratio(book_end - book_start - transferred_in + transferred_out, book_start)


def claim_rate(claimed: int, lost: int) -> float | None:
    """The return funnel (SPEC §3.3): cases claimed by a return manager over the cases lost."""
    return ratio(claimed, lost)


def free_month_rate(free_month: int, claimed: int) -> float | None:
    """The return funnel: claimed cases that reached a free month."""
    return ratio(free_month, claimed)


def conversion(returned: int, lost: int) -> float | None:
    """The return funnel: cases lost in a month that have come back so far."""
    return ratio(returned, lost)
