"""PostgreSQL: a recovery code row is only inserted and then stamped once, as used or as
replaced; every other update and every deletion is refused (RELIABILITY R13)."""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION staff_recovery_code_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.used_at IS NULL AND OLD.revoked_at IS NULL
       AND NEW.id = OLD.id AND NEW.user_id = OLD.user_id
       AND NEW.code_hash = OLD.code_hash AND NEW.created_at = OLD.created_at
       AND (NEW.used_at IS NULL) <> (NEW.revoked_at IS NULL) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'recovery codes are only added and stamped once: %% on %% refused',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$
"""


def add_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD)
    schema_editor.execute(
        "CREATE TRIGGER staff_recoverycode_guard BEFORE UPDATE OR DELETE ON staff_recoverycode "
        "FOR EACH ROW EXECUTE FUNCTION staff_recovery_code_guard()"
    )


def drop_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS staff_recoverycode_guard ON staff_recoverycode")
    schema_editor.execute("DROP FUNCTION IF EXISTS staff_recovery_code_guard()")


class Migration(migrations.Migration):
    dependencies = [("staff", "0005_recovery_code")]

    operations = [migrations.RunPython(add_guard, drop_guard)]
