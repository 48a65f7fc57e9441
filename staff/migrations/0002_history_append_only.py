"""PostgreSQL: the audit history of this app is append-only (see core.append_only)."""

from django.db import migrations

from core.append_only import append_only_history


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]

    operations = [
        append_only_history(
            "staff_history_append_only",
            ["staff_historicaluser"],
        )
    ]
