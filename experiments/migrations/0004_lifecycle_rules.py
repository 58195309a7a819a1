"""The lifecycle's rules, once 0003 has filled the existing rows: a unique hashing key, dates that
match the status, a winner only on a stopped experiment, at most one control per experiment."""

import django.db.models.deletion
from django.db import migrations, models

import experiments.models


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0003_lifecycle"),
    ]

    operations = [
        migrations.AlterField(
            model_name="experiment",
            name="key",
            field=models.SlugField(default=experiments.models.new_experiment_key, max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="assignment",
            name="variant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.RESTRICT, related_name="assignments", to="experiments.variant"
            ),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(fields=["experiment", "variant", "assigned_at"], name="assignment_results_idx"),
        ),
        migrations.AddConstraint(
            model_name="experiment",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["draft", "running", "stopped"])), name="experiment_status_known"
            ),
        ),
        migrations.AddConstraint(
            model_name="experiment",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "draft"), ("started_at__isnull", False), _connector="OR"),
                name="experiment_started_when_not_draft",
            ),
        ),
        migrations.AddConstraint(
            model_name="experiment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "stopped"), ("stopped_at__isnull", False)),
                    models.Q(models.Q(("status", "stopped"), _negated=True), ("stopped_at", None)),
                    _connector="OR",
                ),
                name="experiment_stopped_at_iff_stopped",
            ),
        ),
        migrations.AddConstraint(
            model_name="experiment",
            constraint=models.CheckConstraint(
                condition=models.Q(("winner__isnull", True), ("status", "stopped"), _connector="OR"),
                name="experiment_winner_only_when_stopped",
            ),
        ),
        migrations.AddConstraint(
            model_name="variant",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_control", True)),
                fields=("experiment",),
                name="variant_one_control_per_experiment",
            ),
        ),
    ]
