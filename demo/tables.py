"""Bulk writing for the demo company: rows built in memory go to the database in large batches.

PostgreSQL gets ``COPY … FROM STDIN`` (millions of interactions in seconds); other databases one
prepared ``INSERT`` per batch run with ``executemany``. Values are converted per column the way
Django stores them, and creation times are the ones the caller chose, never "now". History rows of
django-simple-history are written the same way, with the date, user and reason of each change.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Callable

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

CHUNK = 20000


def next_ids(model_classes) -> dict[type[models.Model], int]:
    """The first free id of each model, for rows written with ids assigned in memory."""
    return {
        model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in model_classes
    }


def reset_sequences(model_classes) -> None:
    """PostgreSQL: rows were written with explicit ids, so move the id sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def tables_analyze(model_classes) -> None:
    """PostgreSQL: gather planner statistics of freshly bulk-loaded tables, inside the loading
    transaction (ANALYZE counts the rows it inserted). Without them the planner takes the tables
    for empty and picks plans that scan millions of interactions once per client."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in model_classes:
            # The table names are our own models', quoted; ANALYZE takes no parameters.
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class BulkTable:
    """Rows of one table, written in large batches: ``COPY`` on PostgreSQL, one prepared
    ``INSERT`` run with ``executemany`` elsewhere. Values are converted per column the way Django
    stores them; creation times are the simulated ones, never "now"."""

    def __init__(self, model: type[models.Model], columns: list[str], *, tuples: bool, copy: bool):
        self.model = model
        self.columns = columns
        self.tuples = tuples
        self.copy = copy
        fields = {f.attname: f for f in model._meta.concrete_fields}
        self.converters = [_converter(fields[c], copy=copy) for c in columns]
        self.rows: list = []
        self.count = 0

    def add(self, row) -> None:
        self.rows.append(row if self.tuples else tuple(row[c] for c in self.columns))
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        null = "\\N" if self.copy else None
        pairs = self.converters
        rows = [
            [
                null if v is None else (v if c is None else c(v))
                for c, v in zip(pairs, row, strict=True)
            ]
            for row in self.rows
        ]
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(quote(c) for c in self.columns)
        with connection.cursor() as cursor:
            if self.copy:
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerows(rows)
                buffer.seek(0)
                cursor.cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
                )
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                # Names come from the models' metadata; values are always parameters.
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608  # nosec
        self.count += len(self.rows)
        self.rows = []


def _converter(model_field: models.Field, *, copy: bool) -> Callable | None:
    """How a non-null Python value of ``model_field`` goes to the database (None: as it is)."""
    if isinstance(model_field, models.DateTimeField):
        if copy:
            return datetime.datetime.isoformat
        # Django keeps aware datetimes in UTC on SQLite, as "YYYY-MM-DD HH:MM:SS".
        return lambda value: str(value.astimezone(datetime.UTC).replace(tzinfo=None))
    if isinstance(model_field, models.DateField):
        return datetime.date.isoformat
    if isinstance(model_field, models.BooleanField):
        return (lambda value: "t" if value else "f") if copy else None
    if isinstance(model_field, models.JSONField):
        return lambda value: json.dumps(value, ensure_ascii=False)
    if isinstance(model_field, models.DecimalField):
        return str if copy else (lambda value: model_field.get_db_prep_save(value, connection))
    return None


class HistoryTable(BulkTable):
    """Historical rows of one audited model: the tracked fields plus who, when, why."""

    def record(
        self, row: dict, kind: str, when: datetime.datetime, user: int | None, reason: str
    ) -> None:
        """One change (``kind`` "+" or "~") leaving the tracked fields as in ``row``."""
        self.rows.append((*(row[c] for c in self.columns[:-4]), when, kind, user, reason))
        if len(self.rows) >= CHUNK:
            self.flush()


class BulkTables:
    """One writer per table, flushed together so foreign keys find their rows."""

    def __init__(self):
        self.copy = _can_copy()
        self.tables: dict[type[models.Model], BulkTable] = {}

    def table(
        self, model: type[models.Model], *, tuples: bool = False, with_ids: bool = True
    ) -> BulkTable:
        """The table of ``model``; rows are dicts by attname, or tuples in column order. Without
        ``with_ids`` the database numbers the rows."""
        if model not in self.tables:
            columns = [
                f.attname for f in model._meta.concrete_fields if with_ids or not f.primary_key
            ]
            self.tables[model] = BulkTable(model, columns, tuples=tuples, copy=self.copy)
        return self.tables[model]

    def history(self, model: type[models.Model]) -> HistoryTable:
        historical = model.history.model
        if historical not in self.tables:
            columns = [f.attname for f in historical.tracked_fields]
            columns += ["history_date", "history_type", "history_user_id", "history_change_reason"]
            self.tables[historical] = HistoryTable(historical, columns, tuples=True, copy=self.copy)
        return self.tables[historical]  # type: ignore[return-value]

    def flush(self) -> None:
        for table in self.tables.values():
            table.flush()

    @property
    def counts(self) -> dict[str, int]:
        return {model._meta.label: table.count for model, table in self.tables.items()}


def _can_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")
