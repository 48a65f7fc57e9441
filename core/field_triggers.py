"""PostgreSQL row triggers that write ``crm.FieldChange`` (RELIABILITY R24).

One PL/pgSQL function serves every tracked table: the trigger passes the tracked column names as
arguments, the function compares ``OLD`` and ``NEW`` column by column (``IS DISTINCT FROM`` on the
columns' text form) and inserts one ``crm_fieldchange`` row per changed column; on INSERT, one
per column that is not empty. A ``WHEN`` clause
skips the function entirely when no tracked column changed, so an ordinary save of another field
costs nothing. Being row triggers, they see ``QuerySet.update()``, ``bulk_update`` and raw SQL just
like ``save()``.

The actor and the entry point come from two settings of the database session, ``crm.actor_id``
and ``crm.source``, which ``core.field_history`` sets; an unknown or missing source is recorded as
``sql``. Migrations import this module, so its behaviour must stay stable: a change of the tracked
columns is a new migration calling :func:`field_history_triggers` again.
"""

from __future__ import annotations

from django.db import migrations

FUNCTION = "crm_record_field_change"

_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION crm_record_field_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    column_name text;
    old_row jsonb := '{}'::jsonb;
    new_row jsonb := to_jsonb(NEW);
    actor_setting text := current_setting('crm.actor_id', true);
    source_setting text := current_setting('crm.source', true);
    actor bigint;
BEGIN
    IF actor_setting ~ '^[0-9]{1,18}$' THEN
        actor := actor_setting::bigint;
    END IF;
    IF source_setting IS NULL
       OR source_setting NOT IN ('web', 'api', 'admin', 'task', 'command', 'sql') THEN
        source_setting := 'sql';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
    END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        IF (old_row ->> column_name) IS DISTINCT FROM (new_row ->> column_name) THEN
            INSERT INTO crm_fieldchange
                (table_name, row_id, field, old_value, new_value, actor_id, source, changed_at)
            VALUES
                (TG_TABLE_NAME, (new_row ->> 'id')::bigint, column_name,
                 old_row ->> column_name, new_row ->> column_name, actor, source_setting,
                 clock_timestamp());
        END IF;
    END LOOP;
    RETURN NULL;
END $$
"""


def _trigger_name(table: str, operation: str) -> str:
    return f"{table}_field_history_{operation.lower()}"


def _create_triggers(table: str, columns: list[str], *, on_insert: bool) -> list[str]:
    arguments = ", ".join(f"'{column}'" for column in columns)
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    statements = [
        f"CREATE TRIGGER {_trigger_name(table, 'UPDATE')} AFTER UPDATE ON {table} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {FUNCTION}({arguments})"
    ]
    if on_insert:
        statements.append(
            f"CREATE TRIGGER {_trigger_name(table, 'INSERT')} AFTER INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({arguments})"
        )
    return statements


def field_history_triggers(
    tracked: dict[str, list[str]], *, on_insert: frozenset[str] = frozenset()
) -> migrations.RunPython:
    """A migration operation installing (and, backwards, removing) the triggers for ``tracked``
    (table name → column names); tables in ``on_insert`` also record the values of a new row."""

    def install(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(_FUNCTION_SQL)
        for table, columns in tracked.items():
            for statement in _create_triggers(table, columns, on_insert=table in on_insert):
                schema_editor.execute(statement)

    def remove(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tracked:
            for operation in ("UPDATE", "INSERT"):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {_trigger_name(table, operation)} ON {table}"
                )
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")

    return migrations.RunPython(install, remove)
