"""PostgreSQL: the audit history of this app is append-only (see core.append_only)."""

from django.db import migrations

from core.append_only import append_only_history


class Migration(migrations.Migration):
    dependencies = [("clients", "0003_contract_paid_no_overlap")]

    operations = [
        append_only_history(
            "clients_history_append_only",
            [
                "clients_historicalclient",
                "clients_historicalcontract",
                "clients_historicalclientassignment",
                "clients_historicalclientrequest",
            ],
        )
    ]
