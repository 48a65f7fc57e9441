"""SPEC §14: the lead becomes a pipeline. Existing leads keep everything they had: their owner is
the person who recorded them, "in progress" becomes "contacted", a won or lost lead is closed on
the day it was recorded (the day it was won is not known), a lost lead without a reason says so,
and each lead's history starts with its creation and its present stage."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

LOST_REASON_UNKNOWN = "not recorded before the pipeline"


def leads_into_the_pipeline(apps, schema_editor):
    Referral = apps.get_model("clients", "Referral")
    Change = apps.get_model("clients", "ReferralStageChange")
    Referral.objects.filter(status="in_progress").update(status="contacted")
    changes = []
    for lead in Referral.objects.select_related("client").iterator():
        lead.owner_id = lead.recorded_by_id
        if lead.status in ("won", "lost"):
            recorded = timezone.localtime(lead.created_at).date()
            won = getattr(lead.client, "created_at", None) if lead.status == "won" else None
            lead.closed_on = max(timezone.localtime(won).date(), recorded) if won else recorded
        if lead.status == "lost" and not lead.lost_reason:
            lead.lost_reason = LOST_REASON_UNKNOWN
        lead.save(update_fields=["owner", "closed_on", "lost_reason", "status"])
        changes.append(
            Change(
                referral=lead,
                from_status="",
                to_status="new",
                changed_by_id=lead.recorded_by_id,
                changed_at=lead.created_at,
            )
        )
        if lead.status != "new":
            changes.append(
                Change(
                    referral=lead,
                    from_status="new",
                    to_status=lead.status,
                    changed_by_id=lead.recorded_by_id,
                    changed_at=lead.created_at,
                )
            )
    Change.objects.bulk_create(changes, batch_size=1000)


def leads_out_of_the_pipeline(apps, schema_editor):
    Referral = apps.get_model("clients", "Referral")
    Referral.objects.filter(status__in=["contacted", "meeting"]).update(status="in_progress")


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0009_task_kind_welcome_call"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReferralStageChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "from_status",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("new", "New"),
                            ("contacted", "Contacted"),
                            ("meeting", "Meeting"),
                            ("won", "Won"),
                            ("lost", "Lost"),
                        ],
                        max_length=20,
                        verbose_name="from",
                    ),
                ),
                (
                    "to_status",
                    models.CharField(
                        choices=[
                            ("new", "New"),
                            ("contacted", "Contacted"),
                            ("meeting", "Meeting"),
                            ("won", "Won"),
                            ("lost", "Lost"),
                        ],
                        max_length=20,
                        verbose_name="to",
                    ),
                ),
                (
                    "changed_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="changed"),
                ),
                ("note", models.CharField(blank=True, max_length=300, verbose_name="note")),
            ],
            options={
                "verbose_name": "referral stage change",
                "verbose_name_plural": "referral stage changes",
                "ordering": ["changed_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="referralstagechange",
            name="changed_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="changed by",
            ),
        ),
        migrations.AddField(
            model_name="referralstagechange",
            name="referral",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stages",
                to="clients.referral",
                verbose_name="referral",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="task",
            name="task_kind_valid",
        ),
        migrations.AddField(
            model_name="interaction",
            name="referral_ask_eligible",
            field=models.BooleanField(default=False, verbose_name="referral could be asked"),
        ),
        migrations.AddField(
            model_name="interaction",
            name="referral_asked",
            field=models.CharField(
                blank=True,
                choices=[
                    ("yes", "Yes, asked"),
                    ("no", "No, not asked"),
                    ("declined", "Asked, the client declined"),
                ],
                max_length=10,
                verbose_name="asked for a referral",
            ),
        ),
        migrations.AddField(
            model_name="referral",
            name="closed_on",
            field=models.DateField(blank=True, null=True, verbose_name="closed"),
        ),
        migrations.AddField(
            model_name="referral",
            name="lost_reason",
            field=models.CharField(blank=True, max_length=300, verbose_name="why lost"),
        ),
        migrations.AddField(
            model_name="referral",
            name="next_step_on",
            field=models.DateField(blank=True, null=True, verbose_name="next step"),
        ),
        migrations.AddField(
            model_name="referral",
            name="owner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owned_referrals",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="referral",
            name="status",
            field=models.CharField(
                choices=[
                    ("new", "New"),
                    ("contacted", "Contacted"),
                    ("meeting", "Meeting"),
                    ("won", "Won"),
                    ("lost", "Lost"),
                ],
                default="new",
                max_length=20,
                verbose_name="stage",
            ),
        ),
        migrations.RunPython(leads_into_the_pipeline, leads_out_of_the_pipeline),
        migrations.AlterField(
            model_name="referral",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owned_referrals",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="kind",
            field=models.CharField(
                choices=[
                    ("follow_up", "Follow-up call"),
                    ("free_month_ending", "Free month ending"),
                    ("request_overdue", "Overdue request"),
                    ("at_risk", "Client at risk"),
                    ("refusal_approval", "Refusal to approve"),
                    ("manual", "Task"),
                    ("welcome_call", "Welcome call"),
                    ("thank_referrer", "Thank the referrer"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("referral_ask_eligible", True)),
                fields=["occurred_at", "staff"],
                name="interaction_ask_eligible",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                fields=["owner", "status", "next_step_on"], name="referral_owner_stage"
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["inn", "status"], name="referral_inn_status"),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["status", "closed_on"], name="referral_closed"),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.CheckConstraint(
                condition=models.Q(("referral_asked__in", ["", "yes", "no", "declined"])),
                name="interaction_referral_asked_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="referral",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["new", "contacted", "meeting", "won", "lost"])),
                name="referral_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="referral",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "lost"), _negated=True),
                    models.Q(("lost_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="referral_lost_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="referral",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("closed_on__isnull", False), ("status__in", ("won", "lost"))),
                    models.Q(
                        models.Q(("status__in", ("won", "lost")), _negated=True),
                        ("closed_on__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="referral_closed_iff_won_or_lost",
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "follow_up",
                            "free_month_ending",
                            "request_overdue",
                            "at_risk",
                            "refusal_approval",
                            "manual",
                            "welcome_call",
                            "thank_referrer",
                        ],
                    )
                ),
                name="task_kind_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="referralstagechange",
            index=models.Index(fields=["referral", "changed_at"], name="referral_stage_time"),
        ),
    ]
