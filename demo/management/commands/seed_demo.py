"""``manage.py seed_demo``: fill an empty database with the demo company (SPEC §8)."""

from __future__ import annotations

import argparse
import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clients.models import Client
from core.bounds import business_date_check
from core.commands import TranslatedCommand
from core.field_history import acting_as
from core.models import ChangeSource
from core.tasks import background_db_timeouts
from demo.department import BASE_CLIENTS
from demo.generator import demo_company_seed
from demo.logins import demo_logins_table, demo_usernames
from staff.models import User


def _iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("use the YYYY-MM-DD format")) from None


# Ten times the three-year goal of 6,000 paying clients: the benchmark's scale L is 60,000.
MAX_CLIENTS = 100_000


class Command(TranslatedCommand):
    help = gettext_lazy(
        "Build a deterministic demo company: staff, clients with years of contract history, "
        "calls, requests, referrals and lost cases whose KPIs look like today's company."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--clients",
            type=int,
            default=BASE_CLIENTS,
            help=gettext_lazy("Paying clients today (default %(default)s)."),
        )
        parser.add_argument(
            "--years",
            type=int,
            default=3,
            help=gettext_lazy("Years of contract history (default %(default)s)."),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=42,
            help=gettext_lazy("Random seed: the same seed and day give the same data."),
        )
        parser.add_argument(
            "--today",
            type=_iso_date,
            default=None,
            help=gettext_lazy("The day the history ends, YYYY-MM-DD (default: today)."),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy("Do nothing when the database already has clients."),
        )

    def handle(self, *args, clients, years, seed, today, if_empty, **options):
        if not 10 <= clients <= MAX_CLIENTS:
            raise CommandError(
                _("--clients: give 10 to %(max)s clients.") % {"max": f"{MAX_CLIENTS:,}"}
            )
        if not 1 <= years <= 10:
            raise CommandError(_("--years: give 1 to 10 years of history."))
        today = today or timezone.localdate()
        try:
            business_date_check(today, field="--today")
            business_date_check(today.replace(year=today.year - years, day=1), field="--years")
        except ValidationError as error:
            raise CommandError(
                " ".join(
                    f"{field}: {' '.join(messages)}"
                    for field, messages in error.message_dict.items()
                )
            ) from None
        if Client.objects.exists():
            if if_empty:
                self.stdout.write(_("The database already has clients: nothing seeded."))
                return
            raise CommandError(
                _("The database already has clients: seed_demo fills an empty database.")
            )
        taken = list(
            User.objects.filter(username__in=demo_usernames(clients=clients))
            .order_by("username")
            .values_list("username", flat=True)
        )
        if taken:
            raise CommandError(
                _("These demo usernames are taken already: %(names)s.")
                % {"names": ", ".join(taken)}
            )
        with background_db_timeouts(), acting_as(source=ChangeSource.COMMAND):
            result = demo_company_seed(clients=clients, years=years, seed=seed, today=today)
        counts, kpis = result.counts, result.kpis
        self.stdout.write(
            _(
                "Demo company seeded in %(seconds).1f s: %(clients)s clients (%(base)s paying "
                "today), %(contracts)s contracts, %(cases)s lost cases, %(interactions)s "
                "interactions, %(requests)s requests."
            )
            % {
                "seconds": result.seconds["total"],
                "clients": counts["clients.Client"],
                "base": kpis.base_today,
                "contracts": counts["clients.Contract"],
                "cases": counts["retention.LostCase"],
                "interactions": counts["clients.Interaction"],
                "requests": counts["clients.ClientRequest"],
            }
        )
        self.stdout.write(
            _(
                "The 12 months to %(month)s: annual churn %(churn).1f %% (%(natural).0f %% of it "
                "natural), %(referrals).1f referral clients a month, return rate %(returns).1f %%."
            )
            % {
                "month": kpis.month.strftime("%Y-%m"),
                "churn": 100 * kpis.annual_churn,
                "natural": 100 * (kpis.natural_share or 0),
                "referrals": kpis.referrals_per_month,
                "returns": 100 * kpis.return_rate_12m,
            }
        )
        if result.status_fixes:
            self.stderr.write(
                _("%(count)s client statuses had to be corrected.") % {"count": result.status_fixes}
            )
        if options["verbosity"] > 1:
            for step, seconds in result.seconds.items():
                self.stdout.write(f"  {step}: {seconds:.2f} s")
        self.stdout.write("")
        self.stdout.write(demo_logins_table(result.logins))
