"""The job-run claims, created by the KPI app, now belong to the kernel: the table ``kpi_jobrun``
and its rows stay as they are (state only)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0002_field_history_triggers'),
        ('kpi', '0003_job_run'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='JobRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('job', models.CharField(max_length=64, verbose_name='job')),
                ('period', models.CharField(help_text="The period the run covers, e.g. the night's date.", max_length=32, verbose_name='period')),
                ('task_id', models.CharField(blank=True, max_length=64, verbose_name='task id')),
                ('started_at', models.DateTimeField(verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('outcome', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='running', max_length=8, verbose_name='outcome')),
                ('result', models.JSONField(blank=True, default=dict, verbose_name='summary')),
            ],
            options={
                'verbose_name': 'job run',
                'verbose_name_plural': 'job runs',
                'db_table': 'kpi_jobrun',
                'ordering': ['-started_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('job', 'period'), name='job_run_once_per_period'), models.CheckConstraint(condition=models.Q(('outcome__in', ['running', 'done', 'failed'])), name='job_run_outcome_valid')],
            },
        ),
            ],
        ),
    ]
