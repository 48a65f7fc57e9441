"""The job-run claims moved into the kernel (``core.models.JobRun``). The table stays where it is,
with its rows: only Django's idea of which app owns the model changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("kpi", "0003_job_run"),
        ("crm", "0003_job_run_in_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="JobRun")],
            database_operations=[],
        ),
    ]
