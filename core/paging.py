"""Sorting and paging of a table that is already in memory: a list of rows (dicts), ordered by one
of the table's whitelisted column keys and cut into pages, with the links a page's header and
pager need.

For tables a page computes whole anyway (the dashboard's people tables: the CSV/XLSX exports hold
every row, the page shows one page of the chosen order). Database lists page with Django's
``Paginator`` instead. Links are query strings (``?…``) that keep the parameters the caller names,
so two tables on one page keep each other's order and page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.http import urlencode

PAGE_SIZE = 25
TEXT, NUM = "text", "num"


@dataclass(frozen=True)
class SortColumn:
    """A column a table may be ordered by: its row key, its header label and whether its values
    are text (ordered A to Z, case-insensitively) or figures."""

    key: str
    label: Any
    kind: str = NUM


@dataclass
class TablePage:
    """One page of a table: its rows in the chosen order, the header links that sort it and the
    links to the first, neighbouring and last pages (``None`` where there is none to show)."""

    name: str
    rows: list[dict]
    total: int
    number: int
    pages: int
    sort: str
    descending: bool
    headers: list[dict]
    first_url: str | None
    previous_url: str | None
    next_url: str | None
    last_url: str | None
    per_page: int = PAGE_SIZE

    @property
    def start(self) -> int:
        """The position of the page's first row (1-based; 0 for an empty table)."""
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def end(self) -> int:
        return min(self.number * self.per_page, self.total)


def sort_choice(value: str | None, columns: Sequence[SortColumn]) -> tuple[str, bool]:
    """The column key and direction that ``value`` (``key`` or ``-key``) asks for; ("", False),
    the table's own order, when the key is not one of ``columns``."""
    value = (value or "").strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in {column.key for column in columns}:
        return "", False
    return key, descending


def page_number(value: str | None, pages: int) -> int:
    """The page ``value`` asks for, kept within 1..``pages``; 1 for anything but a number."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), pages)


def rows_sorted(rows: list[dict], key: str, *, descending: bool, kind: str) -> list[dict]:
    """``rows`` ordered by ``key``; rows without a value come last in either direction, ties keep
    the table's own order."""
    present = [row for row in rows if row[key] is not None]
    missing = [row for row in rows if row[key] is None]
    if kind == TEXT:
        present.sort(key=lambda row: str(row[key]).casefold(), reverse=descending)
    else:
        present.sort(key=lambda row: row[key], reverse=descending)
    return present + missing


def table_page(
    rows: list[dict],
    *,
    name: str,
    columns: Sequence[SortColumn],
    params: Mapping[str, str],
    fixed: Mapping[str, Any] | None = None,
    kept: Iterable[str] = (),
    per_page: int = PAGE_SIZE,
) -> TablePage:
    """The page of the table ``name`` that the query ``params`` ask for: ``<name>_sort`` (a key of
    ``columns``, ``-`` first for descending) and ``<name>_page``.

    Every link starts with ``fixed`` (parameters the caller has already validated, such as the
    period of the page), then keeps those of ``params`` named in ``kept`` (the other tables'
    order and page) and the table's own order. A header link orders by its column: figures start
    from the highest, names from A, and a second click on the current column turns it round."""
    sort_param, page_param = f"{name}_sort", f"{name}_page"
    sort, descending = sort_choice(params.get(sort_param), columns)
    if sort:
        kind = next(column.kind for column in columns if column.key == sort)
        rows = rows_sorted(rows, sort, descending=descending, kind=kind)
    pages = max(1, -(-len(rows) // per_page))
    number = page_number(params.get(page_param), pages)
    others = set(kept) - {sort_param, page_param}
    base = {**(fixed or {}), **{key: value for key, value in params.items() if key in others}}
    if sort:
        base[sort_param] = f"-{sort}" if descending else sort

    def url(**changes: Any) -> str:
        return "?" + urlencode({**base, **changes})

    def page_url(target: int) -> str | None:
        if target == number or not 1 <= target <= pages:
            return None
        return url(**{page_param: target}) if target > 1 else url()

    headers = []
    for column in columns:
        if column.key == sort:
            flip = not descending
            state = "descending" if descending else "ascending"
        else:
            flip, state = column.kind == NUM, ""
        headers.append(
            {
                "key": column.key,
                "label": column.label,
                "num": column.kind == NUM,
                "state": state,
                "url": url(**{sort_param: f"-{column.key}" if flip else column.key}),
            }
        )
    return TablePage(
        name=name,
        rows=rows[(number - 1) * per_page : number * per_page],
        total=len(rows),
        number=number,
        pages=pages,
        sort=sort,
        descending=descending,
        headers=headers,
        first_url=page_url(1) if number > 2 else None,
        previous_url=page_url(number - 1),
        next_url=page_url(number + 1),
        last_url=page_url(pages) if number < pages - 1 else None,
        per_page=per_page,
    )
