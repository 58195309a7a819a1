"""Lead, Campaign and LeadImport move here from calls; their tables keep the calls_ names."""

import django.db.models.deletion
from django.db import migrations, models

import voiceops.validators


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("agents", "0003_calendar_appointment"),
        ("calls", "0004_dialer"),
        ("experiments", "0001_initial"),
    ]

    operations = [
        # State only: the tables stay where they are, under their old names.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Campaign",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=120, unique=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("draft", "Draft"),
                                    ("running", "Running"),
                                    ("paused", "Paused"),
                                    ("stopped", "Stopped"),
                                    ("completed", "Completed"),
                                ],
                                default="draft",
                                max_length=16,
                            ),
                        ),
                        (
                            "status_reason",
                            models.CharField(blank=True, help_text="Why it was paused or stopped.", max_length=300),
                        ),
                        (
                            "caller_id",
                            models.CharField(
                                default="+15005550006", max_length=16, validators=[voiceops.validators.validate_e164]
                            ),
                        ),
                        ("window_start", models.TimeField(default="09:00")),
                        ("window_end", models.TimeField(default="19:00")),
                        ("days", models.JSONField(default=list)),
                        ("start_date", models.DateField(blank=True, null=True)),
                        ("end_date", models.DateField(blank=True, null=True)),
                        ("max_concurrent", models.PositiveIntegerField(default=2)),
                        ("calls_per_minute", models.PositiveIntegerField(default=10)),
                        ("retry_rules", models.JSONField(blank=True, default=dict)),
                        ("require_consent", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "agent_version",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="campaigns",
                                to="agents.agentversion",
                            ),
                        ),
                        (
                            "experiment",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="campaigns",
                                to="experiments.experiment",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "calls_campaign",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="Lead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "phone",
                            models.CharField(
                                max_length=16, unique=True, validators=[voiceops.validators.validate_e164]
                            ),
                        ),
                        ("first_name", models.CharField(blank=True, max_length=80)),
                        ("last_name", models.CharField(blank=True, max_length=80)),
                        (
                            "timezone",
                            models.CharField(max_length=64, validators=[voiceops.validators.validate_timezone]),
                        ),
                        ("custom_fields", models.JSONField(blank=True, default=dict)),
                        ("consent", models.BooleanField(default=False, help_text="The lead agreed to be called.")),
                        ("consent_at", models.DateTimeField(blank=True, null=True)),
                        ("do_not_call", models.BooleanField(default=False)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("new", "New"),
                                    ("dialing", "Dialing"),
                                    ("retry", "Retry scheduled"),
                                    ("callback", "Callback requested"),
                                    ("completed", "Completed"),
                                    ("exhausted", "Attempts exhausted"),
                                    ("dnc", "Do not call"),
                                ],
                                default="new",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_outcome", models.CharField(blank=True, max_length=32)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="leads",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "calls_lead",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="LeadImport",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("filename", models.CharField(max_length=255)),
                        ("content", models.TextField(help_text="The uploaded CSV, kept until the import has run.")),
                        ("default_region", models.CharField(default="US", max_length=2)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("total_rows", models.PositiveIntegerField(default=0)),
                        ("processed_rows", models.PositiveIntegerField(default=0)),
                        ("created_count", models.PositiveIntegerField(default=0)),
                        ("merged_count", models.PositiveIntegerField(default=0)),
                        ("error_count", models.PositiveIntegerField(default=0)),
                        ("errors", models.JSONField(blank=True, default=list)),
                        ("failure_reason", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="lead_imports",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "calls_leadimport",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("agent_version__isnull", False), ("experiment__isnull", True)),
                            models.Q(("agent_version__isnull", True), ("experiment__isnull", False)),
                            _connector="OR",
                        ),
                        name="campaign_runs_version_or_experiment",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("max_concurrent__gte", 1)), name="campaign_max_concurrent_positive"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("calls_per_minute__gte", 1)), name="campaign_pacing_positive"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("start_date__isnull", True),
                            ("end_date__isnull", True),
                            ("end_date__gte", models.F("start_date")),
                            _connector="OR",
                        ),
                        name="campaign_dates_ordered",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("window_end__gt", models.F("window_start"))), name="campaign_window_ordered"
                    ),
                ),
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(fields=["campaign", "status", "next_attempt_at"], name="lead_dialer_idx"),
                ),
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(fields=["timezone"], name="lead_timezone_idx"),
                ),
                migrations.AddIndex(
                    model_name="lead",
                    index=models.Index(
                        models.F("campaign"),
                        models.OrderBy(models.F("next_attempt_at"), nulls_first=True),
                        models.F("id"),
                        condition=models.Q(("do_not_call", False), ("status__in", ["new", "retry", "callback"])),
                        name="lead_dialable_idx",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="lead",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("phone__startswith", "+")), name="lead_phone_e164"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="lead",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("timezone", ""), _negated=True), name="lead_timezone_present"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="lead",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("do_not_call", True), ("status", "dnc")),
                            models.Q(("do_not_call", False), models.Q(("status", "dnc"), _negated=True)),
                            _connector="OR",
                        ),
                        name="lead_dnc_consistent",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
