"""``manage.py compute_kpis`` (SPEC §8)."""

from __future__ import annotations

import datetime
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from kpi.models import KpiSnapshot, Scope
from tests.factories import ClientFactory, ContractFactory

D = datetime.date


@pytest.fixture
def contract(manager):
    return ContractFactory(client=ClientFactory(manager=manager), starts_on=D(2024, 1, 15))


def test_compute_kpis_recomputes_the_months_asked_for(contract, manager):
    out = StringIO()

    call_command("compute_kpis", "--from", "2024-01", "--to", "2024-03", stdout=out)

    assert re.fullmatch(r"Wrote 9 KPI snapshot rows in \d+\.\d\d s\.\n", out.getvalue())
    assert set(KpiSnapshot.objects.values_list("month", "scope", "scope_id")) == {
        (D(2024, month, 1), scope, scope_id)
        for month in (1, 2, 3)
        for scope, scope_id in (
            (Scope.DEPARTMENT, 0),
            (Scope.MANAGER, manager.pk),
            (Scope.GROUP, manager.mentor_id),
        )
    }
    january = KpiSnapshot.objects.get(month=D(2024, 1, 1), scope=Scope.DEPARTMENT)
    assert (january.base_start, january.new_clients, january.base_end) == (0, 1, 1)


def test_compute_kpis_defaults_to_every_month_up_to_now(contract):
    out = StringIO()

    call_command("compute_kpis", stdout=out)

    months = KpiSnapshot.objects.filter(scope=Scope.DEPARTMENT).values_list("month", flat=True)
    assert min(months) == D(2024, 1, 1)
    assert max(months) == timezone.localdate().replace(day=1)
    assert out.getvalue().startswith(f"Wrote {KpiSnapshot.objects.count()} KPI snapshot rows")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-13"], "Expected a month as YYYY-MM, got '2024-13'."),
        (["--to", "March"], "Expected a month as YYYY-MM, got 'March'."),
        (["--from", "2024-03", "--to", "2024-02"], "The first month is after the last month."),
    ],
)
def test_compute_kpis_refuses_bad_months_and_writes_nothing(contract, args, message):
    with translation.override("en"), pytest.raises(CommandError, match=re.escape(message)):
        call_command("compute_kpis", *args, stdout=StringIO())

    assert not KpiSnapshot.objects.exists()
