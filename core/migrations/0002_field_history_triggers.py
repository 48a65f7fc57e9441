"""Trigger-based field history on PostgreSQL (RELIABILITY R24) and its append-only guard (R25).

The tracked columns are fixed here, not imported, so that this migration always does the same;
``core.field_history.TRACKED_FIELDS`` repeats them for the application and a test keeps the two
equal. A new assignment is an owner change, so its values are recorded on INSERT too.
"""

from django.db import migrations

from core.append_only import append_only_history
from core.field_triggers import field_history_triggers

TRACKED = {
    "clients_client": ["manager_id", "status"],
    "clients_clientassignment": ["manager_id", "starts_on", "ends_on"],
    "clients_contract": ["kind", "starts_on", "ends_on", "monthly_fee", "termination_reason"],
    "retention_lostcase": ["return_manager_id", "claimed_at", "status"],
    "staff_user": ["role", "mentor_id", "is_active"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("clients", "0005_list_ordering_indexes"),
        ("retention", "0004_list_ordering_indexes"),
        ("staff", "0002_history_append_only"),
    ]

    operations = [
        field_history_triggers(TRACKED, on_insert=frozenset({"clients_clientassignment"})),
        append_only_history("crm_fieldchange_append_only", ["crm_fieldchange"]),
    ]
