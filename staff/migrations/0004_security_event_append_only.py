"""PostgreSQL: security events are append-only, like the audit history (see core.append_only)."""

from django.db import migrations

from core.append_only import append_only_history


class Migration(migrations.Migration):
    dependencies = [("staff", "0003_security_event")]

    operations = [
        append_only_history("staff_security_event_append_only", ["staff_securityevent"]),
    ]
