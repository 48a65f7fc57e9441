"""PostgreSQL triggers that make audit history tables append-only (RELIABILITY R25).

A trigger refuses every UPDATE and DELETE of a history row, so the application's own database
connection cannot rewrite or erase the trail; history rows are only ever inserted (by
django-simple-history, ``core.audit`` and the demo seed). Each app's migration names its tables;
nothing happens on SQLite. Migrations import this module, so its behaviour must stay stable.
"""

from django.db import migrations


def append_only_history(function: str, tables: list[str]) -> migrations.RunPython:
    """A migration operation that installs (and, backwards, removes) the triggers."""

    def add_triggers(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit history is append-only: %% on %% refused', "
            "TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        for table in tables:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )

    def drop_triggers(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")

    return migrations.RunPython(add_triggers, drop_triggers)
