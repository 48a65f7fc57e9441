"""Time the KPI recompute (SPEC §9: ≤ 2 s at demo scale, ≤ 10 s at scale L on PostgreSQL).

    python bench/kpi_recompute.py --clients 1500 --years 3     # writes a random history first
    python bench/kpi_recompute.py --reuse                      # times the data already there

Point DATABASE_URL at a migrated database of its own: without ``--reuse`` the script refuses a
database that already has clients.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1500)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="time the rows already stored")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from clients.models import Client
    from kpi.metrics import first_month, kpi_table
    from kpi.selectors import kpi_history_rows
    from kpi.services import kpi_snapshots_recompute

    today = timezone.localdate()
    if not args.reuse:
        if Client.objects.exists():
            sys.exit("The database already has clients: use --reuse, or an empty database.")
        from tests.kpi.history import history_build

        started = time.perf_counter()
        counts = history_build(clients=args.clients, years=args.years, seed=args.seed, today=today)
        print(f"history written in {time.perf_counter() - started:.1f} s: {counts}")

    print(f"database: {connection.vendor}")
    for run in range(1, args.repeat + 1):
        started = time.perf_counter()
        rows = kpi_history_rows()
        loaded = time.perf_counter()
        month_from = first_month(rows) or today
        table = kpi_table(rows, month_from=month_from, month_to=today)
        computed = time.perf_counter()
        written = kpi_snapshots_recompute(today=today)
        finished = time.perf_counter()
        print(
            f"run {run}: load {loaded - started:.2f} s ({len(rows.contracts)} contracts), "
            f"compute {computed - loaded:.2f} s ({len(table)} rows, "
            f"{month_from:%Y-%m}..{today:%Y-%m}), "
            f"recompute end to end {finished - computed:.2f} s ({written} rows)"
        )


if __name__ == "__main__":
    main()
