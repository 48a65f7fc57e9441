"""PostgreSQL: paid contracts of one client never overlap (SPEC §2).

An exclusion constraint cannot be expressed on SQLite, and keeping it out of the model state lets
the same models validate on both databases; the services check overlaps everywhere, and this
constraint is the last line of defence on PostgreSQL.
"""

from django.db import migrations

CONSTRAINT = "contract_paid_no_overlap"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE clients_contract ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(client_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&) "
        "WHERE (kind = 'paid')"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE clients_contract DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("clients", "0002_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
