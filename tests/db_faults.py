"""Real faults of the database, for the tests that prove a service or a job all-or-nothing: the
database itself refuses a write, or a table a read needs is gone. The code under test meets a
genuine database error at that statement, on SQLite and on PostgreSQL alike, and nothing of ours
is patched."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection
from django.db.models import Model

FAULT = "injected fault"


@contextmanager
def refused_update(model: type[Model], field: str):
    """While open, every UPDATE that changes ``field`` of ``model``'s rows fails in the database (a
    BEFORE UPDATE trigger), whichever code issues it: ``save()``, ``QuerySet.update()`` or SQL."""
    table = model._meta.db_table
    column = model._meta.get_field(field).column
    name = f"test_fault_{table}_{column}"
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION '{FAULT}: % of {table}.{column}', TG_OP; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON {table} FOR EACH ROW "
                f"WHEN (OLD.{column} IS DISTINCT FROM NEW.{column}) EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON {table} FOR EACH ROW "
                f"WHEN OLD.{column} IS NOT NEW.{column} "
                f"BEGIN SELECT RAISE(ABORT, '{FAULT}: UPDATE of {table}.{column}'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if postgres:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


@contextmanager
def unreadable_table(model: type[Model]):
    """While open, ``model``'s table is missing (renamed aside), so every query that reads it
    fails in the database. Run it outside a transaction (``transaction=True`` tests), as a worker
    does: on PostgreSQL a failed statement spoils the rest of a transaction."""
    table = model._meta.db_table
    aside = f"{table}__fault"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {aside}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {aside} RENAME TO {table}")
