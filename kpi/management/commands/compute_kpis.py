"""``manage.py compute_kpis [--from YYYY-MM] [--to YYYY-MM]``: synchronous recompute (SPEC §8)."""

from __future__ import annotations

import datetime
import time

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from core.commands import TranslatedCommand
from core.tasks import background_db_timeouts
from kpi.services import kpi_snapshots_recompute


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        raise CommandError(f"Expected a month as YYYY-MM, got {value!r}.") from None


class Command(TranslatedCommand):
    help = "Recompute the KPI snapshots of every scope (default: all months up to the current one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="month_from", metavar="YYYY-MM", type=str)
        parser.add_argument("--to", dest="month_to", metavar="YYYY-MM", type=str)

    def handle(self, *args, month_from: str | None, month_to: str | None, **options) -> None:
        started = time.perf_counter()
        try:
            with background_db_timeouts():
                written = kpi_snapshots_recompute(
                    month_from=_month(month_from) if month_from else None,
                    month_to=_month(month_to) if month_to else None,
                )
        except ValidationError as error:
            options_named = {"month_from": "--from", "month_to": "--to"}
            if not hasattr(error, "error_dict"):
                raise CommandError(" ".join(error.messages)) from None
            raise CommandError(
                " ".join(
                    f"{options_named.get(name, name)}: {' '.join(messages)}"
                    for name, messages in error.message_dict.items()
                )
            ) from None
        seconds = time.perf_counter() - started
        self.stdout.write(f"Wrote {written} KPI snapshot rows in {seconds:.2f} s.")
